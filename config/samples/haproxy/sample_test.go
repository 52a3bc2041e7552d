// Package haproxy_test builds the HAProxy sample (config/samples/haproxy and
// its certmanager Secrets) with kustomize's Go API, checks that HAProxy, its
// NetworkPolicy and the operator agree on labels, ports, names and
// certificate paths, and runs the sample's haproxy.cfg in the real HAProxy.
package haproxy_test

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/lbgate/lbgate/providers/haproxy"
	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

const (
	namespace = "lbgate-system"
	// runtimeAPIPort is the port of `bind :9443` in haproxy.cfg.
	runtimeAPIPort = 9443
)

// operatorPodLabels are config/manager's pod labels (cmd/lbgate's operatorPodLabels).
var operatorPodLabels = map[string]string{
	"app.kubernetes.io/name":      "lbgate",
	"app.kubernetes.io/component": "controller-manager",
}

// objects is one build, by kind and name.
type objects map[string]map[string][]byte

func build(t *testing.T, dir string) objects {
	t.Helper()
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	objs := objects{}
	for _, r := range res.Resources() {
		raw, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		if objs[r.GetKind()] == nil {
			objs[r.GetKind()] = map[string][]byte{}
		}
		objs[r.GetKind()][r.GetName()] = raw
		if ns := r.GetNamespace(); ns != namespace && r.GetKind() != "Namespace" && ns != "" {
			t.Errorf("%s %s in namespace %q, want %s", r.GetKind(), r.GetName(), ns, namespace)
		}
	}
	return objs
}

