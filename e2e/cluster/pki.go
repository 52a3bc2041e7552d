package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// certLifetime is long enough for any test run or demo, short enough that a
// leaked work directory holds nothing worth stealing for long.
const certLifetime = 7 * 24 * time.Hour

// keyPair is a PEM certificate and key, in memory and on disk.
type keyPair struct {
	certPEM, keyPEM   []byte
	certPath, keyPath string
}

// authority is a certificate authority: its parsed certificate and key, and
// both in PEM on disk.
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	keyPair
}

// pki is the cluster's certificate authorities and every certificate and key
// the components use. All keys are ECDSA P-256 (fast to generate, accepted by
// every component, including as the service-account signing key: ES256).
type pki struct {
	ca authority // signs every serving and client certificate
	// frontProxyCA signs only the apiserver's aggregator client certificate;
	// it is the requestheader CA, kept apart from ca as in kubeadm so that no
	// ordinary client certificate can assert identities through headers.
	frontProxyCA     authority
	frontProxyClient keyPair

	etcdServer   keyPair // etcd serving and peer certificate
	etcdClient   keyPair // kube-apiserver -> etcd
	apiServer    keyPair // kube-apiserver serving certificate
	admin        keyPair // cluster admin, group system:masters
	kcmServing   keyPair
	kcmClient    keyPair // user system:kube-controller-manager
	schedServing keyPair
	schedClient  keyPair // user system:kube-scheduler
	saKeyPath    string  // service-account signing key (private)
	saPubKeyPath string  // service-account verification key (public)
}

// certSpec describes one leaf certificate.
type certSpec struct {
	file     string
	cn       string
	orgs     []string
	server   bool
	client   bool
	dnsNames []string
	ips      []net.IP
}

// newPKI generates the CA, every leaf certificate and the service-account key
// pair, and writes them under dir. serviceIP is the first Service ClusterIP
// (the `kubernetes` Service), which the apiserver certificate names too.
func newPKI(dir string, serviceIP net.IP) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	p := &pki{}
	var err error
	if p.ca, err = makeCA(dir, "ca", "lbgate-e2e-ca"); err != nil {
		return nil, err
	}
	if p.frontProxyCA, err = makeCA(dir, "front-proxy-ca", "lbgate-e2e-front-proxy-ca"); err != nil {
		return nil, err
	}
	if p.frontProxyClient, err = issue(dir, p.frontProxyCA, certSpec{file: "front-proxy-client",
		cn: frontProxyClientName, client: true}); err != nil {
		return nil, err
	}
	loopback := []net.IP{net.IPv4(127, 0, 0, 1)}
	apiDNS := []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local"}
	leaves := []struct {
		dst  *keyPair
		spec certSpec
	}{
		{&p.etcdServer, certSpec{file: "etcd-server", cn: "etcd", server: true, client: true,
			dnsNames: []string{"localhost"}, ips: loopback}},
		{&p.etcdClient, certSpec{file: "apiserver-etcd-client", cn: "kube-apiserver-etcd-client", client: true}},
		{&p.apiServer, certSpec{file: "apiserver", cn: "kube-apiserver", server: true,
			dnsNames: apiDNS, ips: []net.IP{loopback[0], serviceIP}}},
		{&p.admin, certSpec{file: "admin", cn: "lbgate-e2e-admin", orgs: []string{"system:masters"}, client: true}},
		{&p.kcmServing, certSpec{file: "controller-manager-serving", cn: "kube-controller-manager", server: true,
			dnsNames: []string{"localhost"}, ips: loopback}},
		{&p.kcmClient, certSpec{file: "controller-manager-client", cn: "system:kube-controller-manager", client: true}},
		{&p.schedServing, certSpec{file: "scheduler-serving", cn: "kube-scheduler", server: true,
			dnsNames: []string{"localhost"}, ips: loopback}},
		{&p.schedClient, certSpec{file: "scheduler-client", cn: "system:kube-scheduler", client: true}},
	}
	for _, l := range leaves {
		kp, err := issue(dir, p.ca, l.spec)
		if err != nil {
			return nil, err
		}
		*l.dst = kp
	}
	if err := p.makeServiceAccountKey(dir); err != nil {
		return nil, err
	}
	return p, nil
}

