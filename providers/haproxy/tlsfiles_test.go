package haproxy_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"

	"github.com/lbgate/lbgate/providers/haproxy"
	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

func TestIsLoopback(t *testing.T) {
	for _, tt := range []struct {
		hostPort string
		want     bool
	}{
		{"127.0.0.1:9999", true},
		{"127.1.2.3:9999", true},
		{"[::1]:9999", true},
		{"localhost:9999", true},
		{"[::ffff:127.0.0.1]:9999", true},
		{"10.0.0.5:9999", false},
		{"0.0.0.0:9999", false},
		{"haproxy-runtime.lbgate-system.svc:9999", false},
		{"[2001:db8::1]:9999", false},
	} {
		if got := haproxy.IsLoopback(tt.hostPort); got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.hostPort, got, tt.want)
		}
	}
}

// TestTLSFilesRefused: New reads the TLS files at once; every error names
// the file and its path, and never quotes a key.
func TestTLSFilesRefused(t *testing.T) {
	pki := haproxytest.NewPKI(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	good := haproxy.TLSFiles{CertFile: pki.ClientCert, KeyFile: pki.ClientKey, CAFile: pki.CA}
	for _, tt := range []struct {
		name    string
		address string
		files   func(f *haproxy.TLSFiles) *haproxy.TLSFiles
		// file is the TLSFile the error names; "" for an address error.
		file haproxy.TLSFile
		want string
	}{
		{"tls:// without files", "tls://127.0.0.1:9443", func(*haproxy.TLSFiles) *haproxy.TLSFiles { return nil }, "", "tls:// needs a client certificate"},
		{"tls:// without a key", "tls://127.0.0.1:9443", func(f *haproxy.TLSFiles) *haproxy.TLSFiles { f.KeyFile = ""; return f }, haproxy.TLSKey, "needs the client certificate, its key"},
		{"tls:// without a CA", "tls://127.0.0.1:9443", func(f *haproxy.TLSFiles) *haproxy.TLSFiles { f.CAFile = ""; return f }, haproxy.TLSCA, "needs the client certificate"},
		{"certificate missing", "tls://127.0.0.1:9443", func(f *haproxy.TLSFiles) *haproxy.TLSFiles { f.CertFile = missing; return f }, haproxy.TLSCert, missing},
		{"certificate file without a certificate", "tls://127.0.0.1:9443", func(f *haproxy.TLSFiles) *haproxy.TLSFiles { f.CertFile = pki.ClientKey; return f }, haproxy.TLSCert, "no PEM certificate"},
		{"key of another certificate", "tls://127.0.0.1:9443", func(f *haproxy.TLSFiles) *haproxy.TLSFiles { f.KeyFile = pki.OtherClientKey; return f }, haproxy.TLSKey, pki.OtherClientKey},
		{"key file empty", "tls://127.0.0.1:9443", func(f *haproxy.TLSFiles) *haproxy.TLSFiles { f.KeyFile = empty; return f }, haproxy.TLSKey, empty},
		{"CA empty", "tls://127.0.0.1:9443", func(f *haproxy.TLSFiles) *haproxy.TLSFiles { f.CAFile = empty; return f }, haproxy.TLSCA, "no PEM certificate"},
		{"CA is a directory", "tls://127.0.0.1:9443", func(f *haproxy.TLSFiles) *haproxy.TLSFiles { f.CAFile = dir; return f }, haproxy.TLSCA, dir},
		{"files with a unix socket", "unix:///run/haproxy/admin.sock", func(f *haproxy.TLSFiles) *haproxy.TLSFiles { return f }, "", "not tls://host:port"},
		{"files with plain tcp", "tcp://127.0.0.1:9999", func(f *haproxy.TLSFiles) *haproxy.TLSFiles { return f }, "", "not tls://host:port"},
		{"tls:// without a port", "tls://haproxy", func(f *haproxy.TLSFiles) *haproxy.TLSFiles { return f }, "", "want tls://host:port"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := good
			_, err := haproxy.New(tt.address, haproxy.Options{TLS: tt.files(&f)})
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			var fe *haproxy.TLSFileError
			switch {
			case tt.file == "" && errors.As(err, &fe):
				t.Errorf("error %q blames the %s file, want an address error", err, fe.File)
			case tt.file != "" && (!errors.As(err, &fe) || fe.File != tt.file):
				t.Errorf("error %q (%T), want a TLSFileError about the %s", err, err, tt.file)
			}
			for _, secret := range []string{"PRIVATE KEY", keyBody(t, pki.ClientKey), keyBody(t, pki.OtherClientKey)} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error quotes key material: %q", err)
				}
			}
		})
	}
	if _, err := haproxy.New("tls://127.0.0.1:9443", haproxy.Options{TLS: &good}); err != nil {
		t.Errorf("good files refused: %v", err)
	}
}

// keyBody returns a line of a key's base64 body.
func keyBody(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(data), "\n")[1]
}

// TestPlainTCPOffLoopbackWarnsOnce: the warning comes at the first
// connection, once per provider, and only for plain TCP off loopback.
func TestPlainTCPOffLoopbackWarnsOnce(t *testing.T) {
	pki := haproxytest.NewPKI(t)
	tlsFiles := &haproxy.TLSFiles{CertFile: pki.ClientCert, KeyFile: pki.ClientKey, CAFile: pki.CA}
	for _, tt := range []struct {
		address string
		files   *haproxy.TLSFiles
		warns   int
	}{
		{"tcp://haproxy-runtime.lbgate-system.svc:9999", nil, 1},
		{"tcp://10.0.0.5:9999", nil, 1},
		{"tcp://127.0.0.1:9999", nil, 0},
		{"tcp://localhost:9999", nil, 0},
		{"unix:///run/haproxy/admin.sock", nil, 0},
		{"tls://haproxy-runtime.lbgate-system.svc:9443", tlsFiles, 0},
	} {
		var lines []string
		log := funcr.New(func(_, args string) { lines = append(lines, args) }, funcr.Options{})
		p, err := haproxy.New(tt.address, haproxy.Options{TLS: tt.files, Log: log})
		if err != nil {
			t.Fatalf("%s: %v", tt.address, err)
		}
		// A context already over: the provider gets as far as dialling,
		// and nothing leaves this machine.
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		cancel()
		for range 3 {
			if _, err := p.List(ctx, "web"); err == nil {
				t.Fatalf("%s: List with a context that is over succeeded", tt.address)
			}
		}
		if len(lines) != tt.warns {
			t.Errorf("%s: %d log lines %q, want %d", tt.address, len(lines), lines, tt.warns)
		}
		for _, l := range lines {
			if !strings.Contains(l, "unauthenticated") || !strings.Contains(l, tt.address) || !strings.Contains(l, "docs/haproxy.md") {
				t.Errorf("%s: warning %q does not say it is unauthenticated, the address and where to read how to close it", tt.address, l)
			}
		}
	}
}