// get decodes kind/name strictly into obj.
func (o objects) get(t *testing.T, kind, name string, obj any) {
	t.Helper()
	raw, ok := o[kind][name]
	if !ok {
		t.Fatalf("no %s %q in the build (there are %v)", kind, name, keys(o[kind]))
	}
	if err := yaml.UnmarshalStrict(raw, obj); err != nil {
		t.Fatalf("%s %s: %v", kind, name, err)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// sample is the built sample's objects that must agree with each other.
type sample struct {
	haproxy    appsv1.Deployment
	operator   appsv1.Deployment
	runtimeSvc corev1.Service
	policy     networkingv1.NetworkPolicy
	config     corev1.ConfigMap
}

func buildSample(t *testing.T) sample {
	t.Helper()
	objs := build(t, ".")
	var s sample
	objs.get(t, "Deployment", "haproxy", &s.haproxy)
	objs.get(t, "Deployment", "lbgate-controller-manager", &s.operator)
	objs.get(t, "Service", "haproxy-runtime-api", &s.runtimeSvc)
	objs.get(t, "NetworkPolicy", "haproxy", &s.policy)
	var cm corev1.ConfigMap
	objs.get(t, "Service", "haproxy", &corev1.Service{})
	for name := range objs["ConfigMap"] {
		if strings.HasPrefix(name, "haproxy-config") {
			objs.get(t, "ConfigMap", name, &cm)
		}
	}
	if cm.Data["haproxy.cfg"] == "" {
		t.Fatalf("no ConfigMap haproxy-config with haproxy.cfg (ConfigMaps: %v)", keys(objs["ConfigMap"]))
	}
	s.config = cm
	return s
}

func TestSampleFitsTogether(t *testing.T) {
	s := buildSample(t)
	pod := s.haproxy.Spec.Template
	cfg := s.config.Data["haproxy.cfg"]

	// HAProxy mounts the generated ConfigMap, and listens where the Service sends.
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
	}
	if v := volumes["config"]; v.ConfigMap == nil || v.ConfigMap.Name != s.config.Name {
		t.Errorf("HAProxy's config volume %+v does not mount ConfigMap %s", v, s.config.Name)
	}
	c := pod.Spec.Containers[0]
	if c.Image != "haproxy:2.6" {
		t.Errorf("HAProxy image %q, want haproxy:2.6 (the version these findings are about)", c.Image)
	}
	port := containerPort(c, "runtime-api")
	if port != runtimeAPIPort || !strings.Contains(cfg, fmt.Sprintf("bind :%d ssl crt ", runtimeAPIPort)) {
		t.Errorf("container port runtime-api %d, want %d as in haproxy.cfg's TLS bind line", port, runtimeAPIPort)
	}
	if tp := s.runtimeSvc.Spec.Ports[0].TargetPort; tp != intstr.FromString("runtime-api") || !selects(s.runtimeSvc.Spec.Selector, pod.Labels) {
		t.Errorf("Service haproxy-runtime-api targets %v with selector %v; want runtime-api of pods %v", tp, s.runtimeSvc.Spec.Selector, pod.Labels)
	}
	if *s.haproxy.Spec.Replicas != 1 {
		t.Errorf("HAProxy replicas %d: lbgate drives one Runtime API, want 1", *s.haproxy.Spec.Replicas)
	}

	// HAProxy's certificate comes from the Secret, the key as <crt>.key, where haproxy.cfg reads them.
	mount := mountPath(c, "tls")
	tls := volumes["tls"].Secret
	if tls == nil || tls.SecretName != "haproxy-runtime-api-tls" {
		t.Fatalf("HAProxy's tls volume %+v, want Secret haproxy-runtime-api-tls", volumes["tls"])
	}
	paths := map[string]string{}
	for _, it := range tls.Items {
		paths[it.Key] = it.Path
	}
	if paths["tls.crt"] != "tls.crt" || paths["tls.key"] != "tls.crt.key" || paths["ca.crt"] != "ca.crt" {
		t.Errorf("Secret items %v: HAProxy 2.6 reads the key of crt X from X.key", paths)
	}
	for _, want := range []string{"crt " + mount + "/tls.crt", "ca-file " + mount + "/ca.crt", "verify required"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("haproxy.cfg lacks %q (the tls volume is mounted at %s)", want, mount)
		}
	}
	if mountPath(c, "run") == "" || !strings.Contains(cfg, "stats socket "+mountPath(c, "run")+"/admin.sock level admin mode 600") ||
		!strings.Contains(cfg, "server admin unix@"+mountPath(c, "run")+"/admin.sock") {
		t.Errorf("haproxy.cfg must keep the admin socket a unix socket in the run volume (%s) and forward the TLS listener to it", mountPath(c, "run"))
	}
	for _, line := range strings.Split(cfg, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "stats socket") && !strings.HasPrefix(l, "stats socket /") {
			t.Errorf("haproxy.cfg has a stats socket that is not a unix socket: %q", l)
		}
	}

	// The operator dials the Service over TLS with the mounted client certificate.
	if !selects(operatorPodLabels, s.operator.Spec.Template.Labels) {
		t.Fatalf("operator pod labels %v, want %v", s.operator.Spec.Template.Labels, operatorPodLabels)
	}
	mc := s.operator.Spec.Template.Spec.Containers[0]
	want := fmt.Sprintf("--haproxy-runtime-api=tls://%s.%s.svc:%d", s.runtimeSvc.Name, namespace, s.runtimeSvc.Spec.Ports[0].Port)
	if !slices.Contains(mc.Args, want) {
		t.Errorf("operator args %v lack %s", mc.Args, want)
	}
	clientMount := mountPath(mc, "haproxy-tls")
	for _, f := range []string{"--haproxy-tls-cert=%s/tls.crt", "--haproxy-tls-key=%s/tls.key", "--haproxy-tls-ca=%s/ca.crt"} {
		if arg := fmt.Sprintf(f, clientMount); clientMount == "" || !slices.Contains(mc.Args, arg) {
			t.Errorf("operator args %v lack %s", mc.Args, arg)
		}
	}
	for _, v := range s.operator.Spec.Template.Spec.Volumes {
		if v.Name == "haproxy-tls" && (v.Secret == nil || v.Secret.SecretName != "lbgate-haproxy-client-tls") {
			t.Errorf("operator volume haproxy-tls %+v, want Secret lbgate-haproxy-client-tls", v)
		}
	}
}

