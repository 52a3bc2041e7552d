package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"time"
)

// Subject names of the certificates lbgate issues.
const (
	caCommonNamePrefix = "lbgate-webhook-ca@"
	organization       = "lbgate"
)

// Generate issues a new CA and a serving certificate signed by it.
func Generate(opts Options) (*Bundle, error) {
	opts, err := opts.complete()
	if err != nil {
		return nil, err
	}
	now := opts.Now()
	ca, err := newCA(opts, now)
	if err != nil {
		return nil, err
	}
	leaf, err := issueLeaf(&ca, opts, now)
	if err != nil {
		return nil, err
	}
	return &Bundle{CA: ca, Serving: leaf}, nil
}

// newCA issues a self-signed ECDSA P-256 CA valid for opts.CALifetime.
func newCA(opts Options, now time.Time) (KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), opts.Rand)
	if err != nil {
		return KeyPair{}, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := randomSerial(opts.Rand)
	if err != nil {
		return KeyPair{}, err
	}
	skid, err := subjectKeyID(&key.PublicKey)
	if err != nil {
		return KeyPair{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:   fmt.Sprintf("%s%d", caCommonNamePrefix, now.Unix()),
			Organization: []string{organization},
		},
		NotBefore:             now.Add(-backdate(opts.CALifetime)),
		NotAfter:              now.Add(opts.CALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          skid,
		AuthorityKeyId:        skid,
	}
	der, err := x509.CreateCertificate(opts.Rand, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("sign CA certificate: %w", err)
	}
	kp, err := newKeyPair(der, key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("CA: %w", err)
	}
	return kp, nil
}

// issueLeaf issues an ECDSA P-256 serving certificate signed by ca, valid for
// opts.LeafLifetime but never beyond the CA.
func issueLeaf(ca *KeyPair, opts Options, now time.Time) (KeyPair, error) {
	if ca.Key == nil {
		return KeyPair{}, ErrNoCAKey
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), opts.Rand)
	if err != nil {
		return KeyPair{}, fmt.Errorf("generate serving key: %w", err)
	}
	serial, err := randomSerial(opts.Rand)
	if err != nil {
		return KeyPair{}, err
	}
	skid, err := subjectKeyID(&key.PublicKey)
	if err != nil {
		return KeyPair{}, err
	}
	dnsNames := opts.DNSNames()
	commonName := organization + "-webhook"
	if len(dnsNames) > 0 {
		commonName = dnsNames[0]
	}
	notAfter := now.Add(opts.LeafLifetime)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{organization}},
		DNSNames:              dnsNames,
		IPAddresses:           opts.IPAddresses(),
		NotBefore:             now.Add(-backdate(opts.LeafLifetime)),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		SubjectKeyId:          skid,
		AuthorityKeyId:        ca.Cert.SubjectKeyId,
	}
	der, err := x509.CreateCertificate(opts.Rand, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("sign serving certificate: %w", err)
	}
	kp, err := newKeyPair(der, key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("serving certificate: %w", err)
	}
	return kp, nil
}

// randomSerial returns a random positive serial number of 128 bits.
func randomSerial(r io.Reader) (*big.Int, error) {
	buf := make([]byte, 16)
	for {
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("read random serial: %w", err)
		}
		if serial := new(big.Int).SetBytes(buf); serial.Sign() > 0 {
			return serial, nil
		}
	}
}

// subjectKeyID is the leftmost 160 bits of the SHA-256 hash of the public key
// bits (RFC 7093, section 2, method 4).
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	ecPub, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("subject key id: unsupported key type %T", pub)
	}
	ecdhPub, err := ecPub.ECDH()
	if err != nil {
		return nil, fmt.Errorf("subject key id: %w", err)
	}
	sum := sha256.Sum256(ecdhPub.Bytes())
	return sum[:20], nil
}
