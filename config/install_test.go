// Package config_test builds the kustomize overlays users install
// (`kubectl apply -k config/default`, or config/certmanager) with kustomize's
// own Go API, and checks that what comes out fits together and fits the
// operator's defaults: names, namespaces, ports, labels and RBAC.
package config_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/lbgate/lbgate/controllers/webhookcfg"
)

// The operator's defaults that the manifests must agree with
// (cmd/lbgate flags and webhookcfg).
const (
	namespace   = "lbgate-system"
	serviceName = "lbgate-webhook-service" // --webhook-service-name
	configName  = "lbgate-pod-gates"       // --webhook-config-name
	secretName  = "lbgate-webhook-certs"   // --webhook-secret-name
	certName    = "lbgate-serving-cert"    // --cert-manager-certificate
	webhookPort = 9443                     // --webhook-port
	metricsPort = 8443                     // --metrics-bind-address in config/default

	metricsService = "lbgate-controller-manager-metrics-service"
	metricsReader  = "lbgate-metrics-reader" // for scrapers, bound by the user
)

// operatorPodLabels are cmd/lbgate's operatorPodLabels: the webhook skips
// these pods and the leader probes them.
var operatorPodLabels = map[string]string{
	"app.kubernetes.io/name":      "lbgate",
	"app.kubernetes.io/component": "controller-manager",
}

// install is one built overlay, by kind and name.
type install struct {
	docs map[string]map[string][]byte // kind -> name -> YAML
}

func build(t *testing.T, dir string) install {
	t.Helper()
	return buildFrom(t, filesys.MakeFsOnDisk(), dir)
}

// buildEdited builds dir from a copy of config/ in memory in which each
// file named in edits has old replaced by new: the way a user follows the
// instructions in a kustomization's comments.
func buildEdited(t *testing.T, dir string, edits map[string][2]string) install {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if e, ok := edits[path]; ok {
			if !strings.Contains(string(raw), e[0]) {
				t.Fatalf("%s has no %q to replace", path, e[0])
			}
			raw = []byte(strings.Replace(string(raw), e[0], e[1], 1))
		}
		return mem.WriteFile(filepath.Join("/config", path), raw)
	})
	if err != nil {
		t.Fatal(err)
	}
	return buildFrom(t, mem, filepath.Join("/config", dir))
}

func buildFrom(t *testing.T, fsys filesys.FileSystem, dir string) install {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(fsys, dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	in := install{docs: map[string]map[string][]byte{}}
	for _, r := range res.Resources() {
		raw, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		kind, name := r.GetKind(), r.GetName()
		if in.docs[kind] == nil {
			in.docs[kind] = map[string][]byte{}
		}
		in.docs[kind][name] = raw
	}
	return in
}

// get decodes the object of kind and name strictly into obj, failing the test when it is missing.
func (in install) get(t *testing.T, kind, name string, obj any) {
	t.Helper()
	raw, ok := in.docs[kind][name]
	if !ok {
		var names []string
		for n := range in.docs[kind] {
			names = append(names, n)
		}
		t.Fatalf("no %s %q in the build (there are %v)", kind, name, names)
	}
	if err := yaml.UnmarshalStrict(raw, obj); err != nil {
		t.Fatalf("%s %s: %v", kind, name, err)
	}
}

func TestDefaultInstall(t *testing.T) {
	checkInstall(t, build(t, "default"), variant{})
}

// TestLabelledNamespacesInstall follows config/default's comment to limit
// the webhook to labelled namespaces: the manifest and the flag agree, so
// the operator keeps the configuration as installed.
func TestLabelledNamespacesInstall(t *testing.T) {
	in := buildEdited(t, "default", map[string][2]string{"default/kustomization.yaml": {
		"# components:\n# - ../webhook/labelled-namespaces", "components:\n- ../webhook/labelled-namespaces",
	}})
	checkInstall(t, in, variant{namespaces: webhookcfg.NamespacesLabelled})
}

// TestPrometheusInstall follows config/default's comment to add the
// ServiceMonitor: it selects the metrics Service and scrapes its HTTPS port
// with a bearer token.
func TestPrometheusInstall(t *testing.T) {
	in := buildEdited(t, "default", map[string][2]string{"default/kustomization.yaml": {"# - ../prometheus", "- ../prometheus"}})
	checkInstall(t, in, variant{})

	// The Prometheus Operator's types are not a dependency: read the fields that matter.
	var monitor struct {
		Metadata struct{ Name, Namespace string }
		Spec     struct {
			Endpoints []struct {
				Path, Port, Scheme, BearerTokenFile string
				TLSConfig                           map[string]any `json:"tlsConfig"`
			}
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			}
		}
	}
	names := in.docs["ServiceMonitor"]
	if len(names) != 1 {
		t.Fatalf("ServiceMonitors %v, want one", names)
	}
	for _, raw := range names {
		if err := yaml.Unmarshal(raw, &monitor); err != nil {
			t.Fatal(err)
		}
	}
	var svc corev1.Service
	in.get(t, "Service", metricsService, &svc)
	if monitor.Metadata.Namespace != namespace {
		t.Errorf("ServiceMonitor %s in namespace %q, want %q", monitor.Metadata.Name, monitor.Metadata.Namespace, namespace)
	}
	for k, v := range monitor.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("ServiceMonitor selector %s=%s does not select Service %s (labels %v)", k, v, svc.Name, svc.Labels)
		}
	}
	if len(monitor.Spec.Endpoints) != 1 {
		t.Fatalf("ServiceMonitor endpoints %+v, want one", monitor.Spec.Endpoints)
	}
	e := monitor.Spec.Endpoints[0]
	if e.Port != svc.Spec.Ports[0].Name || e.Scheme != "https" || e.Path != "/metrics" || e.BearerTokenFile == "" {
		t.Errorf("ServiceMonitor endpoint %+v: want /metrics over https on port %q with a bearer token", e, svc.Spec.Ports[0].Name)
	}
}