// TestNetworkPolicyAdmitsOnlyTheOperator: the policy selects HAProxy's pods,
// and every rule that opens the Runtime API port admits exactly the
// operator's pods, in the policy's namespace.
func TestNetworkPolicyAdmitsOnlyTheOperator(t *testing.T) {
	s := buildSample(t)
	p := s.policy.Spec
	if !selects(p.PodSelector.MatchLabels, s.haproxy.Spec.Template.Labels) || len(p.PodSelector.MatchLabels) == 0 {
		t.Fatalf("NetworkPolicy selects %v, not HAProxy's pods %v", p.PodSelector.MatchLabels, s.haproxy.Spec.Template.Labels)
	}
	if !slices.Contains(p.PolicyTypes, networkingv1.PolicyTypeIngress) {
		t.Fatalf("NetworkPolicy types %v, want Ingress", p.PolicyTypes)
	}
	c := s.haproxy.Spec.Template.Spec.Containers[0]
	opensRuntimeAPI := func(r networkingv1.NetworkPolicyIngressRule) bool {
		if len(r.Ports) == 0 {
			return true // every port
		}
		for _, port := range r.Ports {
			if port.Port == nil || port.Port.String() == "runtime-api" || port.Port.IntValue() == runtimeAPIPort || (port.EndPort != nil && port.Port.IntValue() <= runtimeAPIPort && runtimeAPIPort <= int(*port.EndPort)) {
				return true
			}
		}
		return false
	}
	operatorRules := 0
	for i, r := range p.Ingress {
		if !opensRuntimeAPI(r) {
			for _, port := range r.Ports {
				if port.Port.Type == intstr.String && containerPort(c, port.Port.StrVal) == 0 {
					t.Errorf("rule %d names port %q, which HAProxy's container does not have", i, port.Port.StrVal)
				}
			}
			continue
		}
		if len(r.From) != 1 {
			t.Errorf("rule %d opens the Runtime API to %d peers, want only the operator's pods", i, len(r.From))
			continue
		}
		peer := r.From[0]
		if peer.NamespaceSelector != nil || peer.IPBlock != nil || peer.PodSelector == nil ||
			len(peer.PodSelector.MatchExpressions) > 0 || !maps(peer.PodSelector.MatchLabels, operatorPodLabels) {
			t.Errorf("rule %d opens the Runtime API to %+v, want pods labelled %v of the policy's namespace only", i, peer, operatorPodLabels)
			continue
		}
		if !selects(peer.PodSelector.MatchLabels, s.operator.Spec.Template.Labels) {
			t.Errorf("rule %d admits %v, which the operator's pods %v do not carry", i, peer.PodSelector.MatchLabels, s.operator.Spec.Template.Labels)
		}
		operatorRules++
	}
	if operatorRules == 0 {
		t.Errorf("no rule admits the operator's pods to the Runtime API port")
	}
}

// TestCertManagerSecrets: the certmanager kustomization fills the two
// Secrets the sample mounts, from one CA, and HAProxy's certificate names
// the Service the operator dials.
func TestCertManagerSecrets(t *testing.T) {
	s := buildSample(t)
	objs := build(t, "certmanager")
	certs := map[string]*cmv1.Certificate{}
	for name := range objs[cmv1.CertificateKind] {
		c := &cmv1.Certificate{}
		objs.get(t, cmv1.CertificateKind, name, c)
		certs[c.Spec.SecretName] = c
	}
	for name := range objs[cmv1.IssuerKind] {
		objs.get(t, cmv1.IssuerKind, name, &cmv1.Issuer{})
	}
	server, client := certs["haproxy-runtime-api-tls"], certs["lbgate-haproxy-client-tls"]
	if server == nil || client == nil {
		t.Fatalf("Certificates fill Secrets %v; want haproxy-runtime-api-tls and lbgate-haproxy-client-tls", slices.Collect(func(yield func(string) bool) {
			for k := range certs {
				if !yield(k) {
					return
				}
			}
		}))
	}
	if server.Spec.IssuerRef != client.Spec.IssuerRef {
		t.Errorf("server issued by %v, client by %v: one CA must sign both (each side checks the other with ca.crt)", server.Spec.IssuerRef, client.Spec.IssuerRef)
	}
	host := fmt.Sprintf("%s.%s.svc", s.runtimeSvc.Name, namespace)
	if !slices.Contains(server.Spec.DNSNames, host) || !slices.Contains(server.Spec.Usages, cmv1.UsageServerAuth) {
		t.Errorf("HAProxy's Certificate: DNS names %v, usages %v; want %s and server auth", server.Spec.DNSNames, server.Spec.Usages, host)
	}
	if !slices.Contains(client.Spec.Usages, cmv1.UsageClientAuth) {
		t.Errorf("lbgate's Certificate usages %v, want client auth", client.Spec.Usages)
	}
}

