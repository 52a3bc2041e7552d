// Package config_test builds the kustomize overlays users install
// (`kubectl apply -k config/default`, or config/certmanager) with kustomize's
// own Go API, and checks that what comes out fits together and fits the
// operator's defaults: names, namespaces, ports, labels and RBAC.
package config_test

import (
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
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
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
	checkInstall(t, build(t, "default"), false)
}

// TestCertManagerInstall also decodes cert-manager's objects strictly with
// cert-manager's own API types, and follows the issuer chain: the serving
// Certificate is issued by a CA Issuer whose CA is a Certificate of the
// install, bootstrapped by a self-signed Issuer, so the Secret's ca.crt is a
// real CA (a self-signed serving certificate is refused by lbgate as no CA).
func TestCertManagerInstall(t *testing.T) {
	in := build(t, "certmanager")
	checkInstall(t, in, true)

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

func checkInstall(t *testing.T, in install, certManager bool) {
	t.Helper()

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
		if !bound[role] {
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
	if allows("", "secrets", "some-other-secret", "get") {
		t.Errorf("the operator may read any Secret; it needs only %s", secretName)
	}
}
