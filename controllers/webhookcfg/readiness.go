package webhookcfg

import (
	"fmt"
	"net/http"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"

	"github.com/lbgate/lbgate/certs"
)

// ReadyCheckName is the name of the readiness check Setup adds (/readyz/<name>).
const ReadyCheckName = "webhook-certificate"

// ReadyCheck reports a replica ready only while it serves a certificate that
// the live configuration's caBundle trusts: before that, the apiserver would
// fail its calls.
func ReadyCheck(keeper *certs.Keeper, reader client.Reader, o Options) healthz.Checker {
	return func(req *http.Request) error {
		err := checkTrusted(req, keeper, reader, o)
		if err != nil {
			servedTrusted.Set(0)
			return err
		}
		servedTrusted.Set(1)
		return nil
	}
}

func checkTrusted(req *http.Request, keeper *certs.Keeper, reader client.Reader, o Options) error {
	if keeper.Current() == nil {
		return fmt.Errorf("no certificate served yet: waiting for a valid Secret %s/%s", o.Namespace, o.SecretName)
	}
	live := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := reader.Get(req.Context(), client.ObjectKey{Name: o.ConfigName}, live); err != nil {
		return fmt.Errorf("reading MutatingWebhookConfiguration %s: %w", o.ConfigName, err)
	}
	caBundle := liveCABundle(live)
	if err := keeper.TrustedBy(caBundle); err != nil {
		return fmt.Errorf("the caBundle of MutatingWebhookConfiguration %s does not trust the served certificate (%s): %w",
			o.ConfigName, describeServed(keeper), err)
	}
	return nil
}

// liveCABundle is the caBundle of lbgate's webhook in live, or nil.
func liveCABundle(live *admissionregistrationv1.MutatingWebhookConfiguration) []byte {
	if live == nil {
		return nil
	}
	for _, w := range live.Webhooks {
		if w.Name == WebhookName {
			return w.ClientConfig.CABundle
		}
	}
	return nil
}
