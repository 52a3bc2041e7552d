package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
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
	servicePort      int
	namespace        string
	configName       string
	secretName       string
	failurePolicy    string
	timeoutSeconds   int
	namespaces       string
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
	checked(fs, &w.port, "webhook-port", 9443, "port of the webhook server", checkPort)
	checked(fs, &w.host, "webhook-host", "", "bind address of the webhook server (empty: all addresses; 127.0.0.1 when run out of cluster)", checkHost)
	checked(fs, &w.url, "webhook-url", "", "out of cluster: the https URL the apiserver calls, e.g. https://127.0.0.1:9443"+webhookcfg.Path+"; empty: the in-cluster Service", checkURL)
	checked(fs, &w.serviceName, "webhook-service-name", "lbgate-webhook-service", "Service in front of the webhook (in-cluster)", checkDNSLabel)
	checked(fs, &w.servicePort, "webhook-service-port", webhookcfg.DefaultServicePort, "port of that Service the apiserver calls (in-cluster)", checkPort)
	checked(fs, &w.namespace, "webhook-namespace", w.defaultNamespace, "operator namespace: holds the certificate Secret and the webhook Service, and is never mutated", checkDNSLabel)
	checked(fs, &w.configName, "webhook-config-name", "lbgate-pod-gates", "name of the MutatingWebhookConfiguration", checkDNSSubdomain)
	checked(fs, &w.secretName, "webhook-secret-name", "lbgate-webhook-certs", "name of the Secret holding the webhook certificates", checkDNSSubdomain)
	checked(fs, &w.failurePolicy, "webhook-failure-policy", string(admissionregistrationv1.Ignore), "what the apiserver does when the webhook cannot answer: Ignore (admit the pod without gates) or Fail (reject it)", checkFailurePolicy)
	checked(fs, &w.namespaces, "webhook-namespace-selector", string(webhookcfg.NamespacesAll), "namespaces whose pods the webhook sees: all (every one but kube-system and the operator's) or labelled (only those labelled "+webhookcfg.NamespaceLabel+"="+webhookcfg.NamespaceLabelEnabled+", so a stopped webhook with --webhook-failure-policy=Fail blocks pod creation there only)", checkNamespaceSelection)
	checked(fs, &w.timeoutSeconds, "webhook-timeout", webhookcfg.DefaultTimeoutSeconds, "seconds the apiserver waits for the webhook (1-30)", checkTimeout)
	checked(fs, &w.certSource, "cert-source", string(webhookcfg.CertSourceSelf), "who issues the webhook certificate: self (lbgate) or cert-manager (config/certmanager)", checkCertSource)
	checked(fs, &w.certManagerCert, "cert-manager-certificate", "lbgate-serving-cert", "the cert-manager Certificate in the operator namespace (with --cert-source=cert-manager)", checkDNSSubdomain)
	checked(fs, &w.certLifetime, "cert-lifetime", 90*24*time.Hour, "validity of the serving certificate lbgate issues; renewed at two-thirds", atLeast(time.Second))
	checked(fs, &w.caLifetime, "ca-lifetime", 2*365*24*time.Hour, "validity of the CA lbgate issues; rotated at two-thirds; longer than --cert-lifetime", atLeast(2*time.Second))
	checked(fs, &w.resyncInterval, "webhook-resync-interval", webhookcfg.DefaultResyncInterval, "how often the webhook configuration and certificates are checked without any change", atLeast(time.Second))
	checked(fs, &w.caBundleSettle, "webhook-cabundle-settle", webhookcfg.DefaultCABundleSettle, "how long a new caBundle must be live before a certificate from a new CA is served (at least 100ms: the apiservers need that long to load it)", atLeast(100*time.Millisecond))
	checked(fs, &w.preStopMargin, "prestop-margin", 5*time.Second, "time left between an added preStop sleep and the end of the pod's termination grace period (whole seconds, at least 1s)", atLeast(time.Second))
}

// checkedFlag is a flag whose value is checked when it is parsed, so a bad
// value stops the binary at once with "invalid value V for flag -NAME: why".
type checkedFlag[T any] struct {
	p     *T
	parse func(string) (T, error)
	check func(T) error
}

func (f *checkedFlag[T]) String() string {
	if f == nil || f.p == nil {
		return ""
	}
	return fmt.Sprint(*f.p)
}

func (f *checkedFlag[T]) Set(s string) error {
	v, err := f.parse(s)
	if err != nil {
		return err
	}
	if err := f.check(v); err != nil {
		return err
	}
	*f.p = v
	return nil
}

