package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"sync"
	"testing"
	"time"
)

// t0 is the fake clock's start.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

const (
	testService   = "lbgate-webhook"
	testNamespace = "lbgate-system"
	testHost      = testService + "." + testNamespace + ".svc"
)

// testOptions issues for the test Service at clock.
func testOptions(clock *fakeClock) Options {
	return Options{ServiceName: testService, Namespace: testNamespace, Now: clock.Now,
		CALifetime: 30 * time.Hour, LeafLifetime: 9 * time.Hour}
}

func mustGenerate(t *testing.T, opts Options) *Bundle {
	t.Helper()
	b, err := Generate(opts)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return b
}

// realOptions issues at the real time, for handshakes.
func realOptions() Options {
	return Options{ServiceName: testService, Namespace: testNamespace, Loopback: true}
}

// handMade issues a certificate from tmpl, signed by parent (self-signed when
// parent is nil), for the cases Generate refuses to produce.
func handMade(t *testing.T, tmpl *x509.Certificate, parent *KeyPair) KeyPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	if tmpl.Subject.CommonName == "" {
		tmpl.Subject = pkix.Name{CommonName: "hand-made"}
	}
	signerCert, signerKey := tmpl, any(key)
	if parent != nil {
		signerCert, signerKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := newKeyPair(der, key)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// withData returns a copy of data with the given keys replaced; a nil value deletes.
func withData(data map[string][]byte, kv ...any) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range data {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		switch v := kv[i+1].(type) {
		case nil:
			delete(out, k)
		case string:
			out[k] = []byte(v)
		case []byte:
			out[k] = v
		}
	}
	return out
}

// handMadeSEC1 returns b's serving key as an "EC PRIVATE KEY" PEM block.
func handMadeSEC1(t *testing.T, b *Bundle) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(b.Serving.Key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}
