package certs

import (
	"bytes"
	"testing"
	"time"
)

func TestVerifies(t *testing.T) {
	b := mustGenerate(t, realOptions())
	other := mustGenerate(t, realOptions())
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	now := time.Now()

	tests := []struct {
		name     string
		caBundle []byte
		at       time.Time
		reason   Reason
	}{
		{name: "own CA", caBundle: b.CA.CertPEM},
		{name: "own CA after another", caBundle: join(other.CA.CertPEM, b.CA.CertPEM)},
		{name: "own CA before another", caBundle: join(b.CA.CertPEM, other.CA.CertPEM)},
		{name: "several CAs, whitespace between", caBundle: join(other.CA.CertPEM, []byte("\n\n"), b.CA.CertPEM, []byte("\n"))},
		{name: "only another CA", caBundle: other.CA.CertPEM, reason: ReasonNotSignedByCA},
		{name: "leaf itself pinned (Go clients, so the apiserver, trust it)", caBundle: b.Serving.CertPEM},
		{name: "another leaf pinned", caBundle: other.Serving.CertPEM, reason: ReasonNotSignedByCA},
		{name: "empty", caBundle: nil, reason: ReasonMissing},
		{name: "garbage", caBundle: []byte("Zm9vYmFy"), reason: ReasonBadPEM},
		{name: "good CA then garbage", caBundle: join(b.CA.CertPEM, []byte("garbage")), reason: ReasonBadPEM},
		{name: "after expiry", caBundle: b.CA.CertPEM, at: b.Serving.Cert.NotAfter.Add(time.Second), reason: ReasonExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.at
			if at.IsZero() {
				at = now
			}
			err := VerifiesAt(tt.caBundle, at, b.Serving.Cert)
			if got := ReasonOf(err); got != tt.reason {
				t.Fatalf("VerifiesAt: %v (reason %q), want reason %q", err, got, tt.reason)
			}
			if tt.at.IsZero() {
				if got := ReasonOf(Verifies(tt.caBundle, b.Serving.Cert)); got != tt.reason {
					t.Errorf("Verifies reason %q, want %q", got, tt.reason)
				}
			}
		})
	}
	if err := Verifies(b.CA.CertPEM, nil); ReasonOf(err) != ReasonMissing {
		t.Errorf("Verifies(nil leaf) = %v, want Missing", err)
	}
}

func TestCABundleHas(t *testing.T) {
	b := mustGenerate(t, realOptions())
	other := mustGenerate(t, realOptions())
	both := append(append([]byte{}, other.CA.CertPEM...), b.CA.CertPEM...)
	tests := []struct {
		name     string
		caBundle []byte
		want     bool
	}{
		{"exact", b.CA.CertPEM, true},
		{"among others", both, true},
		{"absent", other.CA.CertPEM, false},
		{"garbage", []byte("x"), false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CABundleHas(tt.caBundle, b.CA.Cert); got != tt.want {
				t.Errorf("CABundleHas = %v, want %v", got, tt.want)
			}
		})
	}
	if !CABundleHas(both, b.CA.Cert, other.CA.Cert) || CABundleHas(b.CA.CertPEM, b.CA.Cert, other.CA.Cert) {
		t.Error("CABundleHas with several CAs must need all of them")
	}
}