// TestCertManagerInstall also decodes cert-manager's objects strictly with
// cert-manager's own API types, and follows the issuer chain: the serving
// Certificate is issued by a CA Issuer whose CA is a Certificate of the
// install, bootstrapped by a self-signed Issuer, so the Secret's ca.crt is a
// real CA (a self-signed serving certificate is refused by lbgate as no CA).
func TestCertManagerInstall(t *testing.T) {
	in := build(t, "certmanager")
	checkInstall(t, in, variant{certManager: true})

	certificates, issuers := map[string]*cmv1.Certificate{}, map[string]*cmv1.Issuer{}
	for name := range in.docs[cmv1.CertificateKind] {
		c := &cmv1.Certificate{}
		in.get(t, cmv1.CertificateKind, name, c)
		certificates[name] = c
	}
	for name := range in.docs[cmv1.IssuerKind] {
		i := &cmv1.Issuer{}
		in.get(t, cmv1.IssuerKind, name, i)
		issuers[name] = i
	}
	serving := certificates[certName]
	if serving == nil {
		t.Fatalf("no Certificate %s for --cert-manager-certificate's default", certName)
	}
	if serving.Namespace != namespace || serving.Spec.SecretName != secretName || serving.Spec.IsCA ||
		!slices.Contains(serving.Spec.DNSNames, serviceName+"."+namespace+".svc") {
		t.Errorf("serving Certificate %s/%s: Secret %q, isCA %v, DNS names %v; want Secret %s and %s.%s.svc",
			serving.Namespace, serving.Name, serving.Spec.SecretName, serving.Spec.IsCA, serving.Spec.DNSNames, secretName, serviceName, namespace)
	}
	caIssuer := issuers[serving.Spec.IssuerRef.Name]
	if caIssuer == nil || caIssuer.Spec.CA == nil {
		t.Fatalf("the serving Certificate's issuer %q is not a CA Issuer of the install", serving.Spec.IssuerRef.Name)
	}
	var ca *cmv1.Certificate
	for _, c := range certificates {
		if c.Spec.SecretName == caIssuer.Spec.CA.SecretName {
			ca = c
		}
	}
	if ca == nil || !ca.Spec.IsCA {
		t.Fatalf("no CA Certificate fills Secret %s of Issuer %s", caIssuer.Spec.CA.SecretName, caIssuer.Name)
	}
	if root := issuers[ca.Spec.IssuerRef.Name]; root == nil || root.Spec.SelfSigned == nil {
		t.Errorf("the CA Certificate %s is not issued by a self-signed Issuer of the install", ca.Name)
	}
}

// variant says what an overlay changes from the default install.
type variant struct {
	certManager bool
	namespaces  webhookcfg.NamespaceSelection // empty: all
}

