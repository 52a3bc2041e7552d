package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// ServedCertificate connects to addr (host:port) with TLS, sending
// serverName, and returns the certificate the server presents, without
// verifying it. The leader uses it to learn whether every replica serves the
// current certificate (Observed.ServedEverywhere); compare with
// x509.Certificate.Equal.
func ServedCertificate(ctx context.Context, addr, serverName string) (*x509.Certificate, error) {
	d := &tls.Dialer{Config: &tls.Config{
		ServerName:         serverName,
		InsecureSkipVerify: true, //nolint:gosec // only reads the presented certificate, sends nothing
		MinVersion:         tls.VersionTLS12,
	}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("read served certificate of %s: %w", addr, err)
	}
	defer conn.Close() //nolint:errcheck // nothing was written
	peer := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(peer) == 0 {
		return nil, fmt.Errorf("read served certificate of %s: %w", addr, errors.New("server presented no certificate"))
	}
	return peer[0], nil
}
