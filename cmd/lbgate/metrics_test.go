package main

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/lbgate/lbgate/controllers"
)

// knownMetric is a metric of lbgate's that /metrics always shows (a
// histogram without labels, registered by controllers/backendgroup).
const knownMetric = "lbgate_gate_wait_seconds"

// metricsOperator is the user the manager acts as in TestSecureMetrics:
// it holds only the ClusterRole generated from the code's RBAC markers.
const metricsOperator = "lbgate-metrics-test-operator"

func TestMetricsServerOptions(t *testing.T) {
	withCert := t.TempDir()
	for _, f := range []string{metricsCertFile, metricsKeyFile} {
		if err := os.WriteFile(filepath.Join(withCert, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		m       metricsOptions
		check   func(*testing.T, string)
		wantErr []string
	}{
		{name: "plain HTTP", m: metricsOptions{}},
		{name: "HTTPS with a self-signed certificate", m: metricsOptions{secure: true}},
		{name: "HTTPS with the certificate in a directory", m: metricsOptions{secure: true, certDir: withCert}},
		{name: "a certificate for plain HTTP", m: metricsOptions{certDir: withCert}, wantErr: []string{"--metrics-cert-dir=" + withCert, "--metrics-secure"}},
		{name: "a directory without the certificate", m: metricsOptions{secure: true, certDir: t.TempDir()}, wantErr: []string{"--metrics-cert-dir=", "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := tt.m.serverOptions(":8443")
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("%+v accepted, want an error naming %q", tt.m, tt.wantErr)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not mention %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("%+v refused: %v", tt.m, err)
			}
			if o.BindAddress != ":8443" || o.SecureServing != tt.m.secure || (o.FilterProvider != nil) != tt.m.secure {
				t.Errorf("address %q, secure %v, filter %v; want :8443, secure and filtered %v", o.BindAddress, o.SecureServing, o.FilterProvider != nil, tt.m.secure)
			}
			if tt.m.certDir != "" && (o.CertDir != tt.m.certDir || o.CertName != metricsCertFile || o.KeyName != metricsKeyFile) {
				t.Errorf("certificate %s/%s, %s; want the files of %s", o.CertDir, o.CertName, o.KeyName, tt.m.certDir)
			}
		})
	}
}

// TestSecureMetrics serves /metrics as the binary does, against a real
// kube-apiserver that reviews the scrapers' ServiceAccount tokens, with the
// manager holding only the generated RBAC, and scrapes it with a token
// that config/rbac's metrics-reader ClusterRole allows, one it does not,
// and none.
func TestSecureMetrics(t *testing.T) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Fatal("KUBEBUILDER_ASSETS is unset: run the tests with 'make test', which builds etcd and kube-apiserver into bin/k8s")
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
	})
	ctx := t.Context()
	admin := kubernetes.NewForConfigOrDie(cfg)

	grantRole(t, admin, "../../config/rbac/role.yaml", "lbgate-manager", rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: metricsOperator})
	asOperator := rest.CopyConfig(cfg)
	asOperator.Impersonate = rest.ImpersonationConfig{UserName: metricsOperator}

	const ns = "monitoring"
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, sa := range []string{"prometheus", "stranger"} {
		if _, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	grantRole(t, admin, "../../config/rbac/metrics_reader_role.yaml", "metrics-reader", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "prometheus", Namespace: ns})
	allowed, denied := serviceAccountToken(t, admin, ns, "prometheus"), serviceAccountToken(t, admin, ns, "stranger")

	t.Run("secure, self-signed", func(t *testing.T) {
		addr := startMetrics(t, asOperator, metricsOptions{secure: true})
		url := "https://" + addr + "/metrics"
		start := time.Now()
		status, body := scrape(t, url, allowed)
		first := time.Since(start)
		if status != http.StatusOK || !strings.Contains(body, knownMetric) {
			t.Errorf("with the token of a metrics reader: %d, body has %s: %v; want 200 with it", status, knownMetric, strings.Contains(body, knownMetric))
		}
		start = time.Now()
		if status, _ := scrape(t, url, allowed); status != http.StatusOK {
			t.Errorf("second scrape with the token of a metrics reader: %d, want 200", status)
		}
		t.Logf("scrape with the reader's token: first %s (TokenReview and SubjectAccessReview), then %s (both cached)",
			first.Round(100*time.Microsecond), time.Since(start).Round(100*time.Microsecond))
		if status, body := scrape(t, url, denied); status != http.StatusForbidden {
			t.Errorf("with the token of a ServiceAccount without the role: %d %q, want 403", status, body)
		}
		if status, body := scrape(t, url, ""); status != http.StatusUnauthorized {
			t.Errorf("without a token: %d %q, want 401", status, body)
		}
		// controller-runtime's filter answers 500 "Authentication failed"
		// here, not 401: k8s.io/apiserver's bearer-token authenticator
		// returns an error for every token the TokenReview rejects, and the
		// filter turns any error into 500 (the apiserver itself says 401).
		status, body = scrape(t, url, "not-a-token")
		if status == http.StatusOK || strings.Contains(body, knownMetric) {
			t.Errorf("with a token the apiserver does not know: %d, metrics served", status)
		}
		t.Logf("a token the apiserver does not know: %d %q", status, strings.TrimSpace(body))
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			resp.Body.Close() //nolint:errcheck
			if resp.StatusCode == http.StatusOK {
				t.Errorf("plain HTTP got the metrics")
			}
		}
	})

	t.Run("secure, certificate from --metrics-cert-dir", func(t *testing.T) {
		dir := t.TempDir()
		certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey("lbgate-metrics.test", []net.IP{net.IPv4(127, 0, 0, 1)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for f, b := range map[string][]byte{metricsCertFile: certPEM, metricsKeyFile: keyPEM} {
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		addr := startMetrics(t, asOperator, metricsOptions{secure: true, certDir: dir})
		if status, _ := scrape(t, "https://"+addr+"/metrics", allowed); status != http.StatusOK {
			t.Errorf("with the token of a metrics reader: %d, want 200", status)
		}
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // comparing the served certificate
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close() //nolint:errcheck
		block, _ := pem.Decode(certPEM)
		if served := conn.ConnectionState().PeerCertificates[0].Raw; string(served) != string(block.Bytes) {
			t.Errorf("the metrics server serves another certificate than the one in %s", dir)
		}
		if proto := conn.ConnectionState().NegotiatedProtocol; proto == "h2" {
			t.Errorf("HTTP/2 negotiated, want HTTP/1.1 only")
		}
	})

	t.Run("plain HTTP for local runs", func(t *testing.T) {
		addr := startMetrics(t, asOperator, metricsOptions{})
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close() //nolint:errcheck
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), knownMetric) {
			t.Errorf("plain HTTP without a token: %s, body has %s: %v; want 200 with it", resp.Status, knownMetric, strings.Contains(string(body), knownMetric))
		}
	})
}

