package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync/atomic"
)

// Keeper holds the bundle a webhook server serves, in memory. Plug
// GetCertificate into tls.Config; call Update whenever the Secret changes.
// The zero value is ready to use and serves nothing until the first Update.
// A Keeper is safe for concurrent use.
type Keeper struct {
	state atomic.Pointer[keeperState]
}

type keeperState struct {
	bundle *Bundle
	cert   *tls.Certificate
}

// Update atomically replaces the served bundle. Handshakes already under way
// finish with the certificate they started with; the next ones use the new
// one. A bundle without a usable serving key pair is refused and the current
// one kept.
func (k *Keeper) Update(b *Bundle) error {
	if b == nil {
		return errors.New("update served certificate: nil bundle")
	}
	cert, err := b.TLSCertificate()
	if err != nil {
		return fmt.Errorf("update served certificate: %w", err)
	}
	if err := checkKeyPair(KeyTLSKey, b.Serving.Cert, b.Serving.Key); err != nil {
		return fmt.Errorf("update served certificate: %w", err)
	}
	k.state.Store(&keeperState{bundle: b, cert: cert})
	return nil
}

// GetCertificate returns the served certificate; it has the signature of
// tls.Config.GetCertificate. Before the first Update it returns ErrNoCertificate.
func (k *Keeper) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s := k.state.Load()
	if s == nil {
		return nil, ErrNoCertificate
	}
	return s.cert, nil
}

// Current returns the served bundle, or nil before the first Update.
func (k *Keeper) Current() *Bundle {
	if s := k.state.Load(); s != nil {
		return s.bundle
	}
	return nil
}

// Leaf returns the served certificate, or nil before the first Update.
func (k *Keeper) Leaf() *x509.Certificate {
	if b := k.Current(); b != nil {
		return b.Serving.Cert
	}
	return nil
}

// TrustedBy checks that caBundlePEM (the live webhook configuration's
// caBundle) verifies the certificate being served now: a replica's
// readiness check.
func (k *Keeper) TrustedBy(caBundlePEM []byte) error {
	b := k.Current()
	if b == nil {
		return ErrNoCertificate
	}
	return Verifies(caBundlePEM, b.Serving.Cert)
}
