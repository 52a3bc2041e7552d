package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
)

// Bundle is everything the webhook's TLS needs: the CA (with its key when
// lbgate owns it), the serving certificate and key, and during a CA rotation
// the previous CA, which stays in the caBundle until every replica serves a
// certificate from the new CA.
type Bundle struct {
	// CA is the current CA. Its Key is nil for a bundle lbgate does not own.
	CA KeyPair
	// Serving is the serving certificate (with any intermediates) and its key.
	Serving KeyPair
	// PreviousCA is the CA being rotated out (certificate only), or nil.
	PreviousCA *KeyPair
}

// CanSign reports whether the bundle holds the CA key, so lbgate can renew and
// rotate it.
func (b *Bundle) CanSign() bool { return b.CA.Key != nil && b.CA.Cert != nil }

// CABundle returns the PEM the webhook configuration's caBundle must hold:
// the previous CA (while a rotation keeps it) followed by the current CA.
func (b *Bundle) CABundle() []byte {
	var buf bytes.Buffer
	if b.PreviousCA != nil {
		writePEM(&buf, b.PreviousCA.CertPEM)
	}
	writePEM(&buf, b.CA.CertPEM)
	return buf.Bytes()
}

// CACertificates returns the CA certificates CABundle holds, previous first.
func (b *Bundle) CACertificates() []*x509.Certificate {
	var cas []*x509.Certificate
	if b.PreviousCA != nil {
		cas = append(cas, b.PreviousCA.Certificates()...)
	}
	return append(cas, b.CA.Certificates()...)
}

// TLSCertificate returns the serving certificate as a tls.Certificate with
// its Leaf set.
func (b *Bundle) TLSCertificate() (*tls.Certificate, error) {
	if b.Serving.Cert == nil || b.Serving.Key == nil {
		return nil, invalid(ReasonMissing, KeyTLSCert, nil, "bundle has no serving certificate and key")
	}
	cert := &tls.Certificate{PrivateKey: b.Serving.Key, Leaf: b.Serving.Cert}
	for _, c := range b.Serving.Certificates() {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return cert, nil
}

// LeafFromPreviousCA reports whether the serving certificate was signed by the
// previous CA, the state right after RotateCA: the caBundle must take the new
// CA before the leaf is reissued from it.
func (b *Bundle) LeafFromPreviousCA() bool {
	if b.PreviousCA == nil || b.Serving.Cert == nil {
		return false
	}
	return signedBy(b.Serving.Cert, b.PreviousCA.Cert) && !signedBy(b.Serving.Cert, b.CA.Cert)
}

// String describes the bundle for logs and events: serials and expiry.
func (b *Bundle) String() string {
	s := fmt.Sprintf("serving %s, CA %s", describe(b.Serving.Cert), describe(b.CA.Cert))
	if b.PreviousCA != nil {
		s += ", previous CA " + describe(b.PreviousCA.Cert)
	}
	return s
}

func describe(c *x509.Certificate) string {
	if c == nil {
		return "<none>"
	}
	return fmt.Sprintf("serial %x valid %s..%s", c.SerialNumber,
		c.NotBefore.UTC().Format("2006-01-02T15:04:05Z"), c.NotAfter.UTC().Format("2006-01-02T15:04:05Z"))
}

func signedBy(child, parent *x509.Certificate) bool {
	return child != nil && parent != nil && child.CheckSignatureFrom(parent) == nil
}

// writePEM appends p to buf, making sure it ends with a newline.
func writePEM(buf *bytes.Buffer, p []byte) {
	buf.Write(p)
	if len(p) > 0 && p[len(p)-1] != '\n' {
		buf.WriteByte('\n')
	}
}
