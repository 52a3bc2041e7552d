package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
)

// PEM block types.
const (
	pemCertificate = "CERTIFICATE"
	pemPrivateKey  = "PRIVATE KEY"
	pemECKey       = "EC PRIVATE KEY"
	pemRSAKey      = "RSA PRIVATE KEY"
)

// KeyPair is one certificate, the certificates that follow it in its PEM
// (intermediates for a leaf, further CAs for a CA bundle), its private key
// when held, and the PEM they were built from.
type KeyPair struct {
	// Cert is the first certificate of CertPEM.
	Cert *x509.Certificate
	// Chain holds the certificates after the first one in CertPEM, if any.
	Chain []*x509.Certificate
	// Key is the private key of Cert, or nil when it is not held.
	Key crypto.Signer

	// CertPEM and KeyPEM are the encoded forms; KeyPEM is empty when Key is nil.
	CertPEM []byte
	KeyPEM  []byte
}

// Certificates returns Cert followed by Chain.
func (kp *KeyPair) Certificates() []*x509.Certificate {
	if kp == nil || kp.Cert == nil {
		return nil
	}
	return append([]*x509.Certificate{kp.Cert}, kp.Chain...)
}

// newKeyPair encodes a freshly issued certificate and its key.
func newKeyPair(der []byte, key crypto.Signer) (KeyPair, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return KeyPair{}, fmt.Errorf("parse issued certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("encode private key: %w", err)
	}
	return KeyPair{
		Cert:    cert,
		Key:     key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: keyDER}),
	}, nil
}

// parseCertificates returns every certificate in data, which must hold at
// least one and nothing but CERTIFICATE blocks and whitespace.
func parseCertificates(item string, data []byte) ([]*x509.Certificate, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, invalid(ReasonMissing, item, nil, "empty")
	}
	var certs []*x509.Certificate
	rest := data
	for len(bytes.TrimSpace(rest)) > 0 {
		block, next := pem.Decode(rest)
		if block == nil {
			return nil, invalid(ReasonBadPEM, item, nil, "no PEM block after %d certificate(s)", len(certs))
		}
		if block.Type != pemCertificate {
			return nil, invalid(ReasonBadPEM, item, nil, "unexpected PEM block %q", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, invalid(ReasonBadPEM, item, err, "certificate %d", len(certs)+1)
		}
		certs = append(certs, cert)
		rest = next
	}
	return certs, nil
}

// parsePrivateKey returns the one private key in data (PKCS#8, SEC 1 or PKCS#1).
func parsePrivateKey(item string, data []byte) (crypto.Signer, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, invalid(ReasonMissing, item, nil, "empty")
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, invalid(ReasonBadPEM, item, nil, "no PEM block")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, invalid(ReasonBadPEM, item, nil, "data after the private key")
	}
	if !strings.HasSuffix(block.Type, pemPrivateKey) {
		return nil, invalid(ReasonBadPEM, item, nil, "unexpected PEM block %q", block.Type)
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case pemECKey:
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case pemRSAKey:
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, invalid(ReasonBadPEM, item, err, "private key")
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, invalid(ReasonBadPEM, item, nil, "key type %T cannot sign", key)
	}
	return signer, nil
}

// keyMatches reports whether key is the private key of cert.
func keyMatches(cert *x509.Certificate, key crypto.Signer) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := key.Public().(equaler)
	return ok && pub.Equal(cert.PublicKey)
}

// checkKeyPair reports a KeyMismatch when key is not cert's private key.
func checkKeyPair(item string, cert *x509.Certificate, key crypto.Signer) error {
	if !keyMatches(cert, key) {
		return invalid(ReasonKeyMismatch, item, nil, "%s key does not match certificate %q (serial %x)",
			keyKind(key), cert.Subject.CommonName, cert.SerialNumber)
	}
	return nil
}

func keyKind(key crypto.Signer) string {
	switch key.(type) {
	case *ecdsa.PrivateKey:
		return "ECDSA"
	case *rsa.PrivateKey:
		return "RSA"
	case ed25519.PrivateKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", key)
}
