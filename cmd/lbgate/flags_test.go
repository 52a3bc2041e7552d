package main

import (
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

// parseFlags binds every flag of the binary to a fresh FlagSet, parses args
// and turns them into settings as run() does, before it connects anywhere.
// The fake provider is the default here, so only the rows about the
// provider need a Runtime API address.
func parseFlags(args ...string) (settings, error) {
	var o options
	fs := flag.NewFlagSet("lbgate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.bind(fs)
	o.webhook.bind(fs)
	if err := fs.Parse(append([]string{"--provider=fake"}, args...)); err != nil {
		return settings{}, err
	}
	return o.settings()
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		// wantErr lists substrings of the error; empty means the flags are accepted.
		wantErr []string
	}{
		{name: "defaults", args: nil},
		{name: "out of cluster webhook", args: []string{"--webhook-url=https://127.0.0.1:9443/mutate-pods", "--webhook-host=127.0.0.1"}},
		{name: "global-router mode", args: []string{"--default-network-mode=global-router", "--global-router-cidrs=10.0.0.0/16, 127.0.0.0/8"}},
		{name: "bad network mode", args: []string{"--default-network-mode=vpc"}, wantErr: []string{"--default-network-mode", `"vpc"`}},
		{name: "bad CIDR", args: []string{"--eni-cidrs=10.0.0.0/33"}, wantErr: []string{"--eni-cidrs", `"10.0.0.0/33"`}},
		{name: "poll interval too short", args: []string{"--gate-poll-interval=1ms"}, wantErr: []string{"--gate-poll-interval=1ms", "at least 10ms"}},
		{name: "resync too short", args: []string{"--resync-interval=100ms"}, wantErr: []string{"--resync-interval", "at least 1s"}},
		{name: "rollout-blocked-after too short", args: []string{"--rollout-blocked-after=500ms"}, wantErr: []string{"--rollout-blocked-after=500ms", "at least 1s"}},
		{name: "no reconcilers", args: []string{"--max-concurrent-reconciles=0"}, wantErr: []string{"--max-concurrent-reconciles=0"}},
		{name: "haproxy without its Runtime API", args: []string{"--provider=haproxy"}, wantErr: []string{"--provider=haproxy needs --haproxy-runtime-api"}},
		{name: "haproxy with a bad Runtime API", args: []string{"--provider=haproxy", "--haproxy-runtime-api=http://x"}, wantErr: []string{"--haproxy-runtime-api", "http://x"}},
		{name: "haproxy over a socket", args: []string{"--provider=haproxy", "--haproxy-runtime-api=unix:///run/haproxy/admin.sock"}},
		{name: "haproxy over plain TCP off loopback (accepted, warned at the first connection)", args: []string{"--provider=haproxy", "--haproxy-runtime-api=tcp://10.0.0.5:9999"}},
		{name: "haproxy over TLS without certificate flags", args: []string{"--provider=haproxy", "--haproxy-runtime-api=tls://haproxy-runtime:9443"}, wantErr: []string{`--haproxy-runtime-api="tls://haproxy-runtime:9443"`, "--haproxy-tls-cert, --haproxy-tls-key, --haproxy-tls-ca"}},
		{name: "haproxy TLS flags with a unix socket", args: []string{"--provider=haproxy", "--haproxy-runtime-api=unix:///run/haproxy/admin.sock", "--haproxy-tls-ca=/etc/ca.crt"}, wantErr: []string{"--haproxy-tls-*", "unix:///run/haproxy/admin.sock", "not tls://"}},
		{name: "unknown provider", args: []string{"--provider=f5"}, wantErr: []string{"--provider", `"f5"`}},
		{name: "fast failover", args: []string{"--leader-elect", "--leader-election-lease-duration=4s", "--leader-election-renew-deadline=3s", "--leader-election-retry-period=500ms"}},
		{name: "lease shorter than the renew deadline", args: []string{"--leader-election-lease-duration=5s"}, wantErr: []string{"--leader-election-lease-duration=5s", "--leader-election-renew-deadline=10s"}},
		{name: "renew deadline within a retry", args: []string{"--leader-election-renew-deadline=1s", "--leader-election-retry-period=1s"}, wantErr: []string{"--leader-election-renew-deadline=1s", "--leader-election-retry-period=1s"}},
		{name: "retry period too short", args: []string{"--leader-election-retry-period=10ms"}, wantErr: []string{"--leader-election-retry-period=10ms", "at least 100ms"}},
		{name: "CA shorter than its certificates", args: []string{"--ca-lifetime=1h", "--cert-lifetime=2h"}, wantErr: []string{"--ca-lifetime=1h0m0s", "--cert-lifetime=2h0m0s"}},
		{name: "webhook off: its flags that depend on each other are not checked", args: []string{"--webhook=false", "--ca-lifetime=1h", "--cert-lifetime=2h"}},
		{name: "bad log level", args: []string{"--log-level=loud"}, wantErr: []string{"--log-level", `"loud"`}},
		{name: "bad failure policy", args: []string{"--webhook-failure-policy=Maybe"}, wantErr: []string{"webhook-failure-policy", "Maybe"}},
		{name: "timeout out of range", args: []string{"--webhook-timeout=31"}, wantErr: []string{"webhook-timeout", "31"}},
		{name: "bad port", args: []string{"--webhook-port=70000"}, wantErr: []string{"webhook-port", "70000"}},
		{name: "bad service port", args: []string{"--webhook-service-port=0"}, wantErr: []string{"webhook-service-port", `"0"`}},
		{name: "bad secret name", args: []string{"--webhook-secret-name=Not_A_Name"}, wantErr: []string{"webhook-secret-name", "Not_A_Name"}},
		// Zero would silently have meant the default: refused instead.
		{name: "zero caBundle settle", args: []string{"--webhook-cabundle-settle=0"}, wantErr: []string{"webhook-cabundle-settle", "at least 100ms"}},
		{name: "zero preStop margin", args: []string{"--prestop-margin=0"}, wantErr: []string{"prestop-margin", "at least 1s"}},
		{name: "smallest caBundle settle", args: []string{"--webhook-cabundle-settle=100ms"}},
		{name: "smallest preStop margin", args: []string{"--prestop-margin=1s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFlags(tt.args...)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("flags %v refused: %v", tt.args, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("flags %v accepted, want an error naming %q", tt.args, tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

// The poll of pending gates defaults by provider: HAProxy's reads are one
// round trip, a cloud's count against its API rate limit.
func TestGatePollDefaultsByProvider(t *testing.T) {
	for _, c := range []struct {
		args []string
		want time.Duration
	}{
		{[]string{"--provider=haproxy", "--haproxy-runtime-api=unix:///run/haproxy/admin.sock"}, 100 * time.Millisecond},
		{[]string{"--provider=haproxy", "--haproxy-runtime-api=unix:///run/haproxy/admin.sock", "--gate-poll-interval=1s"}, time.Second},
		{[]string{"--provider=fake"}, 250 * time.Millisecond},
		{[]string{"--provider=fake", "--gate-poll-interval=0"}, 250 * time.Millisecond},
	} {
		s, err := parseFlags(c.args...)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if s.backendGroup.PendingInterval != c.want {
			t.Errorf("%v: PendingInterval = %s, want %s", c.args, s.backendGroup.PendingInterval, c.want)
		}
	}
}

// A graceful handover must come within 2 s (issue 13): a standby waits up
// to 2.2 retry periods (client-go's jitter) after the lease is released.
func TestDefaultRetryPeriodKeepsTheHandoverShort(t *testing.T) {
	var o options
	fs := flag.NewFlagSet("lbgate", flag.ContinueOnError)
	o.bind(fs)
	lt, err := o.leaseTimings()
	if err != nil {
		t.Fatal(err)
	}
	if worst := time.Duration(2.2 * float64(lt.retryPeriod)); worst > 1200*time.Millisecond {
		t.Errorf("default retry period %s: a standby may wait %s after the lease is released, leaving too little of the 2s handover for the old leader to stop", lt.retryPeriod, worst)
	}
}

// TestFlagValuesReachOptions checks that the values given are the values used,
// including the smallest accepted ones.
func TestFlagValuesReachOptions(t *testing.T) {
	s, err := parseFlags("--webhook-cabundle-settle=100ms", "--prestop-margin=2s", "--gate-poll-interval=50ms", "--log-level=debug")
	if err != nil {
		t.Fatal(err)
	}
	if s.webhook == nil {
		t.Fatal("webhook settings missing with --webhook on by default")
	}
	if s.webhook.CABundleSettle != 100*time.Millisecond {
		t.Errorf("CABundleSettle = %s, want 100ms", s.webhook.CABundleSettle)
	}
	if s.webhook.ServicePort != 443 {
		t.Errorf("ServicePort = %d, want the default 443", s.webhook.ServicePort)
	}
	if s.webhook.PreStopMargin != 2*time.Second {
		t.Errorf("PreStopMargin = %s, want 2s", s.webhook.PreStopMargin)
	}
	if s.backendGroup.PendingInterval != 50*time.Millisecond {
		t.Errorf("PendingInterval = %s, want 50ms", s.backendGroup.PendingInterval)
	}
	if s.logLevel != zapcore.DebugLevel {
		t.Errorf("log level %s, want debug", s.logLevel)
	}
	if s.provider.Name() != "fake" {
		t.Errorf("provider %s, want fake", s.provider.Name())
	}
	off, err := parseFlags("--webhook=false")
	if err != nil || off.webhook != nil {
		t.Errorf("--webhook=false: settings %+v, %v; want no webhook settings", off.webhook, err)
	}
}

// TestHAProxyTLSFlags checks the --haproxy-tls-* flags against real files:
// every error names the flag and the path, never a key's content.
func TestHAProxyTLSFlags(t *testing.T) {
	pki := haproxytest.NewPKI(t)
	missing := filepath.Join(t.TempDir(), "missing.crt")
	addr := "--haproxy-runtime-api=tls://127.0.0.1:9443"
	tests := []struct {
		name    string
		args    []string
		wantErr []string
	}{
		{name: "all three files", args: []string{addr, "--haproxy-tls-cert=" + pki.ClientCert, "--haproxy-tls-key=" + pki.ClientKey, "--haproxy-tls-ca=" + pki.CA, "--haproxy-tls-server-name=haproxy-runtime"}},
		{name: "certificate without its key", args: []string{addr, "--haproxy-tls-cert=" + pki.ClientCert, "--haproxy-tls-ca=" + pki.CA}, wantErr: []string{"needs --haproxy-tls-key"}},
		{name: "key without its certificate", args: []string{addr, "--haproxy-tls-key=" + pki.ClientKey, "--haproxy-tls-ca=" + pki.CA}, wantErr: []string{"needs --haproxy-tls-cert"}},
		{name: "no CA", args: []string{addr, "--haproxy-tls-cert=" + pki.ClientCert, "--haproxy-tls-key=" + pki.ClientKey}, wantErr: []string{"needs --haproxy-tls-ca"}},
		{name: "unreadable certificate", args: []string{addr, "--haproxy-tls-cert=" + missing, "--haproxy-tls-key=" + pki.ClientKey, "--haproxy-tls-ca=" + pki.CA}, wantErr: []string{"--haproxy-tls-cert=" + `"` + missing + `"`, "no such file"}},
		{name: "key of another certificate", args: []string{addr, "--haproxy-tls-cert=" + pki.ClientCert, "--haproxy-tls-key=" + pki.OtherClientKey, "--haproxy-tls-ca=" + pki.CA}, wantErr: []string{"--haproxy-tls-key=" + `"` + pki.OtherClientKey + `"`}},
		{name: "CA file holding a key", args: []string{addr, "--haproxy-tls-cert=" + pki.ClientCert, "--haproxy-tls-key=" + pki.ClientKey, "--haproxy-tls-ca=" + pki.ClientKey}, wantErr: []string{"--haproxy-tls-ca=" + `"` + pki.ClientKey + `"`, "no PEM certificate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseFlags(append([]string{"--provider=haproxy"}, tt.args...)...)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if s.provider.Name() != "haproxy" {
					t.Errorf("provider %s, want haproxy", s.provider.Name())
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want an error naming %q", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error quotes a key: %q", err)
			}
		})
	}
}
