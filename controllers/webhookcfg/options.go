package webhookcfg

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbgate/lbgate/certs"
	"github.com/lbgate/lbgate/webhook"
)

// Fixed names of the webhook.
const (
	// Path is where the pod webhook is served.
	Path = "/mutate-v1-pod"
	// WebhookName is the name of the one webhook in the configuration.
	WebhookName = "pods.lbgate.dev"
	// FieldManager is the field manager of every write lbgate makes here.
	FieldManager = "lbgate"
	// DefaultServicePort is the port of the webhook Service the apiserver
	// calls (config/webhook/service.yaml) unless Options.ServicePort says otherwise.
	DefaultServicePort = 443
	// NameLabel is the pod label the configuration's objectSelector uses to
	// exclude the operator's own pods (value from Options.OperatorPodLabels).
	NameLabel = "app.kubernetes.io/name"
	// InjectCAFromAnnotation asks cert-manager's cainjector to fill the
	// caBundle from a Certificate (cert-manager mode).
	InjectCAFromAnnotation = "cert-manager.io/inject-ca-from"
	// NamespaceLabel, set to NamespaceLabelEnabled on a namespace, lets the
	// webhook see that namespace's pods when Options.Namespaces is
	// NamespacesLabelled.
	NamespaceLabel = "lbgate.dev/webhook"
	// NamespaceLabelEnabled is the value of NamespaceLabel that opts a namespace in.
	NamespaceLabelEnabled = "enabled"
)

// NamespaceSelection says which namespaces' pods the apiserver sends to the
// webhook (the configuration's namespaceSelector).
type NamespaceSelection string

// The namespace selections.
const (
	// NamespacesAll: every namespace but kube-system and the operator's.
	NamespacesAll NamespaceSelection = "all"
	// NamespacesLabelled: only namespaces labelled NamespaceLabel=enabled
	// (never kube-system nor the operator's). With failurePolicy Fail, a
	// stopped webhook then blocks pod creation in those namespaces only.
	NamespacesLabelled NamespaceSelection = "labelled"
)

// CertSource says who issues the serving certificate.
type CertSource string

// The certificate sources.
const (
	// CertSourceSelf: lbgate issues, stores, renews and rotates it.
	CertSourceSelf CertSource = "self"
	// CertSourceCertManager: a cert-manager Certificate fills the Secret and
	// its cainjector the caBundle; lbgate only serves and reads them.
	CertSourceCertManager CertSource = "cert-manager"
)

// Defaults of Options.
const (
	DefaultTimeoutSeconds       = 5
	DefaultResyncInterval       = 3 * time.Minute
	DefaultCABundleSettle       = 3 * time.Second
	DefaultReplicaProbeInterval = time.Second
)

// Options configure the webhook, its certificates and their self-repair.
type Options struct {
	// Namespace is the operator's namespace: it holds the Secret and the
	// Service, and the webhook never mutates its pods.
	Namespace string
	// ServiceName is the webhook Service (in-cluster client config).
	ServiceName string
	// ServicePort is the port of that Service the apiserver calls
	// (default DefaultServicePort).
	ServicePort int32
	// ConfigName is the MutatingWebhookConfiguration's name.
	ConfigName string
	// SecretName is the certificate Secret's name.
	SecretName string

	// URL, when set, makes the configuration call the webhook by URL (the
	// operator runs outside the cluster); empty means the Service.
	URL string
	// Host and Port are where the webhook server listens.
	Host string
	Port int

	// FailurePolicy is Ignore or Fail.
	FailurePolicy admissionregistrationv1.FailurePolicyType
	// TimeoutSeconds is the apiserver's timeout for one call (1-30).
	TimeoutSeconds int32
	// Namespaces chooses the namespaces the webhook sees (default NamespacesAll).
	Namespaces NamespaceSelection

	// CertSource chooses who issues the certificate.
	CertSource CertSource
	// CertManagerCertificate is the cert-manager Certificate named by the
	// inject-ca-from annotation, in Namespace (cert-manager mode).
	CertManagerCertificate string
	// CALifetime and LeafLifetime are the validity of what lbgate issues;
	// zero takes the certs package's defaults.
	CALifetime, LeafLifetime time.Duration

	// OperatorPodLabels are the labels of the operator's own pods: the
	// webhook never mutates them, and the leader probes the pods carrying
	// them to learn which certificate each replica serves.
	OperatorPodLabels map[string]string
	// PreStopMargin is passed to the mutator (webhook.Options).
	PreStopMargin time.Duration

	// ResyncInterval is how often everything is checked without any event.
	ResyncInterval time.Duration
	// CABundleSettle is how long a caBundle must have been live before the
	// leader relies on the apiserver using it (the apiserver reloads
	// webhook configurations asynchronously).
	CABundleSettle time.Duration
	// ReplicaProbeInterval is how often the leader looks at what the
	// replicas serve while a CA rotation waits for them.
	ReplicaProbeInterval time.Duration
}