// frontProxyClientName is the common name of the aggregator's client
// certificate, the one name --requestheader-allowed-names accepts.
const frontProxyClientName = "front-proxy-client"

// makeCA creates a self-signed CA and writes it as file.crt and file.key.
func makeCA(dir, file, cn string) (authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return authority{}, fmt.Errorf("pki: %s key: %w", file, err)
	}
	tmpl, err := baseTemplate(cn, nil)
	if err != nil {
		return authority{}, err
	}
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return authority{}, fmt.Errorf("pki: %s certificate: %w", file, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return authority{}, fmt.Errorf("pki: %s certificate: %w", file, err)
	}
	kp, err := writePair(dir, file, der, key)
	if err != nil {
		return authority{}, err
	}
	return authority{cert: cert, key: key, keyPair: kp}, nil
}

// issue creates one leaf certificate signed by ca.
func issue(dir string, ca authority, s certSpec) (keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyPair{}, fmt.Errorf("pki: %s key: %w", s.file, err)
	}
	tmpl, err := baseTemplate(s.cn, s.orgs)
	if err != nil {
		return keyPair{}, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	if s.server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if s.client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	tmpl.DNSNames, tmpl.IPAddresses = s.dnsNames, s.ips
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return keyPair{}, fmt.Errorf("pki: %s certificate: %w", s.file, err)
	}
	return writePair(dir, s.file, der, key)
}

// makeServiceAccountKey writes the key pair the apiserver signs and verifies
// service-account tokens with (and kube-controller-manager signs legacy
// token Secrets with).
func (p *pki) makeServiceAccountKey(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("pki: service-account key: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return fmt.Errorf("pki: service-account public key: %w", err)
	}
	p.saKeyPath = filepath.Join(dir, "sa.key")
	p.saPubKeyPath = filepath.Join(dir, "sa.pub")
	if err := os.WriteFile(p.saKeyPath, keyPEM, 0o600); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	if err := os.WriteFile(p.saPubKeyPath, pubPEM, 0o600); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	return nil
}

// baseTemplate returns a certificate template with a random serial number and
// a validity window that starts an hour ago (clock skew between components
// is impossible here, but tests may fake time).
func baseTemplate(cn string, orgs []string) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("pki: serial number: %w", err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certLifetime),
	}, nil
}

// writePair writes name.crt and name.key under dir.
func writePair(dir, name string, der []byte, key crypto.Signer) (keyPair, error) {
	kp := keyPair{
		certPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		certPath: filepath.Join(dir, name+".crt"),
		keyPath:  filepath.Join(dir, name+".key"),
	}
	var err error
	if kp.keyPEM, err = encodeKey(key); err != nil {
		return keyPair{}, err
	}
	if err := os.WriteFile(kp.certPath, kp.certPEM, 0o600); err != nil {
		return keyPair{}, fmt.Errorf("pki: %w", err)
	}
	if err := os.WriteFile(kp.keyPath, kp.keyPEM, 0o600); err != nil {
		return keyPair{}, fmt.Errorf("pki: %w", err)
	}
	return kp, nil
}

// encodeKey PEM-encodes an ECDSA key in SEC 1 form ("EC PRIVATE KEY"), the
// form every component's key parser accepts.
func encodeKey(key crypto.Signer) ([]byte, error) {
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("pki: unexpected key type %T", key)
	}
	der, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		return nil, fmt.Errorf("pki: encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// firstIP returns the first usable address of cidr (the network address + 1),
// which the apiserver gives the `kubernetes` Service.
func firstIP(cidr string) (net.IP, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, fmt.Errorf("service cluster IP range %q: %w", cidr, err)
	}
	ip := make(net.IP, len(n.IP))
	copy(ip, n.IP)
	for i := len(ip) - 1; i >= 0; i-- {
		ip[i]++
		if ip[i] != 0 {
			break
		}
	}
	return ip, nil
}
