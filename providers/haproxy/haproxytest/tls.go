package haproxytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TLSRuntimeAPI puts the admin Runtime API behind TLS with client
// certificates, on a free 127.0.0.1 port (HAProxy.TLSRuntimeAPI).
type TLSRuntimeAPI struct {
	// ServerPEM is HAProxy's certificate followed by its key.
	ServerPEM string
	// CAFile holds the CA that client certificates must chain to.
	CAFile string
	// OnStatsSocket writes the TLS options on the `stats socket ipv4@`
	// line itself, which HAProxy 2.6 accepts and ignores (it serves plain
	// text). Without it, a `listen` section terminates TLS and forwards to
	// the admin unix socket: the form that works.
	OnStatsSocket bool
}

// PKI is a throwaway set of PEM files for a TLS Runtime API: a CA, a
// server certificate for 127.0.0.1 and the name "haproxy-runtime", a
// client certificate, and a second CA with its own client certificate.
type PKI struct {
	Dir string
	// CA is the CA certificate; ServerPEM HAProxy's certificate and key in one file.
	CA, ServerPEM string
	// ClientCert and ClientKey are signed by CA.
	ClientCert, ClientKey string
	// OtherCA signed OtherClientCert and OtherClientKey; HAProxy does not trust it.
	OtherCA, OtherClientCert, OtherClientKey string
}

// NewPKI writes a PKI into a new temporary directory of the test.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	p, err := WritePKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// WritePKI writes a PKI into dir; certificates are valid for a day.
func WritePKI(dir string) (*PKI, error) {
	p := &PKI{Dir: dir}
	path := func(name string) string { return filepath.Join(dir, name) }
	ca, caKey, err := issue(nil, nil, "lbgate-test-ca", nil)
	if err != nil {
		return nil, err
	}
	other, otherKey, err := issue(nil, nil, "lbgate-test-other-ca", nil)
	if err != nil {
		return nil, err
	}
	server, serverKey, err := issue(ca, caKey, "haproxy-runtime", &x509.Certificate{
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"haproxy-runtime"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	})
	if err != nil {
		return nil, err
	}
	client, clientKey, err := issue(ca, caKey, "lbgate", &x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return nil, err
	}
	otherClient, otherClientKey, err := issue(other, otherKey, "lbgate", &x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return nil, err
	}
	p.CA, p.ServerPEM = path("ca.pem"), path("server.pem")
	p.ClientCert, p.ClientKey = path("client.crt"), path("client.key")
	p.OtherCA, p.OtherClientCert, p.OtherClientKey = path("other-ca.pem"), path("other-client.crt"), path("other-client.key")
	files := []struct {
		path  string
		parts [][]byte
	}{
		{p.CA, [][]byte{certPEM(ca)}},
		{p.OtherCA, [][]byte{certPEM(other)}},
		{p.ServerPEM, [][]byte{certPEM(server), keyPEM(serverKey)}},
		{p.ClientCert, [][]byte{certPEM(client)}},
		{p.ClientKey, [][]byte{keyPEM(clientKey)}},
		{p.OtherClientCert, [][]byte{certPEM(otherClient)}},
		{p.OtherClientKey, [][]byte{keyPEM(otherClientKey)}},
	}
	for _, f := range files {
		var data []byte
		for _, part := range f.parts {
			data = append(data, part...)
		}
		if err := os.WriteFile(f.path, data, 0o600); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// issue makes a certificate for cn: a self-signed CA when parent is nil,
// else a leaf with the template's usages and names, signed by parent.
func issue(parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn string, tmpl *x509.Certificate) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	if tmpl == nil {
		tmpl = &x509.Certificate{IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	}
	tmpl.SerialNumber = serial
	tmpl.Subject = pkix.Name{CommonName: cn}
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	signer, signerKey := parent, parentKey
	if parent == nil {
		signer, signerKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func keyPEM(k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err) // a P-256 key always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
