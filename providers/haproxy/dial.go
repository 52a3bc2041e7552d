package haproxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/lbgate/lbgate/providers"
)

// dial connects to the Runtime API. Over tls:// it also completes the
// handshake, so a certificate HAProxy or lbgate refuses is known before a
// command is sent (with TLS 1.3, HAProxy's refusal of the client
// certificate still arrives only with the first read; see tlsRefusal).
func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	c.warnOnce.Do(c.warnIfUnauthenticated)
	if c.tls == nil {
		var d net.Dialer
		return d.DialContext(ctx, c.network, c.address)
	}
	cfg, err := c.tls.current()
	if err != nil {
		return nil, err
	}
	d := tls.Dialer{Config: cfg}
	return d.DialContext(ctx, "tcp", c.address)
}

// warnIfUnauthenticated logs, once per client, that a plain TCP Runtime API
// off loopback lets anyone who reaches the port run admin commands.
func (c *Client) warnIfUnauthenticated() {
	if c.network != "tcp" || c.tls != nil || IsLoopback(c.address) {
		return
	}
	c.log.Info("WARNING: the HAProxy Runtime API is plain TCP off loopback: it is unauthenticated, and anyone who reaches the port can run admin commands (add servers, send traffic anywhere, stop HAProxy). "+
		"Use a unix socket in a volume shared with HAProxy, or tls:// with a client certificate and a NetworkPolicy (docs/haproxy.md)",
		"runtimeAPI", c.String())
}

// IsLoopback reports whether host:port names a loopback host: an address in
// 127.0.0.0/8 or ::1, or "localhost".
func IsLoopback(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		host = hostPort
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// tlsRefusal turns a TLS failure that retrying cannot fix into a
// *providers.PermissionError saying what to change; it returns nil for
// other errors (refused, reset, timeout: HAProxy is not there right now).
//
// A PermissionError, not an UnavailableError: the group's Degraded condition
// and the metrics' result label then say that credentials or configuration
// are wrong, which no wait cures, instead of an outage that may pass.
func (c *Client) tlsRefusal(err error) error {
	if c.tls == nil {
		return nil
	}
	var (
		verify *tls.CertificateVerificationError
		unknAu x509.UnknownAuthorityError
		host   x509.HostnameError
		record tls.RecordHeaderError
		remote *net.OpError
	)
	var detail string
	switch {
	case errors.As(err, &verify), errors.As(err, &unknAu), errors.As(err, &host):
		detail = fmt.Sprintf("HAProxy's server certificate is not trusted (%v): it must be signed by the CA in %s and name the host lbgate dials (or the TLS server name set)",
			err, c.tls.files.CAFile)
	case errors.As(err, &record):
		detail = "the address answers without TLS. HAProxy 2.6 accepts `ssl crt ... verify required` on a `stats socket` line but ignores it and serves the Runtime API in plain text to anyone: " +
			"terminate TLS in a `listen` section that forwards to a unix `stats socket` instead (docs/haproxy.md)"
	case errors.As(err, &remote) && remote.Op == "remote error": // a TLS alert from HAProxy
		detail = fmt.Sprintf("HAProxy refused lbgate's client certificate %s (%v): the `ca-file` on HAProxy's TLS `bind` line must be the CA that signed it, and the certificate must be valid now",
			c.tls.files.CertFile, err)
	default:
		return nil
	}
	return &providers.PermissionError{Detail: fmt.Sprintf("HAProxy runtime API %s: %s", c, detail)}
}
