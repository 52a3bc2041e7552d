package haproxy_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/haproxy"
	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

// tlsEnv is an HAProxy whose admin Runtime API is also served over TLS with
// client certificates (a `listen` section in front of the unix socket), and
// a provider that speaks TLS to it.
func tlsEnv(t *testing.T) (*env, *haproxytest.PKI) {
	t.Helper()
	pki := haproxytest.NewPKI(t)
	h := haproxytest.Start(t, haproxytest.Config{Backends: []string{"web"}, TLS: &haproxytest.TLSRuntimeAPI{ServerPEM: pki.ServerPEM, CAFile: pki.CA}})
	p, err := haproxy.New(h.TLSRuntimeAPI(), haproxy.Options{TLS: &haproxy.TLSFiles{CertFile: pki.ClientCert, KeyFile: pki.ClientKey, CAFile: pki.CA}})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, h: h, p: p, target: providers.Target{ID: "web", HealthCheck: fastCheck}, ctx: context.Background()}, pki
}

func TestTLSRuntimeAPIRoundTrip(t *testing.T) {
	e, _ := tlsEnv(t)
	a, b := e.server("a"), e.server("b")
	e.register(w10(a), w10(b))
	e.waitHealth(a, providers.HealthHealthy)
	e.waitHealth(b, providers.HealthHealthy)
	e.waitTraffic(20, "a", "b")
	if _, ok := e.slotOf("web", a.Addr); !ok {
		t.Fatalf("HAProxy's own socket shows no slot for %s: %v", a.Addr, e.servers("web"))
	}
}

// TestTLSRuntimeAPIRefusals: every way the TLS connection can be refused is
// a PermissionError that says what to fix, and HAProxy runs no command.
func TestTLSRuntimeAPIRefusals(t *testing.T) {
	e, pki := tlsEnv(t)
	good := haproxy.TLSFiles{CertFile: pki.ClientCert, KeyFile: pki.ClientKey, CAFile: pki.CA}
	for _, tt := range []struct {
		name  string
		files func(f *haproxy.TLSFiles)
		want  string
	}{
		{"client certificate from another CA", func(f *haproxy.TLSFiles) { f.CertFile, f.KeyFile = pki.OtherClientCert, pki.OtherClientKey }, "refused lbgate's client certificate " + pki.OtherClientCert},
		{"HAProxy's certificate from another CA", func(f *haproxy.TLSFiles) { f.CAFile = pki.OtherCA }, "server certificate is not trusted"},
		{"HAProxy's certificate names another host", func(f *haproxy.TLSFiles) { f.ServerName = "haproxy.example" }, "server certificate is not trusted"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files := good
			tt.files(&files)
			p, err := haproxy.New(e.h.TLSRuntimeAPI(), haproxy.Options{TLS: &files})
			if err != nil {
				t.Fatal(err)
			}
			err = p.Register(e.ctx, e.target, []providers.Backend{{Addr: e.server("x").Addr, Weight: 10}})
			t.Logf("Register: %v", err)
			var pe *providers.PermissionError
			if !errors.As(err, &pe) {
				t.Fatalf("Register: %v (%T), want a PermissionError", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), e.h.TLSRuntimeAPI()) {
				t.Errorf("error %q does not say %q at %s", err, tt.want, e.h.TLSRuntimeAPI())
			}
			if n := len(e.servers("web")); n != 0 {
				t.Errorf("HAProxy has %d servers in web after a refused connection, want none", n)
			}
		})
	}
	t.Run("ServerName matching HAProxy's certificate", func(t *testing.T) {
		files := good
		files.ServerName = "haproxy-runtime"
		p, err := haproxy.New(e.h.TLSRuntimeAPI(), haproxy.Options{TLS: &files})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.List(e.ctx, "web"); err != nil {
			t.Fatalf("List: %v", err)
		}
	})
	t.Run("nobody listening", func(t *testing.T) {
		addr := "tls://127.0.0.1:" + strconv.Itoa(haproxytest.FreePort(t, "127.0.0.1"))
		p, err := haproxy.New(addr, haproxy.Options{TLS: &good})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.List(e.ctx, "web"); !providers.IsUnavailable(err) {
			t.Fatalf("List: %v, want an UnavailableError (HAProxy down is an outage, not a refusal)", err)
		}
	})
}

