package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestGenerateCertificateProperties(t *testing.T) {
	clock := newFakeClock(t0)
	b := mustGenerate(t, testOptions(clock))

	for name, kp := range map[string]KeyPair{"CA": b.CA, "leaf": b.Serving} {
		key, ok := kp.Key.(*ecdsa.PrivateKey)
		if !ok || key.Curve != elliptic.P256() {
			t.Errorf("%s key is %T, want ECDSA P-256", name, kp.Key)
		}
		if pub, ok := kp.Cert.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
			t.Errorf("%s certificate key is not ECDSA P-256", name)
		}
		if kp.Cert.SerialNumber.Sign() <= 0 || kp.Cert.SerialNumber.BitLen() > 128 {
			t.Errorf("%s serial %x: want positive, at most 128 bits", name, kp.Cert.SerialNumber)
		}
		if len(kp.Cert.SubjectKeyId) != 20 {
			t.Errorf("%s SubjectKeyId has %d bytes, want 20", name, len(kp.Cert.SubjectKeyId))
		}
		if !bytes.Contains(kp.CertPEM, []byte("BEGIN CERTIFICATE")) || !bytes.Contains(kp.KeyPEM, []byte("BEGIN PRIVATE KEY")) {
			t.Errorf("%s PEM types wrong", name)
		}
	}
	ca, leaf := b.CA.Cert, b.Serving.Cert
	if !ca.IsCA || !ca.BasicConstraintsValid || !ca.MaxPathLenZero || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA constraints: IsCA=%v MaxPathLenZero=%v usage=%v", ca.IsCA, ca.MaxPathLenZero, ca.KeyUsage)
	}
	if leaf.IsCA {
		t.Error("leaf is a CA")
	}
	if !bytes.Equal(leaf.AuthorityKeyId, ca.SubjectKeyId) {
		t.Errorf("leaf AuthorityKeyId %x, want CA SubjectKeyId %x", leaf.AuthorityKeyId, ca.SubjectKeyId)
	}
	if bytes.Equal(leaf.SubjectKeyId, ca.SubjectKeyId) {
		t.Error("leaf and CA share a SubjectKeyId")
	}
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		t.Errorf("leaf not signed by CA: %v", err)
	}
	wantDNS := []string{testHost, testHost + ".cluster.local"}
	if !slices.Equal(leaf.DNSNames, wantDNS) || len(leaf.IPAddresses) != 0 {
		t.Errorf("SANs DNS %v IP %v, want DNS %v and no IP", leaf.DNSNames, leaf.IPAddresses, wantDNS)
	}
	if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("leaf ExtKeyUsage %v, want server auth", leaf.ExtKeyUsage)
	}
	if got := leaf.NotAfter.Sub(t0); got != 9*time.Hour {
		t.Errorf("leaf expires %s after issue, want 9h", got)
	}
	if got := ca.NotAfter.Sub(t0); got != 30*time.Hour {
		t.Errorf("CA expires %s after issue, want 30h", got)
	}
	if got := t0.Sub(leaf.NotBefore); got != time.Minute {
		t.Errorf("leaf backdated by %s, want 1m", got)
	}
	if !strings.HasPrefix(ca.Subject.CommonName, caCommonNamePrefix) || leaf.Subject.CommonName != testHost {
		t.Errorf("subjects CA %q leaf %q", ca.Subject.CommonName, leaf.Subject.CommonName)
	}
	if b.PreviousCA != nil || !b.CanSign() {
		t.Error("fresh bundle: want no previous CA and a CA key")
	}
	if err := b.Validate(t0, testOptions(clock).Names()); err != nil {
		t.Errorf("fresh bundle does not validate: %v", err)
	}
}

