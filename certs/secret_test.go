package certs

import (
	"bytes"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	clock := newFakeClock(t0)
	opts := testOptions(clock)
	fresh := mustGenerate(t, opts)
	rotating := mustApply(t, fresh, ActionRotateCA, opts)

	for name, b := range map[string]*Bundle{"fresh": fresh, "rotating": rotating} {
		t.Run(name, func(t *testing.T) {
			data := b.Encode()
			wantKeys := []string{KeyCACert, KeyCAKey, KeyTLSCert, KeyTLSKey}
			if b.PreviousCA != nil {
				wantKeys = append(wantKeys, KeyPreviousCACert)
			}
			if len(data) != len(wantKeys) {
				t.Errorf("Encode keys %d, want %v", len(data), wantKeys)
			}
			for _, k := range wantKeys {
				if len(data[k]) == 0 {
					t.Errorf("Encode: %s empty", k)
				}
			}
			got, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if !got.CA.Cert.Equal(b.CA.Cert) || !got.Serving.Cert.Equal(b.Serving.Cert) {
				t.Error("decoded certificates differ")
			}
			if !keyMatches(got.CA.Cert, got.CA.Key) || !keyMatches(got.Serving.Cert, got.Serving.Key) {
				t.Error("decoded keys do not match")
			}
			if (got.PreviousCA != nil) != (b.PreviousCA != nil) || !bytes.Equal(got.CABundle(), b.CABundle()) {
				t.Error("previous CA lost in the round trip")
			}
			if !b.SameData(&corev1.Secret{Data: data}) {
				t.Error("SameData false on its own encoding")
			}
			data[KeyTLSCert][0] ^= 0xff // Encode hands out copies
			if bytes.Equal(data[KeyTLSCert], b.Serving.CertPEM) {
				t.Error("Encode shares its byte slices with the bundle")
			}
		})
	}
}

func TestDecodeAcceptsOtherKeyEncodings(t *testing.T) {
	// cert-manager writes "EC PRIVATE KEY" (SEC 1) by default.
	b := mustGenerate(t, testOptions(newFakeClock(t0)))
	sec1 := handMadeSEC1(t, b)
	got, err := DecodeServing(withData(b.Encode(), KeyTLSKey, sec1))
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Validate(t0, nil); err != nil {
		t.Error(err)
	}
}

func TestIsManaged(t *testing.T) {
	tests := []struct {
		name   string
		secret *corev1.Secret
		want   bool
	}{
		{"nil", nil, false},
		{"no labels", &corev1.Secret{}, false},
		{"other labels", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}}}, false},
		{"label false", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{LabelManaged: "false"}}}, false},
		{"label true", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{LabelManaged: "true"}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsManaged(tt.secret); got != tt.want {
				t.Errorf("IsManaged = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWriteSecretNeverTakesOverUserSecrets(t *testing.T) {
	b := mustGenerate(t, testOptions(newFakeClock(t0)))
	userData := map[string][]byte{KeyTLSCert: []byte("user cert")}

	user := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "n", ResourceVersion: "7", Labels: map[string]string{"app": "x"}}, Data: userData}
	if err := b.WriteSecret(user); !errors.Is(err, ErrNotManaged) {
		t.Fatalf("WriteSecret on a user Secret: %v, want ErrNotManaged", err)
	}
	if string(user.Data[KeyTLSCert]) != "user cert" || IsManaged(user) {
		t.Error("user Secret was modified")
	}

	managed := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "n", ResourceVersion: "7",
		Labels: map[string]string{"app": "x", LabelManaged: LabelManagedValue}}, Type: corev1.SecretTypeOpaque, Data: userData}
	if err := b.WriteSecret(managed); err != nil {
		t.Fatal(err)
	}
	if !b.SameData(managed) || managed.Type != corev1.SecretTypeTLS || managed.Labels["app"] != "x" {
		t.Errorf("managed Secret not rewritten properly: type %s labels %v", managed.Type, managed.Labels)
	}

	fresh := b.NewSecret("lbgate-system", "lbgate-webhook-cert")
	if !IsManaged(fresh) || fresh.Name != "lbgate-webhook-cert" || fresh.Namespace != "lbgate-system" || !b.SameData(fresh) {
		t.Errorf("NewSecret: %+v", fresh.ObjectMeta)
	}
}