// withDefaults fills the zero values that have a default.
func (o Options) withDefaults() Options {
	if o.FailurePolicy == "" {
		o.FailurePolicy = admissionregistrationv1.Ignore
	}
	if o.TimeoutSeconds == 0 {
		o.TimeoutSeconds = DefaultTimeoutSeconds
	}
	if o.ServicePort == 0 {
		o.ServicePort = DefaultServicePort
	}
	if o.Namespaces == "" {
		o.Namespaces = NamespacesAll
	}
	if o.CertSource == "" {
		o.CertSource = CertSourceSelf
	}
	if o.ResyncInterval == 0 {
		o.ResyncInterval = DefaultResyncInterval
	}
	if o.CABundleSettle == 0 {
		o.CABundleSettle = DefaultCABundleSettle
	}
	if o.ReplicaProbeInterval == 0 {
		o.ReplicaProbeInterval = DefaultReplicaProbeInterval
	}
	return o
}

// Validate reports the first option that cannot work.
func (o Options) Validate() error {
	if err := o.validateNames(); err != nil {
		return err
	}
	if err := o.validateAdmission(); err != nil {
		return err
	}
	return o.validateServing()
}

// validateNames: the objects lbgate writes, and how the apiserver reaches it.
func (o Options) validateNames() error {
	switch {
	case o.Namespace == "":
		return errors.New("webhook options: operator namespace is empty")
	case o.ConfigName == "":
		return errors.New("webhook options: configuration name is empty")
	case o.SecretName == "":
		return errors.New("webhook options: Secret name is empty")
	case o.URL == "" && o.ServiceName == "":
		return errors.New("webhook options: neither a URL nor a Service name")
	}
	return nil
}

// validateAdmission: ports and the webhook configuration's settings.
func (o Options) validateAdmission() error {
	switch {
	case o.Port < 1 || o.Port > 65535:
		return fmt.Errorf("webhook options: port %d out of range 1-65535", o.Port)
	case o.ServicePort < 0 || o.ServicePort > 65535:
		return fmt.Errorf("webhook options: Service port %d out of range 1-65535", o.ServicePort)
	case o.FailurePolicy != admissionregistrationv1.Ignore && o.FailurePolicy != admissionregistrationv1.Fail:
		return fmt.Errorf("webhook options: failure policy %q, want Ignore or Fail", o.FailurePolicy)
	case o.TimeoutSeconds < 1 || o.TimeoutSeconds > 30:
		return fmt.Errorf("webhook options: timeout %ds out of range 1-30", o.TimeoutSeconds)
	case o.Namespaces != "" && o.Namespaces != NamespacesAll && o.Namespaces != NamespacesLabelled:
		return fmt.Errorf("webhook options: namespace selection %q, want %s or %s", o.Namespaces, NamespacesAll, NamespacesLabelled)
	}
	return nil
}

