package certs

import (
	"crypto/x509"
	"time"
)

// ItemCABundle is the ValidationError.Item for a caBundle checked by Verifies.
const ItemCABundle = "caBundle"

// Verifies checks that caBundlePEM, as found in a webhook configuration
// (one or more CA certificates), makes a TLS client trust leaf now. It is the
// check behind "the caBundle verifies the certificate actually being served".
func Verifies(caBundlePEM []byte, leaf *x509.Certificate) error {
	return VerifiesAt(caBundlePEM, time.Now(), leaf)
}

// VerifiesAt is Verifies at a given time, with the intermediates (if any)
// after the leaf in chain.
func VerifiesAt(caBundlePEM []byte, now time.Time, chain ...*x509.Certificate) error {
	if len(chain) == 0 || chain[0] == nil {
		return invalid(ReasonMissing, KeyTLSCert, nil, "no certificate to verify")
	}
	roots, err := parseCertificates(ItemCABundle, caBundlePEM)
	if err != nil {
		return err
	}
	return verifyChain(ItemCABundle, roots, chain, now)
}

// CABundleHas reports whether caBundlePEM holds every certificate in cas
// (compared byte for byte). A caller rotating the CA uses it to see that the
// live caBundle took the new CA before the leaf is reissued from it.
func CABundleHas(caBundlePEM []byte, cas ...*x509.Certificate) bool {
	held, err := parseCertificates(ItemCABundle, caBundlePEM)
	if err != nil {
		return false
	}
	for _, want := range cas {
		found := false
		for _, h := range held {
			if h.Equal(want) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
