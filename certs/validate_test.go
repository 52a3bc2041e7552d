package certs

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
	"time"
)

func TestLoadDetectsEveryDefect(t *testing.T) {
	clock := newFakeClock(t0)
	opts := testOptions(clock)
	good := mustGenerate(t, opts)
	other := mustGenerate(t, opts) // a different CA and leaf for the same names
	otherSvc := opts
	otherSvc.ServiceName = "someone-else"
	wrongSAN, err := good.RenewLeaf(otherSvc)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := good.RotateCA(opts)
	if err != nil {
		t.Fatal(err)
	}
	data := good.Encode()

	// Hand-made certificates for defects Generate never produces.
	clientOnly := handMade(t, &x509.Certificate{
		DNSNames: []string{testHost}, NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, &good.CA)
	shortCA := handMade(t, &x509.Certificate{
		NotBefore: t0.Add(-2 * time.Hour), NotAfter: t0.Add(-time.Minute),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, nil)
	outlivesCA := handMade(t, &x509.Certificate{
		DNSNames: []string{testHost}, NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, &shortCA)
	notCA := handMade(t, &x509.Certificate{
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
	}, nil)

	badDER := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("definitely not DER")})
	truncated := good.Serving.CertPEM[:len(good.Serving.CertPEM)/2]
	names := opts.Names()

	tests := []struct {
		name     string
		data     map[string][]byte
		now      time.Time
		want     []string
		reason   Reason
		item     string
		wantBoth bool // Load returns the bundle with the error
	}{
		{name: "valid", data: data},
		{name: "valid during rotation, leaf from previous CA", data: rotated.Encode()},
		{name: "valid with previous CA and new leaf", data: mustApply(t, rotated, ActionIssueFromNewCA, opts).Encode()},
		{name: "empty secret", data: map[string][]byte{}, reason: ReasonMissing, item: KeyCACert},
		{name: "missing ca.key", data: withData(data, KeyCAKey, nil), reason: ReasonMissing, item: KeyCAKey},
		{name: "missing tls.crt", data: withData(data, KeyTLSCert, nil), reason: ReasonMissing, item: KeyTLSCert},
		{name: "blank tls.key", data: withData(data, KeyTLSKey, "  \n"), reason: ReasonMissing, item: KeyTLSKey},
		{name: "garbage ca.crt", data: withData(data, KeyCACert, "hello"), reason: ReasonBadPEM, item: KeyCACert},
		{name: "garbage tls.crt", data: withData(data, KeyTLSCert, "\x00\x01garbage"), reason: ReasonBadPEM, item: KeyTLSCert},
		{name: "garbage tls.key", data: withData(data, KeyTLSKey, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), reason: ReasonBadPEM, item: KeyTLSKey},
		{name: "garbage ca.key", data: withData(data, KeyCAKey, "nope"), reason: ReasonBadPEM, item: KeyCAKey},
		{name: "garbage ca-previous.crt", data: withData(data, KeyPreviousCACert, "nope"), reason: ReasonBadPEM, item: KeyPreviousCACert},
		{name: "PEM around bad DER", data: withData(data, KeyTLSCert, badDER), reason: ReasonBadPEM, item: KeyTLSCert},
		{name: "truncated PEM", data: withData(data, KeyTLSCert, truncated), reason: ReasonBadPEM, item: KeyTLSCert},
		{name: "garbage after certificate", data: withData(data, KeyTLSCert, append(append([]byte{}, good.Serving.CertPEM...), "trailing"...)), reason: ReasonBadPEM, item: KeyTLSCert},
		{name: "key where certificate belongs", data: withData(data, KeyTLSCert, good.Serving.KeyPEM), reason: ReasonBadPEM, item: KeyTLSCert},
		{name: "certificate where key belongs", data: withData(data, KeyTLSKey, good.Serving.CertPEM), reason: ReasonBadPEM, item: KeyTLSKey},
		{name: "serving key of another bundle", data: withData(data, KeyTLSKey, other.Serving.KeyPEM), reason: ReasonKeyMismatch, item: KeyTLSKey, wantBoth: true},
		{name: "CA key of another bundle", data: withData(data, KeyCAKey, other.CA.KeyPEM), reason: ReasonKeyMismatch, item: KeyCAKey, wantBoth: true},
		{name: "serving certificate for another Service", data: wrongSAN.Encode(), reason: ReasonMissingSAN, item: KeyTLSCert, wantBoth: true},
		{name: "loopback wanted but absent", data: data, want: append(append([]string{}, names...), "127.0.0.1"), reason: ReasonMissingSAN, item: KeyTLSCert, wantBoth: true},
		{name: "serving certificate expired", data: data, now: good.Serving.Cert.NotAfter.Add(time.Second), reason: ReasonExpired, item: KeyTLSCert, wantBoth: true},
		{name: "serving certificate not yet valid", data: data, now: good.Serving.Cert.NotBefore.Add(-time.Second), reason: ReasonNotYetValid, item: KeyTLSCert, wantBoth: true},
		{name: "CA expired, leaf still valid", data: withData(data, KeyCACert, shortCA.CertPEM, KeyCAKey, shortCA.KeyPEM, KeyTLSCert, outlivesCA.CertPEM, KeyTLSKey, outlivesCA.KeyPEM), reason: ReasonExpired, item: KeyCACert, wantBoth: true},
		{name: "leaf signed by a different CA", data: withData(data, KeyCACert, other.CA.CertPEM, KeyCAKey, other.CA.KeyPEM), reason: ReasonNotSignedByCA, item: KeyTLSCert, wantBoth: true},
		{name: "leaf from another bundle", data: withData(data, KeyTLSCert, other.Serving.CertPEM, KeyTLSKey, other.Serving.KeyPEM), reason: ReasonNotSignedByCA, item: KeyTLSCert, wantBoth: true},
		{name: "ca.crt is not a CA", data: withData(data, KeyCACert, notCA.CertPEM, KeyCAKey, notCA.KeyPEM), reason: ReasonNotCA, item: KeyCACert, wantBoth: true},
		{name: "leaf only for client auth", data: withData(data, KeyTLSCert, clientOnly.CertPEM, KeyTLSKey, clientOnly.KeyPEM), reason: ReasonWrongUsage, item: KeyTLSCert, wantBoth: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now, want := tt.now, tt.want
			if now.IsZero() {
				now = t0
			}
			if want == nil {
				want = names
			}
			b, err := Load(tt.data, now, want)
			if tt.reason == "" {
				if err != nil || b == nil {
					t.Fatalf("Load: %v, want a valid bundle", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Load error %v (%T), want a *ValidationError", err, err)
			}
			if ve.Reason != tt.reason || ve.Item != tt.item {
				t.Errorf("got %s on %s (%v), want %s on %s", ve.Reason, ve.Item, err, tt.reason, tt.item)
			}
			if ReasonOf(err) != tt.reason {
				t.Errorf("ReasonOf = %q", ReasonOf(err))
			}
			if (b != nil) != tt.wantBoth {
				t.Errorf("bundle returned with error: %v, want %v", b != nil, tt.wantBoth)
			}
		})
	}
}

func TestValidateServingOnlyBundle(t *testing.T) {
	// A Secret lbgate does not own may carry only tls.crt and tls.key: the leaf
	// is still checked, and a CA, when present, is used.
	b := mustGenerate(t, testOptions(newFakeClock(t0)))
	names := []string{testHost}
	onlyLeaf, err := DecodeServing(withData(b.Encode(), KeyCACert, nil, KeyCAKey, nil))
	if err != nil {
		t.Fatal(err)
	}
	if onlyLeaf.CanSign() {
		t.Error("a bundle without ca.key claims it can sign")
	}
	if err := onlyLeaf.Validate(t0, names); err != nil {
		t.Errorf("leaf-only bundle: %v", err)
	}
	if err := onlyLeaf.Validate(b.Serving.Cert.NotAfter.Add(time.Second), names); ReasonOf(err) != ReasonExpired {
		t.Errorf("expired leaf-only bundle: %v, want Expired", err)
	}
	withCA, err := DecodeServing(withData(b.Encode(), KeyCAKey, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := withCA.Validate(t0, names); err != nil {
		t.Errorf("bundle with CA but no CA key: %v", err)
	}
	if _, err := Decode(withData(b.Encode(), KeyCAKey, nil)); ReasonOf(err) != ReasonMissing {
		t.Errorf("Decode (managed layout) without ca.key: %v, want Missing", err)
	}
	if _, err := DecodeServing(withData(b.Encode(), KeyCACert, nil)); ReasonOf(err) != ReasonMissing {
		t.Errorf("ca.key without ca.crt: %v, want Missing", err)
	}
}

func TestValidationErrorMessage(t *testing.T) {
	b := mustGenerate(t, testOptions(newFakeClock(t0)))
	err := b.Validate(t0, []string{"other.svc"})
	want := `tls.crt: MissingSAN: "other.svc" not covered`
	if err == nil || len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Errorf("message %q, want it to start with %q", err, want)
	}
	if errors.Unwrap(err) == nil {
		t.Error("MissingSAN should wrap the x509 hostname error")
	}
}

func mustApply(t *testing.T, b *Bundle, a Action, opts Options) *Bundle {
	t.Helper()
	out, err := b.Apply(a, opts)
	if err != nil {
		t.Fatalf("Apply(%s): %v", a, err)
	}
	return out
}

func TestValidateCA(t *testing.T) {
	clock := newFakeClock(t0)
	opts := testOptions(clock)
	good := mustGenerate(t, opts)
	other := mustGenerate(t, opts)
	notCA := handMade(t, &x509.Certificate{
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
	}, nil)
	servingOnly, err := DecodeServing(withData(good.Encode(), KeyCAKey, nil))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		b      *Bundle
		now    time.Time
		reason Reason
		item   string
	}{
		{name: "good CA", b: good, now: t0},
		{name: "good CA, broken leaf does not matter", b: &Bundle{CA: good.CA, Serving: other.Serving}, now: t0},
		{name: "no CA key", b: servingOnly, now: t0, reason: ReasonMissing, item: KeyCAKey},
		{name: "no CA", b: &Bundle{Serving: good.Serving}, now: t0, reason: ReasonMissing, item: KeyCACert},
		{name: "CA key of another CA", b: &Bundle{CA: KeyPair{Cert: good.CA.Cert, Key: other.CA.Key}}, now: t0, reason: ReasonKeyMismatch, item: KeyCAKey},
		{name: "not a CA", b: &Bundle{CA: notCA}, now: t0, reason: ReasonNotCA, item: KeyCACert},
		{name: "CA expired", b: good, now: good.CA.Cert.NotAfter.Add(time.Second), reason: ReasonExpired, item: KeyCACert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.b.ValidateCA(tt.now)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("ValidateCA: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Reason != tt.reason || ve.Item != tt.item {
				t.Fatalf("ValidateCA = %v, want %s on %s", err, tt.reason, tt.item)
			}
		})
	}
}
