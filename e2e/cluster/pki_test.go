package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"slices"
	"testing"

	"k8s.io/client-go/util/keyutil"
)

func TestPKI(t *testing.T) {
	p, err := newPKI(t.TempDir(), net.ParseIP("10.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.ca.cert)
	frontRoots := x509.NewCertPool()
	frontRoots.AddCert(p.frontProxyCA.cert)

	verify := func(name string, kp keyPair, pool *x509.CertPool, usage x509.ExtKeyUsage, host string) *x509.Certificate {
		t.Helper()
		pair, err := tls.LoadX509KeyPair(kp.certPath, kp.keyPath)
		if err != nil {
			t.Fatalf("%s: load from disk: %v", name, err)
		}
		cert, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: host, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("%s: verify for %v %q: %v", name, usage, host, err)
		}
		return cert
	}
	for _, host := range []string{"127.0.0.1", "localhost", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "10.0.0.1"} {
		verify("apiserver", p.apiServer, roots, x509.ExtKeyUsageServerAuth, host)
	}
	verify("etcd server", p.etcdServer, roots, x509.ExtKeyUsageServerAuth, "127.0.0.1")
	verify("etcd peer", p.etcdServer, roots, x509.ExtKeyUsageClientAuth, "")
	verify("etcd client", p.etcdClient, roots, x509.ExtKeyUsageClientAuth, "")
	verify("kcm serving", p.kcmServing, roots, x509.ExtKeyUsageServerAuth, "127.0.0.1")
	verify("scheduler serving", p.schedServing, roots, x509.ExtKeyUsageServerAuth, "127.0.0.1")

	admin := verify("admin", p.admin, roots, x509.ExtKeyUsageClientAuth, "")
	if !slices.Contains(admin.Subject.Organization, "system:masters") {
		t.Errorf("admin organizations %v lack system:masters", admin.Subject.Organization)
	}
	if cn := verify("kcm client", p.kcmClient, roots, x509.ExtKeyUsageClientAuth, "").Subject.CommonName; cn != "system:kube-controller-manager" {
		t.Errorf("kcm client CN %q", cn)
	}
	if cn := verify("scheduler client", p.schedClient, roots, x509.ExtKeyUsageClientAuth, "").Subject.CommonName; cn != "system:kube-scheduler" {
		t.Errorf("scheduler client CN %q", cn)
	}
	front := verify("front-proxy client", p.frontProxyClient, frontRoots, x509.ExtKeyUsageClientAuth, "")
	if _, err := front.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("front-proxy client verifies against the cluster CA: the requestheader CA must be separate")
	}

	// The service-account keys parse as the apiserver parses them.
	keyPEM, err := os.ReadFile(p.saKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyutil.ParsePrivateKeyPEM(keyPEM); err != nil {
		t.Errorf("service-account private key: %v", err)
	}
	if _, err := keyutil.PublicKeysFromFile(p.saPubKeyPath); err != nil {
		t.Errorf("service-account public key: %v", err)
	}
}

func TestFirstIP(t *testing.T) {
	for cidr, want := range map[string]string{"10.0.0.0/24": "10.0.0.1", "10.96.0.0/12": "10.96.0.1", "fd00::/108": "fd00::1"} {
		ip, err := firstIP(cidr)
		if err != nil || ip.String() != want {
			t.Errorf("firstIP(%s) = %v, %v; want %s", cidr, ip, err, want)
		}
	}
	if _, err := firstIP("nonsense"); err == nil {
		t.Error("firstIP(nonsense): no error")
	}
}