func checkInstall(t *testing.T, in install, v variant) {
	t.Helper()
	certManager := v.certManager

	var ns corev1.Namespace
	in.get(t, "Namespace", namespace, &ns)

	var dep appsv1.Deployment
	in.get(t, "Deployment", "lbgate-controller-manager", &dep)
	if dep.Namespace != namespace {
		t.Errorf("Deployment in namespace %q, want %q", dep.Namespace, namespace)
	}
	pod := dep.Spec.Template
	for k, v := range operatorPodLabels {
		if pod.Labels[k] != v {
			t.Errorf("operator pods' label %s=%q, want %q (the webhook skips, and the leader probes, pods with these labels)", k, pod.Labels[k], v)
		}
	}
	c := pod.Spec.Containers[0]
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"--leader-elect", "--health-probe-bind-address=:8081"} {
		if !strings.Contains(args, want) {
			t.Errorf("manager args %q lack %s", args, want)
		}
	}
	if got := strings.Contains(args, "--cert-source=cert-manager"); got != certManager {
		t.Errorf("manager args %q: --cert-source=cert-manager present %v, want %v", args, got, certManager)
	}
	if got := lastFlag(c.Args, "--webhook-namespace-selector"); got != string(v.namespaces) {
		t.Errorf("manager args %q: --webhook-namespace-selector %q, want %q", args, got, v.namespaces)
	}
	webhookServer := -1
	for i, p := range c.Ports {
		if p.Name == "webhook-server" {
			webhookServer = i
		}
	}
	if webhookServer < 0 || c.Ports[webhookServer].ContainerPort != webhookPort {
		t.Errorf("manager ports %+v: want webhook-server on %d", c.Ports, webhookPort)
	}

	// The webhook Service selects the operator pods and reaches their webhook port.
	var svc corev1.Service
	in.get(t, "Service", serviceName, &svc)
	if svc.Namespace != namespace {
		t.Errorf("Service in namespace %q", svc.Namespace)
	}
	for k, v := range svc.Spec.Selector {
		if pod.Labels[k] != v {
			t.Errorf("Service selector %s=%s does not select the operator pods (%v)", k, v, pod.Labels)
		}
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 || svc.Spec.Ports[0].TargetPort.String() != "webhook-server" {
		t.Errorf("Service ports %+v, want 443 to webhook-server", svc.Spec.Ports)
	}

	checkMetrics(t, in, c, pod.Labels)

	// The webhook configuration is the one the operator keeps (so
	// re-applying the install and the operator's repair agree), and calls
	// that Service on its port.
	var cfg admissionregistrationv1.MutatingWebhookConfiguration
	in.get(t, "MutatingWebhookConfiguration", configName, &cfg)
	kept := webhookcfg.Options{
		Namespace: namespace, ServiceName: serviceName, ConfigName: configName, SecretName: secretName,
		Port: webhookPort, OperatorPodLabels: operatorPodLabels,
	}
	if certManager {
		kept.CertSource, kept.CertManagerCertificate = webhookcfg.CertSourceCertManager, certName
	}
	kept.Namespaces = v.namespaces
	if d := webhookcfg.Differences(&cfg, webhookcfg.Desired(kept, nil), false); len(d) > 0 {
		t.Errorf("the installed webhook configuration differs from the one the operator keeps: %v", d)
	}
	if ref := cfg.Webhooks[0].ClientConfig.Service; ref == nil || ref.Port == nil || *ref.Port != svc.Spec.Ports[0].Port {
		t.Errorf("webhook clientConfig.service %+v does not call the Service's port %d", ref, svc.Spec.Ports[0].Port)
	}
	if len(cfg.Webhooks[0].ClientConfig.CABundle) != 0 {
		t.Errorf("the install carries a caBundle: it is the operator's (or cert-manager's)")
	}
	if inject := cfg.Annotations["cert-manager.io/inject-ca-from"]; !certManager && inject != "" {
		t.Errorf("inject-ca-from %q without cert-manager", inject)
	}

	// RBAC names the objects the operator keeps, and is bound to its ServiceAccount.
	var sa corev1.ServiceAccount
	in.get(t, "ServiceAccount", pod.Spec.ServiceAccountName, &sa)
	subject := rbacv1.Subject{Kind: "ServiceAccount", Name: sa.Name, Namespace: namespace}
	rules := map[string][]rbacv1.PolicyRule{}
	for name := range in.docs["ClusterRole"] {
		var r rbacv1.ClusterRole
		in.get(t, "ClusterRole", name, &r)
		rules["ClusterRole/"+name] = r.Rules
	}
	// Scrapers get the metrics reader (bound by the user, not the install): exactly get /metrics.
	if want := []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}; !slices.EqualFunc(rules["ClusterRole/"+metricsReader], want, func(a, b rbacv1.PolicyRule) bool {
		return slices.Equal(a.NonResourceURLs, b.NonResourceURLs) && slices.Equal(a.Verbs, b.Verbs) && len(a.Resources) == 0 && len(a.APIGroups) == 0
	}) {
		t.Errorf("ClusterRole %s rules %+v, want %+v", metricsReader, rules["ClusterRole/"+metricsReader], want)
	}
	for name := range in.docs["Role"] {
		var r rbacv1.Role
		in.get(t, "Role", name, &r)
		if r.Namespace != namespace {
			t.Errorf("Role %s in namespace %q", name, r.Namespace)
		}
		rules["Role/"+name] = r.Rules
	}
	bound := map[string]bool{}
	for _, kind := range []string{"ClusterRoleBinding", "RoleBinding"} {
		for name := range in.docs[kind] {
			var b rbacv1.RoleBinding // the fields read are the same for both kinds
			in.get(t, kind, name, &b)
			if !slices.Contains(b.Subjects, subject) {
				t.Errorf("%s %s binds %+v, not the operator's ServiceAccount %s/%s", kind, name, b.Subjects, namespace, sa.Name)
			}
			role := b.RoleRef.Kind + "/" + b.RoleRef.Name
			if _, ok := rules[role]; !ok {
				t.Errorf("%s %s refers to %s, which the install does not hold", kind, name, role)
			}
			bound[role] = true
		}
	}
	for role := range rules {
		if !bound[role] && role != "ClusterRole/"+metricsReader {
			t.Errorf("%s is bound to nobody", role)
		}
	}
	allows := func(group, resource, name, verb string) bool {
		for role, rs := range rules {
			if !bound[role] {
				continue
			}
			for _, r := range rs {
				if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) &&
					(len(r.ResourceNames) == 0 || slices.Contains(r.ResourceNames, name)) {
					return true
				}
			}
		}
		return false
	}
	for _, verb := range []string{"list", "watch", "update", "create"} {
		if !allows("", "secrets", secretName, verb) {
			t.Errorf("the operator may not %s Secret %s", verb, secretName)
		}
	}
	for _, verb := range []string{"list", "watch", "update", "patch", "create"} {
		if !allows("admissionregistration.k8s.io", "mutatingwebhookconfigurations", configName, verb) {
			t.Errorf("the operator may not %s MutatingWebhookConfiguration %s", verb, configName)
		}
	}
	// The secure metrics endpoint reviews each scraper's token and access.
	if !allows("authentication.k8s.io", "tokenreviews", "", "create") || !allows("authorization.k8s.io", "subjectaccessreviews", "", "create") {
		t.Errorf("the operator may not create TokenReviews and SubjectAccessReviews: the secure metrics endpoint needs both")
	}
	if allows("", "secrets", "some-other-secret", "get") {
		t.Errorf("the operator may read any Secret; it needs only %s", secretName)
	}
}