// validateServing: the certificate source, the URL, and that lbgate can
// issue its own certificates for those names.
func (o Options) validateServing() error {
	switch {
	case o.CertSource != CertSourceSelf && o.CertSource != CertSourceCertManager:
		return fmt.Errorf("webhook options: certificate source %q, want self or cert-manager", o.CertSource)
	case o.CertSource == CertSourceCertManager && o.CertManagerCertificate == "":
		return errors.New("webhook options: cert-manager mode needs the Certificate's name")
	}
	if o.URL != "" {
		if err := CheckURL(o.URL); err != nil {
			return fmt.Errorf("webhook options: URL %q: %w", o.URL, err)
		}
	}
	if o.CertSource == CertSourceSelf {
		if _, err := certs.Generate(o.certOptions()); err != nil {
			return fmt.Errorf("webhook options: %w", err)
		}
	}
	return nil
}

// CheckURL reports why s cannot be a webhook URL (the apiserver's rules:
// https, a host, no user, query or fragment), or nil.
func CheckURL(s string) error {
	_, err := parseURL(s)
	return err
}

// parseURL parses a webhook URL that passes CheckURL.
func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, err
	case u.Scheme != "https":
		return nil, errors.New("scheme must be https")
	case u.Hostname() == "":
		return nil, errors.New("no host")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, errors.New("user, query and fragment are not allowed")
	}
	return u, nil
}

// certOptions are the names and lifetimes of the certificates lbgate issues:
// the Service names always (so switching to in-cluster needs no new
// certificate) and, in URL mode, the URL's host.
func (o Options) certOptions() certs.Options {
	co := certs.Options{
		ServiceName:  o.ServiceName,
		Namespace:    o.Namespace,
		CALifetime:   o.CALifetime,
		LeafLifetime: o.LeafLifetime,
	}
	if o.ServiceName == "" {
		co.Namespace = ""
	}
	if u, err := parseURL(o.URL); err == nil {
		host := u.Hostname()
		ip := net.ParseIP(host)
		switch {
		case host == "localhost" || (ip != nil && ip.Equal(net.IPv4(127, 0, 0, 1))):
			co.Loopback = true
		case ip != nil:
			co.ExtraIPs = []net.IP{ip}
		default:
			co.ExtraDNSNames = []string{host}
		}
	}
	return co
}

// dialedName is the one name the apiserver checks the served certificate
// against: the URL's host, or the Service's DNS name. A certificate lbgate
// does not issue must cover it.
func (o Options) dialedName() string {
	if u, err := parseURL(o.URL); err == nil {
		return u.Hostname()
	}
	return o.ServiceName + "." + o.Namespace + ".svc"
}

// localAddr is the address this replica's webhook server answers on.
func (o Options) localAddr() string {
	host := o.Host
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, fmt.Sprint(o.Port))
}

// ignoredNamespaces are never mutated: kube-system and the operator's.
func (o Options) ignoredNamespaces() []string {
	if o.Namespace == "kube-system" {
		return []string{"kube-system"}
	}
	return []string{"kube-system", o.Namespace}
}

// namespaceSelector never selects kube-system nor the operator's namespace
// and, with NamespacesLabelled, selects only the namespaces labelled
// NamespaceLabel=NamespaceLabelEnabled.
func (o Options) namespaceSelector() *metav1.LabelSelector {
	sel := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key:      corev1.LabelMetadataName,
		Operator: metav1.LabelSelectorOpNotIn,
		Values:   o.ignoredNamespaces(),
	}}}
	if o.Namespaces == NamespacesLabelled {
		sel.MatchLabels = map[string]string{NamespaceLabel: NamespaceLabelEnabled}
	}
	return sel
}

// mutatorOptions are the options of the pure mutator.
func (o Options) mutatorOptions() webhook.Options {
	return webhook.Options{OperatorPodSelector: o.OperatorPodLabels, PreStopMargin: o.PreStopMargin}
}

// selfManaged reports whether lbgate owns the certificates.
func (o Options) selfManaged() bool { return o.CertSource == CertSourceSelf }
