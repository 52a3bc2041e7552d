package certs

import (
	"crypto/x509"
	"errors"
	"time"
)

// Validate checks, at now, that the bundle can serve the webhook for
// wantNames (DNS names or IP literals, such as Options.Names()):
//
//   - the serving key belongs to the serving certificate, and the CA key (when
//     held) to the CA certificate;
//   - the CA certificate (when present) is a CA;
//   - the serving certificate and the CA are within their validity;
//   - the serving certificate chains to the CA or, during a rotation, to the
//     previous CA, and may be used for TLS server authentication;
//   - the serving certificate covers every wanted name.
//
// The first failure is returned as a *ValidationError.
func (b *Bundle) Validate(now time.Time, wantNames []string) error {
	if err := b.checkServingPair(); err != nil {
		return err
	}
	if err := b.checkCA(); err != nil {
		return err
	}
	if err := b.checkValidity(now); err != nil {
		return err
	}
	return checkNames(b.Serving.Cert, wantNames)
}

// checkServingPair: a serving certificate and key are present and match.
func (b *Bundle) checkServingPair() error {
	if b.Serving.Cert == nil {
		return invalid(ReasonMissing, KeyTLSCert, nil, "no serving certificate")
	}
	if b.Serving.Key == nil {
		return invalid(ReasonMissing, KeyTLSKey, nil, "no serving key")
	}
	return checkKeyPair(KeyTLSKey, b.Serving.Cert, b.Serving.Key)
}

// checkCA: the CA, when there is one, matches its key (when present) and may
// sign certificates.
func (b *Bundle) checkCA() error {
	ca := b.CA.Cert
	if ca == nil {
		return nil
	}
	if b.CA.Key != nil {
		if err := checkKeyPair(KeyCAKey, ca, b.CA.Key); err != nil {
			return err
		}
	}
	if !ca.IsCA || !ca.BasicConstraintsValid || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		return invalid(ReasonNotCA, KeyCACert, nil, "certificate %q may not sign certificates", ca.Subject.CommonName)
	}
	return nil
}

// checkValidity: the serving certificate and the CA are valid at now, and the
// serving certificate chains to the CA (or the previous one).
func (b *Bundle) checkValidity(now time.Time) error {
	if err := checkTime(KeyTLSCert, b.Serving.Cert, now); err != nil {
		return err
	}
	if b.CA.Cert == nil {
		return nil
	}
	if err := checkTime(KeyCACert, b.CA.Cert, now); err != nil {
		return err
	}
	return verifyChain(KeyTLSCert, b.CACertificates(), b.Serving.Certificates(), now)
}

// checkNames: the serving certificate covers every wanted name.
func checkNames(leaf *x509.Certificate, wantNames []string) error {
	for _, name := range wantNames {
		if err := leaf.VerifyHostname(name); err != nil {
			return invalid(ReasonMissingSAN, KeyTLSCert, err, "%q not covered (DNS %v, IP %v)", name, leaf.DNSNames, leaf.IPAddresses)
		}
	}
	return nil
}

// checkTime reports an Expired or NotYetValid certificate.
func checkTime(item string, c *x509.Certificate, now time.Time) error {
	switch {
	case now.Before(c.NotBefore):
		return invalid(ReasonNotYetValid, item, nil, "valid from %s, now %s", c.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case now.After(c.NotAfter):
		return invalid(ReasonExpired, item, nil, "expired at %s, now %s", c.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// verifyChain checks that chain[0] chains through chain[1:] to one of roots at
// now and may authenticate a TLS server.
func verifyChain(item string, roots, chain []*x509.Certificate, now time.Time) error {
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         pool,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err == nil {
		return nil
	}
	var invalidErr x509.CertificateInvalidError
	if errors.As(err, &invalidErr) {
		switch invalidErr.Reason {
		case x509.Expired:
			return invalid(ReasonExpired, item, err, "chain not valid at %s", now.UTC().Format(time.RFC3339))
		case x509.IncompatibleUsage:
			return invalid(ReasonWrongUsage, item, err, "not usable for TLS server authentication")
		}
	}
	return invalid(ReasonNotSignedByCA, item, err, "serial %x issued by %q does not chain to the CA", chain[0].SerialNumber, chain[0].Issuer.CommonName)
}

// ValidateCA checks, at now, that the bundle's CA can go on signing: the CA
// certificate and its key are present and belong together, the certificate
// may sign certificates and is within its validity. A caller whose Load
// failed on tls.* only uses it to decide between RenewLeaf (CA still good)
// and a new CA. The first failure is returned as a *ValidationError.
func (b *Bundle) ValidateCA(now time.Time) error {
	switch {
	case b.CA.Cert == nil:
		return invalid(ReasonMissing, KeyCACert, nil, "no CA certificate")
	case b.CA.Key == nil:
		return invalid(ReasonMissing, KeyCAKey, nil, "no CA key")
	}
	if err := checkKeyPair(KeyCAKey, b.CA.Cert, b.CA.Key); err != nil {
		return err
	}
	if !b.CA.Cert.IsCA || !b.CA.Cert.BasicConstraintsValid || b.CA.Cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return invalid(ReasonNotCA, KeyCACert, nil, "certificate %q may not sign certificates", b.CA.Cert.Subject.CommonName)
	}
	return checkTime(KeyCACert, b.CA.Cert, now)
}