// checked defines a string, int or duration flag with a check of its value.
func checked[T string | int | time.Duration](fs *flag.FlagSet, p *T, name string, def T, usage string, check func(T) error) {
	*p = def
	fs.Var(&checkedFlag[T]{p: p, parse: parserOf[T](), check: check}, name, usage)
}

// parserOf parses a flag value of type T.
func parserOf[T string | int | time.Duration]() func(string) (T, error) {
	return func(s string) (T, error) {
		var v any
		var err error
		var zero T
		switch any(zero).(type) {
		case string:
			v = s
		case int:
			v, err = strconv.Atoi(s)
		case time.Duration:
			v, err = time.ParseDuration(s)
		}
		if err != nil {
			return zero, errors.New("not a number or duration")
		}
		return v.(T), nil
	}
}

func checkPort(p int) error {
	if p < 1 || p > 65535 {
		return errors.New("must be a port from 1 to 65535")
	}
	return nil
}

func checkHost(h string) error {
	if h != "" && h != "localhost" && net.ParseIP(h) == nil {
		return errors.New("must be an IP address (or localhost), or empty for all addresses")
	}
	return nil
}

func checkURL(u string) error {
	if u == "" {
		return nil
	}
	return webhookcfg.CheckURL(u)
}

func checkDNSLabel(s string) error {
	if errs := validation.IsDNS1123Label(s); len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func checkDNSSubdomain(s string) error {
	if errs := validation.IsDNS1123Subdomain(s); len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func checkFailurePolicy(s string) error {
	if s != string(admissionregistrationv1.Ignore) && s != string(admissionregistrationv1.Fail) {
		return errors.New("must be Ignore or Fail")
	}
	return nil
}

func checkNamespaceSelection(s string) error {
	if s != string(webhookcfg.NamespacesAll) && s != string(webhookcfg.NamespacesLabelled) {
		return errors.New("must be all or labelled")
	}
	return nil
}

func checkTimeout(n int) error {
	if n < 1 || n > 30 {
		return errors.New("must be from 1 to 30 seconds")
	}
	return nil
}

func checkCertSource(s string) error {
	if s != string(webhookcfg.CertSourceSelf) && s != string(webhookcfg.CertSourceCertManager) {
		return errors.New("must be self or cert-manager")
	}
	return nil
}

func atLeast(floor time.Duration) func(time.Duration) error {
	return func(d time.Duration) error {
		if d < floor {
			return fmt.Errorf("must be at least %s", floor)
		}
		return nil
	}
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
		ServicePort:            int32(w.servicePort),
		ConfigName:             w.configName,
		SecretName:             w.secretName,
		URL:                    w.url,
		Host:                   w.host,
		Port:                   w.port,
		FailurePolicy:          admissionregistrationv1.FailurePolicyType(w.failurePolicy),
		TimeoutSeconds:         int32(w.timeoutSeconds),
		Namespaces:             webhookcfg.NamespaceSelection(w.namespaces),
		CertSource:             webhookcfg.CertSource(w.certSource),
		CertManagerCertificate: w.certManagerCert,
		CALifetime:             w.caLifetime,
		LeafLifetime:           w.certLifetime,
		OperatorPodLabels:      operatorPodLabels,
		PreStopMargin:          w.preStopMargin,
		ResyncInterval:         w.resyncInterval,
		CABundleSettle:         w.caBundleSettle,
	}
	// Each flag was checked when parsed; what is left involves several flags.
	if w.caLifetime <= w.certLifetime {
		return o, fmt.Errorf("--ca-lifetime=%s: must be longer than --cert-lifetime=%s", w.caLifetime, w.certLifetime)
	}
	if err := o.Validate(); err != nil {
		return o, fmt.Errorf("webhook flags: %w", err)
	}
	return o, nil
}

// setupWebhook registers the pod webhook, its certificates and their
// self-repair with the manager; o is nil with --webhook=false.
func setupWebhook(ctx context.Context, mgr ctrl.Manager, w webhookOptions, o *webhookcfg.Options) error {
	if o == nil {
		mgr.GetLogger().Info("pod webhook disabled (--webhook=false): new pods get no readiness gates")
		return nil
	}
	if err := webhookcfg.CheckAccess(ctx, mgr.GetClient(), *o); err != nil {
		var denied *webhookcfg.AccessError
		if errors.As(err, &denied) {
			return fmt.Errorf("--webhook-secret-name=%s, --webhook-config-name=%s, --webhook-namespace=%s: %w", w.secretName, w.configName, w.namespace, err)
		}
		// The review itself failed: say so, and let the self-repair report what it meets.
		mgr.GetLogger().Error(err, "could not check the operator's RBAC for the webhook's Secret and configuration")
	}
	return webhookcfg.Setup(ctx, mgr, *o)
}
