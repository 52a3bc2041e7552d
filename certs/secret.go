package certs

import (
	"bytes"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// The label that marks a Secret whose certificates lbgate owns. A Secret
// without it is never overwritten: user-supplied certificates stay theirs.
const (
	LabelManaged      = "lbgate.dev/managed-certificate"
	LabelManagedValue = "true"
)

// The keys of the Secret data.
const (
	// KeyCACert holds the current CA certificate (PEM).
	KeyCACert = "ca.crt"
	// KeyCAKey holds the current CA private key (PEM).
	KeyCAKey = "ca.key"
	// KeyTLSCert holds the serving certificate, then any intermediates (PEM).
	KeyTLSCert = corev1.TLSCertKey
	// KeyTLSKey holds the serving private key (PEM).
	KeyTLSKey = corev1.TLSPrivateKeyKey
	// KeyPreviousCACert holds the CA being rotated out, only during a rotation.
	KeyPreviousCACert = "ca-previous.crt"
)

// IsManaged reports whether lbgate owns the Secret's certificates.
func IsManaged(secret *corev1.Secret) bool {
	return secret != nil && secret.Labels[LabelManaged] == LabelManagedValue
}

// Encode returns the bundle as Secret data. The values are copies.
func (b *Bundle) Encode() map[string][]byte {
	data := map[string][]byte{
		KeyCACert:  bytes.Clone(b.CA.CertPEM),
		KeyTLSCert: bytes.Clone(b.Serving.CertPEM),
		KeyTLSKey:  bytes.Clone(b.Serving.KeyPEM),
	}
	if len(b.CA.KeyPEM) > 0 {
		data[KeyCAKey] = bytes.Clone(b.CA.KeyPEM)
	}
	if b.PreviousCA != nil {
		data[KeyPreviousCACert] = bytes.Clone(b.PreviousCA.CertPEM)
	}
	return data
}

// WriteSecret puts the bundle into secret: the managed label, type
// kubernetes.io/tls and exactly the bundle's data. It refuses, with
// ErrNotManaged, a Secret that already exists (has a resourceVersion) without
// the managed label; a new Secret object is labelled.
func (b *Bundle) WriteSecret(secret *corev1.Secret) error {
	if secret.ResourceVersion != "" && !IsManaged(secret) {
		return fmt.Errorf("write certificates to Secret %s/%s: %w", secret.Namespace, secret.Name, ErrNotManaged)
	}
	if secret.Labels == nil {
		secret.Labels = map[string]string{}
	}
	secret.Labels[LabelManaged] = LabelManagedValue
	secret.Type = corev1.SecretTypeTLS
	secret.Data = b.Encode()
	secret.StringData = nil
	return nil
}

// NewSecret returns a new managed Secret holding the bundle.
func (b *Bundle) NewSecret(namespace, name string) *corev1.Secret {
	s := &corev1.Secret{}
	s.Namespace, s.Name = namespace, name
	_ = b.WriteSecret(s) // cannot fail: the object has no resourceVersion
	return s
}

// SameData reports whether secret already holds exactly the bundle's data, so
// a writer can skip a no-op update.
func (b *Bundle) SameData(secret *corev1.Secret) bool {
	return secret != nil && maps.EqualFunc(secret.Data, b.Encode(), bytes.Equal)
}

// Decode parses Secret data written by Encode: ca.crt, ca.key, tls.crt and
// tls.key are required, ca-previous.crt is optional. It checks the encoding
// only; call Validate for the rest. Errors are *ValidationError.
func Decode(data map[string][]byte) (*Bundle, error) {
	for _, k := range []string{KeyCACert, KeyCAKey} {
		if len(bytes.TrimSpace(data[k])) == 0 {
			return nil, invalid(ReasonMissing, k, nil, "key absent or empty")
		}
	}
	return DecodeServing(data)
}

// DecodeServing parses a Secret lbgate does not own (cert-manager or
// user-supplied): tls.crt and tls.key are required, ca.crt, ca.key and
// ca-previous.crt are used when present. Errors are *ValidationError.
func DecodeServing(data map[string][]byte) (*Bundle, error) {
	b := &Bundle{}
	leafs, err := parseCertificates(KeyTLSCert, data[KeyTLSCert])
	if err != nil {
		return nil, err
	}
	b.Serving = KeyPair{Cert: leafs[0], Chain: leafs[1:], CertPEM: bytes.Clone(data[KeyTLSCert])}
	if b.Serving.Key, err = parsePrivateKey(KeyTLSKey, data[KeyTLSKey]); err != nil {
		return nil, err
	}
	b.Serving.KeyPEM = bytes.Clone(data[KeyTLSKey])

	if len(bytes.TrimSpace(data[KeyCACert])) > 0 {
		cas, err := parseCertificates(KeyCACert, data[KeyCACert])
		if err != nil {
			return nil, err
		}
		b.CA = KeyPair{Cert: cas[0], Chain: cas[1:], CertPEM: bytes.Clone(data[KeyCACert])}
	}
	if len(bytes.TrimSpace(data[KeyCAKey])) > 0 {
		if b.CA.Cert == nil {
			return nil, invalid(ReasonMissing, KeyCACert, nil, "CA key present without CA certificate")
		}
		if b.CA.Key, err = parsePrivateKey(KeyCAKey, data[KeyCAKey]); err != nil {
			return nil, err
		}
		b.CA.KeyPEM = bytes.Clone(data[KeyCAKey])
	}
	if len(bytes.TrimSpace(data[KeyPreviousCACert])) > 0 {
		prev, err := parseCertificates(KeyPreviousCACert, data[KeyPreviousCACert])
		if err != nil {
			return nil, err
		}
		b.PreviousCA = &KeyPair{Cert: prev[0], Chain: prev[1:], CertPEM: bytes.Clone(data[KeyPreviousCACert])}
	}
	return b, nil
}

// Load decodes managed Secret data and validates it at now for wantNames:
// the one call the self-repair controller needs to judge a Secret. When the
// data decodes but does not validate, the bundle is returned with the error,
// so a caller can, for example, keep a good CA and only reissue the leaf.
func Load(data map[string][]byte, now time.Time, wantNames []string) (*Bundle, error) {
	b, err := Decode(data)
	if err != nil {
		return nil, err
	}
	if err := b.Validate(now, wantNames); err != nil {
		return b, err
	}
	return b, nil
}