// TestTLSCertificatesReloaded: a renewed certificate (a mounted Secret
// updated in place) is used by the next connection, without a restart.
func TestTLSCertificatesReloaded(t *testing.T) {
	e, pki := tlsEnv(t)
	dir := t.TempDir()
	cert, key := dir+"/tls.crt", dir+"/tls.key"
	copyFile(t, pki.OtherClientCert, cert)
	copyFile(t, pki.OtherClientKey, key)
	p, err := haproxy.New(e.h.TLSRuntimeAPI(), haproxy.Options{TLS: &haproxy.TLSFiles{CertFile: cert, KeyFile: key, CAFile: pki.CA}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.List(e.ctx, "web"); !providers.IsPermission(err) {
		t.Fatalf("List with a certificate of another CA: %v, want a PermissionError", err)
	}
	copyFile(t, pki.ClientCert, cert)
	copyFile(t, pki.ClientKey, key)
	if _, err := p.List(e.ctx, "web"); err != nil {
		t.Fatalf("List after the certificate was replaced: %v", err)
	}
}

// TestTLSRuntimeAPINoClientCertificate: HAProxy's `verify required` closes a
// connection without a client certificate before running anything. With
// TLS 1.3 the client's handshake completes; the refusal is the first read.
func TestTLSRuntimeAPINoClientCertificate(t *testing.T) {
	e, pki := tlsEnv(t)
	conn := dialTLS(t, e.h.TLSRuntimeAPI(), pki.CA, nil)
	_, _ = io.WriteString(conn, "show info\n")
	out, err := io.ReadAll(conn)
	if err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Fatalf("read without a client certificate: %q, %v; want the alert \"certificate required\"", out, err)
	}
	if len(out) != 0 {
		t.Errorf("HAProxy answered %q to a client without a certificate", out)
	}
}

// TestTLSRuntimeAPIPromptMode: the TLS `listen` section forwards an
// interactive session as it is, so a client may keep one connection for
// several commands (`prompt`). The provider does not: it sends one line per
// connection, as on the unix socket.
func TestTLSRuntimeAPIPromptMode(t *testing.T) {
	e, pki := tlsEnv(t)
	pair, err := tls.LoadX509KeyPair(pki.ClientCert, pki.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	conn := dialTLS(t, e.h.TLSRuntimeAPI(), pki.CA, &pair)
	r := bufio.NewReader(conn)
	if _, err := io.WriteString(conn, "prompt\n"); err != nil {
		t.Fatal(err)
	}
	readPrompt(t, r)
	for i, cmd := range []string{"show cli level", "show servers state web", "show cli level"} {
		if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
			t.Fatalf("command %d %q: %v", i, cmd, err)
		}
		answer := readPrompt(t, r)
		if i != 1 && !strings.Contains(answer, "admin") {
			t.Errorf("command %d %q answered %q, want the level admin", i, cmd, answer)
		}
	}
}

// TestStatsSocketSSLIsIgnored records what HAProxy 2.6.12 does with TLS
// options on a `stats socket` line: `haproxy -c` accepts them (Start checks
// the configuration), and the socket serves the Runtime API in plain text
// to a client without a certificate. The provider, told to speak TLS
// there, refuses with a PermissionError that says so. If this test fails,
// HAProxy honours `ssl` on the stats socket now: update docs/haproxy.md.
func TestStatsSocketSSLIsIgnored(t *testing.T) {
	pki := haproxytest.NewPKI(t)
	h := haproxytest.Start(t, haproxytest.Config{Backends: []string{"web"}, TLS: &haproxytest.TLSRuntimeAPI{ServerPEM: pki.ServerPEM, CAFile: pki.CA, OnStatsSocket: true}})
	plain := "127.0.0.1:" + strings.TrimPrefix(h.TLSRuntimeAPI(), "tls://127.0.0.1:")
	conn, err := net.DialTimeout("tcp", plain, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(conn, "show cli level\n")
	out, _ := io.ReadAll(conn)
	if !strings.Contains(string(out), "admin") {
		t.Fatalf("plain TCP client without a certificate got %q from a stats socket with `ssl ... verify required`; HAProxy seems to honour TLS there now: update docs/haproxy.md", out)
	}

	p, err := haproxy.New(h.TLSRuntimeAPI(), haproxy.Options{TLS: &haproxy.TLSFiles{CertFile: pki.ClientCert, KeyFile: pki.ClientKey, CAFile: pki.CA}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.List(context.Background(), "web")
	t.Logf("List: %v", err)
	if !providers.IsPermission(err) || !strings.Contains(err.Error(), "answers without TLS") {
		t.Fatalf("List over tls:// to a plain-text stats socket: %v, want a PermissionError saying it answers without TLS", err)
	}
}

// dialTLS connects to a tls:// address trusting caFile, with an optional
// client certificate.
func dialTLS(t *testing.T, runtimeAPI, caFile string, cert *tls.Certificate) *tls.Conn {
	t.Helper()
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	cfg := &tls.Config{RootCAs: roots}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", strings.TrimPrefix(runtimeAPI, "tls://"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() }) // teardown of a probe connection
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	return conn
}

// readPrompt reads an interactive answer up to the next "> " prompt.
func readPrompt(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	for !strings.HasSuffix(b.String(), "\n> ") {
		c, err := r.ReadByte()
		if err != nil {
			t.Fatalf("reading an interactive answer after %q: %v", b.String(), err)
		}
		b.WriteByte(c)
	}
	return b.String()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	// Write aside and rename, as the kubelet swaps a Secret's files.
	if err := os.WriteFile(to+".new", data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(to+".new", to); err != nil {
		t.Fatal(err)
	}
}