// grantRole creates the ClusterRole named name from the manifest file and
// binds it to subject.
func grantRole(t *testing.T, admin kubernetes.Interface, file, name string, subject rbacv1.Subject) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var role *rbacv1.ClusterRole
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		r := &rbacv1.ClusterRole{}
		if err := yaml.Unmarshal([]byte(doc), r); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if r.Kind == "ClusterRole" && r.Name == name {
			role = r
		}
	}
	if role == nil {
		t.Fatalf("no ClusterRole %s in %s", name, file)
	}
	role.Name = subject.Name + "-" + name
	ctx := t.Context()
	if _, err := admin.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{subject},
	}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// serviceAccountToken asks the TokenRequest API for a token of a ServiceAccount.
func serviceAccountToken(t *testing.T, admin kubernetes.Interface, ns, name string) string {
	t.Helper()
	tr, err := admin.CoreV1().ServiceAccounts(ns).CreateToken(t.Context(), name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptrTo[int64](600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for %s/%s: %v", ns, name, err)
	}
	return tr.Status.Token
}

// startMetrics starts a manager with the metrics server the flags m make,
// on a free port of 127.0.0.1, as the user of c; it returns the address
// once the server answers.
func startMetrics(t *testing.T, c *rest.Config, m metricsOptions) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() //nolint:errcheck
	mo, err := m.serverOptions(addr)
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(c, ctrl.Options{Scheme: controllers.NewScheme(), Metrics: mo, HealthProbeBindAddress: "0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	scheme := "http"
	if m.secure {
		scheme = "https"
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := get(scheme + "://" + addr + "/metrics")
		if err == nil {
			return addr
		}
		select {
		case err := <-done:
			t.Fatalf("manager stopped before its metrics server answered: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics server on %s did not answer: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond) // polling for the listener, not waiting for an event
	}
}

// get GETs url without a token, over HTTPS without verifying the
// certificate, and returns the status.
func get(url string) (int, error) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the server's certificate is self-signed
	}}
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close() //nolint:errcheck
	return resp.StatusCode, nil
}

// scrape GETs url over HTTPS (the certificate is self-signed: not
// verified), with the bearer token when not empty.
func scrape(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the server's certificate is self-signed
	}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close() //nolint:errcheck
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

func ptrTo[T any](v T) *T { return &v }