// TestSampleConfigRunsInHAProxy writes the ConfigMap's haproxy.cfg with
// throwaway certificates into a temporary directory (paths and ports moved
// there and to 127.0.0.1), checks it with `haproxy -c`, runs it, and has the
// provider read its backend over TLS with the client certificate.
func TestSampleConfigRunsInHAProxy(t *testing.T) {
	bin := haproxytest.Binary()
	if bin == "" {
		t.Skip("haproxy is not installed")
	}
	s := buildSample(t)
	dir, err := os.MkdirTemp("", "hpsample") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Error(err)
		}
	})
	pki, err := haproxytest.WritePKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The Secret's files as the Deployment mounts them.
	tlsDir := filepath.Join(dir, "tls")
	if err := os.Mkdir(tlsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	serverPEM, err := os.ReadFile(pki.ServerPEM)
	if err != nil {
		t.Fatal(err)
	}
	crt, key := splitPEM(serverPEM)
	caPEM, _ := os.ReadFile(pki.CA)
	for name, data := range map[string][]byte{"tls.crt": crt, "tls.crt.key": key, "ca.crt": caPEM} {
		if err := os.WriteFile(filepath.Join(tlsDir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := s.haproxy.Spec.Template.Spec.Containers[0]
	apiPort, webPort := haproxytest.FreePort(t, "127.0.0.1"), haproxytest.FreePort(t, "127.0.0.1")
	cfg := strings.NewReplacer(
		mountPath(c, "tls")+"/", tlsDir+"/",
		mountPath(c, "run")+"/", dir+"/",
		fmt.Sprintf("bind :%d ", runtimeAPIPort), fmt.Sprintf("bind 127.0.0.1:%d ", apiPort),
		"bind :8080", fmt.Sprintf("bind 127.0.0.1:%d", webPort),
		"log stdout format raw local0 info", "log stderr format raw local0 info",
	).Replace(s.config.Data["haproxy.cfg"])
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-f", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c refuses the sample's haproxy.cfg: %v\n%s\n%s", err, out, cfg)
	}

	cmd := exec.Command(bin, "-db", "-f", cfgPath)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("haproxy output:\n%s", log.String())
		}
	})
	p, err := haproxy.New("tls://127.0.0.1:"+strconv.Itoa(apiPort), haproxy.Options{TLS: &haproxy.TLSFiles{CertFile: pki.ClientCert, KeyFile: pki.ClientKey, CAFile: pki.CA}})
	if err != nil {
		t.Fatal(err)
	}
	haproxytest.Eventually(t, 10*time.Second, func() error {
		l, err := p.Limits(context.Background(), "be_web")
		if err != nil {
			return err
		}
		if l.StaticWeight {
			return fmt.Errorf("be_web reported static weights: %+v", l)
		}
		return nil
	})

	// Without a client certificate, nothing: not even HAProxy's name.
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(apiPort), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(conn, "show info\n")
	out, _ := io.ReadAll(conn)
	if strings.Contains(string(out), "HAProxy") {
		t.Errorf("a plain TCP client without a certificate got %q from the Runtime API port", out)
	}
}

// splitPEM returns the certificate and the key blocks of a combined PEM.
func splitPEM(data []byte) (cert, key []byte) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return cert, key
		}
		if b.Type == "CERTIFICATE" {
			cert = append(cert, pem.EncodeToMemory(b)...)
		} else {
			key = append(key, pem.EncodeToMemory(b)...)
		}
	}
}

func containerPort(c corev1.Container, name string) int {
	for _, p := range c.Ports {
		if p.Name == name {
			return int(p.ContainerPort)
		}
	}
	return 0
}

func mountPath(c corev1.Container, volume string) string {
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return m.MountPath
		}
	}
	return ""
}

// selects reports whether every label of sel is on labels.
func selects(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// maps reports whether a and b hold the same labels.
func maps(a, b map[string]string) bool { return len(a) == len(b) && selects(a, b) }
