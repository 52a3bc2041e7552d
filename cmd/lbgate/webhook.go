package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/lbgate/lbgate/controllers/webhookcfg"
)

// serviceAccountNamespaceFile holds the pod's namespace in-cluster.
const serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// operatorPodLabels are the labels of the operator's pods (config/manager):
// the webhook never mutates them, and the leader probes them during a CA rotation.
var operatorPodLabels = map[string]string{
	"app.kubernetes.io/name":      "lbgate",
	"app.kubernetes.io/component": "controller-manager",
}

// webhookOptions are the flags of the pod webhook and its certificates.
type webhookOptions struct {
	enabled          bool
	port             int
	host             string
	url              string
	serviceName      string
	namespace        string
	configName       string
	secretName       string
	failurePolicy    string
	timeoutSeconds   int
	certSource       string
	certManagerCert  string
	certLifetime     time.Duration
	caLifetime       time.Duration
	resyncInterval   time.Duration
	caBundleSettle   time.Duration
	preStopMargin    time.Duration
	defaultNamespace string
}

func (w *webhookOptions) bind(fs *flag.FlagSet) {
	w.defaultNamespace = operatorNamespace()
	fs.BoolVar(&w.enabled, "webhook", true, "serve the pod webhook and keep its configuration and certificates repaired; false turns all of it off")
	fs.IntVar(&w.port, "webhook-port", 9443, "port of the webhook server")
	fs.StringVar(&w.host, "webhook-host", "", "bind address of the webhook server (empty: all addresses; 127.0.0.1 when run out of cluster)")
	fs.StringVar(&w.url, "webhook-url", "", "out of cluster: the https URL the apiserver calls, e.g. https://127.0.0.1:9443"+webhookcfg.Path+"; empty: the in-cluster Service")
	fs.StringVar(&w.serviceName, "webhook-service-name", "lbgate-webhook-service", "Service in front of the webhook (in-cluster)")
	fs.StringVar(&w.namespace, "webhook-namespace", w.defaultNamespace, "operator namespace: holds the certificate Secret and the webhook Service, and is never mutated")
	fs.StringVar(&w.configName, "webhook-config-name", "lbgate-pod-gates", "name of the MutatingWebhookConfiguration")
	fs.StringVar(&w.secretName, "webhook-secret-name", "lbgate-webhook-certs", "name of the Secret holding the webhook certificates")
	fs.StringVar(&w.failurePolicy, "webhook-failure-policy", string(admissionregistrationv1.Ignore), "what the apiserver does when the webhook cannot answer: Ignore (admit the pod without gates) or Fail (reject it)")
	fs.IntVar(&w.timeoutSeconds, "webhook-timeout", webhookcfg.DefaultTimeoutSeconds, "seconds the apiserver waits for the webhook (1-30)")
	fs.StringVar(&w.certSource, "cert-source", string(webhookcfg.CertSourceSelf), "who issues the webhook certificate: self (lbgate) or cert-manager (config/certmanager)")
	fs.StringVar(&w.certManagerCert, "cert-manager-certificate", "lbgate-serving-cert", "the cert-manager Certificate in the operator namespace (with --cert-source=cert-manager)")
	fs.DurationVar(&w.certLifetime, "cert-lifetime", 90*24*time.Hour, "validity of the serving certificate lbgate issues; renewed at two-thirds")
	fs.DurationVar(&w.caLifetime, "ca-lifetime", 2*365*24*time.Hour, "validity of the CA lbgate issues; rotated at two-thirds; longer than --cert-lifetime")
	fs.DurationVar(&w.resyncInterval, "webhook-resync-interval", webhookcfg.DefaultResyncInterval, "how often the webhook configuration and certificates are checked without any change")
	fs.DurationVar(&w.caBundleSettle, "webhook-cabundle-settle", webhookcfg.DefaultCABundleSettle, "how long a new caBundle must be live before a certificate from a new CA is served")
	fs.DurationVar(&w.preStopMargin, "prestop-margin", 5*time.Second, "time left between an added preStop sleep and the end of the pod's termination grace period")
}

// operatorNamespace is the namespace lbgate runs in: the service account's,
// else $POD_NAMESPACE, else lbgate-system.
func operatorNamespace() string {
	if b, err := os.ReadFile(serviceAccountNamespaceFile); err == nil {
		if ns := strings.TrimSpace(string(b)); ns != "" {
			return ns
		}
	}
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	return "lbgate-system"
}