// checkMetrics checks that the manager serves its metrics securely on the
// port the metrics Service targets, and that the Service selects it.
func checkMetrics(t *testing.T, in install, c corev1.Container, podLabels map[string]string) {
	t.Helper()
	if got := lastFlag(c.Args, "--metrics-bind-address"); got != ":8443" {
		t.Errorf("manager --metrics-bind-address %q, want :%d", got, metricsPort)
	}
	if got := lastFlag(c.Args, "--metrics-secure"); got != "true" {
		t.Errorf("manager --metrics-secure %q, want true", got)
	}
	var port *corev1.ContainerPort
	for i := range c.Ports {
		if c.Ports[i].Name == "metrics" {
			port = &c.Ports[i]
		}
	}
	if port == nil || port.ContainerPort != metricsPort {
		t.Errorf("manager ports %+v: want metrics on %d", c.Ports, metricsPort)
	}
	var svc corev1.Service
	in.get(t, "Service", metricsService, &svc)
	if svc.Namespace != namespace {
		t.Errorf("Service %s in namespace %q", svc.Name, svc.Namespace)
	}
	for k, v := range svc.Spec.Selector {
		if podLabels[k] != v {
			t.Errorf("Service %s selector %s=%s does not select the operator pods (%v)", svc.Name, k, v, podLabels)
		}
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != metricsPort || svc.Spec.Ports[0].TargetPort.String() != "metrics" || svc.Spec.Ports[0].Name != "https" {
		t.Errorf("Service %s ports %+v, want https %d to metrics", svc.Name, svc.Spec.Ports, metricsPort)
	}
}

// lastFlag is the value the binary takes for a flag: the last one given
// (the Go flag package keeps the last), "" when absent; a bare boolean
// flag is "true".
func lastFlag(args []string, name string) string {
	value := ""
	for _, a := range args {
		switch {
		case a == name:
			value = "true"
		case strings.HasPrefix(a, name+"="):
			value = strings.TrimPrefix(a, name+"=")
		}
	}
	return value
}