func TestGenerateLoopbackSANs(t *testing.T) {
	opts := testOptions(newFakeClock(t0))
	opts.Loopback = true
	opts.ExtraDNSNames = []string{"webhook.example"}
	opts.ExtraIPs = []net.IP{net.ParseIP("127.0.0.9")}
	b := mustGenerate(t, opts)
	leaf := b.Serving.Cert
	wantDNS := []string{testHost, testHost + ".cluster.local", "localhost", "webhook.example"}
	if !slices.Equal(leaf.DNSNames, wantDNS) {
		t.Errorf("DNS SANs %v, want %v", leaf.DNSNames, wantDNS)
	}
	if len(leaf.IPAddresses) != 2 || !leaf.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) || !leaf.IPAddresses[1].Equal(net.ParseIP("127.0.0.9")) {
		t.Errorf("IP SANs %v, want 127.0.0.1 and 127.0.0.9", leaf.IPAddresses)
	}
	if err := b.Validate(t0, opts.Names()); err != nil {
		t.Errorf("Validate(%v): %v", opts.Names(), err)
	}
}

func TestGenerateRandomSerials(t *testing.T) {
	seen := map[string]bool{}
	for range 8 {
		b := mustGenerate(t, realOptions())
		for _, c := range []*x509.Certificate{b.CA.Cert, b.Serving.Cert} {
			s := c.SerialNumber.String()
			if seen[s] {
				t.Fatalf("serial %s issued twice", s)
			}
			seen[s] = true
		}
	}
}

func TestGenerateDefaultLifetimes(t *testing.T) {
	b := mustGenerate(t, Options{ServiceName: "s", Namespace: "n", Now: newFakeClock(t0).Now})
	if got := b.CA.Cert.NotAfter.Sub(t0); got != DefaultCALifetime {
		t.Errorf("CA lifetime %s, want %s", got, DefaultCALifetime)
	}
	if got := b.Serving.Cert.NotAfter.Sub(t0); got != DefaultLeafLifetime {
		t.Errorf("leaf lifetime %s, want %s", got, DefaultLeafLifetime)
	}
}

func TestGenerateShortLifetimesKeepProportions(t *testing.T) {
	// Seconds-long lifetimes (the envtest rotation test) are backdated by a
	// tenth, not a minute, so a fresh certificate does not need renewal at once.
	opts := Options{ServiceName: "s", Namespace: "n", Now: newFakeClock(t0).Now, CALifetime: 30 * time.Second, LeafLifetime: 9 * time.Second}
	b := mustGenerate(t, opts)
	if b.NeedsRenewal(t0) || b.NeedsCARotation(t0) {
		t.Fatalf("fresh short-lived bundle already due: renew at %s, rotate at %s", b.RenewAt(), b.RotateCAAt())
	}
	if got := t0.Sub(b.Serving.Cert.NotBefore); got > time.Second {
		t.Errorf("9s leaf backdated by %s, want under 1s", got)
	}
}

func TestGenerateRejectsBadOptions(t *testing.T) {
	now := newFakeClock(t0).Now
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no names", Options{Now: now}, "no name"},
		{"namespace without service", Options{Namespace: "n", Now: now}, "set together"},
		{"service without namespace", Options{ServiceName: "s", Now: now}, "set together"},
		{"leaf as long as CA", Options{ServiceName: "s", Namespace: "n", CALifetime: time.Hour, LeafLifetime: time.Hour}, "must be longer"},
		{"leaf longer than default CA", Options{ServiceName: "s", Namespace: "n", LeafLifetime: 3 * DefaultCALifetime}, "must be longer"},
		{"negative", Options{ServiceName: "s", Namespace: "n", CALifetime: -time.Hour}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Generate(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Generate error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestLeafNeverOutlivesCA(t *testing.T) {
	clock := newFakeClock(t0)
	opts := testOptions(clock)
	b := mustGenerate(t, opts)
	clock.Set(b.CA.Cert.NotAfter.Add(-2 * time.Hour))
	renewed, err := b.RenewLeaf(opts)
	if err != nil {
		t.Fatal(err)
	}
	if !renewed.Serving.Cert.NotAfter.Equal(b.CA.Cert.NotAfter) {
		t.Errorf("leaf expires %s, CA %s: want the leaf capped at the CA", renewed.Serving.Cert.NotAfter, b.CA.Cert.NotAfter)
	}
}