// options validates the flags and turns them into webhookcfg options. Each
// error names the flag and its value.
func (w *webhookOptions) options() (webhookcfg.Options, error) {
	o := webhookcfg.Options{
		Namespace:              w.namespace,
		ServiceName:            w.serviceName,
		ConfigName:             w.configName,
		SecretName:             w.secretName,
		URL:                    w.url,
		Host:                   w.host,
		Port:                   w.port,
		FailurePolicy:          admissionregistrationv1.FailurePolicyType(w.failurePolicy),
		TimeoutSeconds:         int32(w.timeoutSeconds),
		CertSource:             webhookcfg.CertSource(w.certSource),
		CertManagerCertificate: w.certManagerCert,
		CALifetime:             w.caLifetime,
		LeafLifetime:           w.certLifetime,
		OperatorPodLabels:      operatorPodLabels,
		PreStopMargin:          w.preStopMargin,
		ResyncInterval:         w.resyncInterval,
		CABundleSettle:         w.caBundleSettle,
	}
	for _, c := range []struct {
		bad  bool
		flag string
		val  any
		want string
	}{
		{w.port < 1 || w.port > 65535, "--webhook-port", w.port, "must be a port from 1 to 65535"},
		{w.host != "" && net.ParseIP(w.host) == nil && w.host != "localhost", "--webhook-host", w.host, "must be an IP address (or localhost), or empty for all addresses"},
		{w.url != "" && !strings.HasPrefix(w.url, "https://"), "--webhook-url", w.url, "must be an https:// URL, or empty for the in-cluster Service"},
		{w.url == "" && !isDNSLabel(w.serviceName), "--webhook-service-name", w.serviceName, "must be a Service name (lowercase letters, digits and '-')"},
		{!isDNSLabel(w.namespace), "--webhook-namespace", w.namespace, "must be a namespace name (lowercase letters, digits and '-')"},
		{!isDNSSubdomain(w.configName), "--webhook-config-name", w.configName, "must be a lowercase DNS name"},
		{!isDNSSubdomain(w.secretName), "--webhook-secret-name", w.secretName, "must be a lowercase DNS name"},
		{o.FailurePolicy != admissionregistrationv1.Ignore && o.FailurePolicy != admissionregistrationv1.Fail, "--webhook-failure-policy", w.failurePolicy, "must be Ignore or Fail"},
		{w.timeoutSeconds < 1 || w.timeoutSeconds > 30, "--webhook-timeout", w.timeoutSeconds, "must be from 1 to 30 seconds"},
		{o.CertSource != webhookcfg.CertSourceSelf && o.CertSource != webhookcfg.CertSourceCertManager, "--cert-source", w.certSource, "must be self or cert-manager"},
		{o.CertSource == webhookcfg.CertSourceCertManager && !isDNSSubdomain(w.certManagerCert), "--cert-manager-certificate", w.certManagerCert, "must name the cert-manager Certificate"},
		{w.certLifetime < time.Second, "--cert-lifetime", w.certLifetime, "must be at least 1s"},
		{w.caLifetime <= w.certLifetime, "--ca-lifetime", w.caLifetime, fmt.Sprintf("must be longer than --cert-lifetime=%s", w.certLifetime)},
		{w.resyncInterval < time.Second, "--webhook-resync-interval", w.resyncInterval, "must be at least 1s"},
		{w.caBundleSettle < 0, "--webhook-cabundle-settle", w.caBundleSettle, "must not be negative"},
		{w.preStopMargin < 0, "--prestop-margin", w.preStopMargin, "must not be negative"},
	} {
		if c.bad {
			return o, fmt.Errorf("%s=%v: %s", c.flag, c.val, c.want)
		}
	}
	if err := o.Validate(); err != nil {
		return o, fmt.Errorf("webhook flags: %w", err)
	}
	return o, nil
}

// isDNSLabel reports whether s is an RFC 1123 label (Service and namespace names).
func isDNSLabel(s string) bool { return len(validation.IsDNS1123Label(s)) == 0 }

// isDNSSubdomain reports whether s is an RFC 1123 subdomain (most object names).
func isDNSSubdomain(s string) bool { return len(validation.IsDNS1123Subdomain(s)) == 0 }

// setupWebhook registers the pod webhook, its certificates and their self-repair with the manager.
func setupWebhook(ctx context.Context, mgr ctrl.Manager, w webhookOptions) error {
	if !w.enabled {
		mgr.GetLogger().Info("pod webhook disabled (--webhook=false): new pods get no readiness gates")
		return nil
	}
	o, err := w.options()
	if err != nil {
		return err
	}
	return webhookcfg.Setup(ctx, mgr, o)
}
