package main

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/tencent/clbsim"
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
		{name: "unknown provider", args: []string{"--provider=f5"}, wantErr: []string{"--provider", `"f5"`}},
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

// TestTencentFlags checks --provider=tencent: region, the API key from a
// mounted Secret's files or the environment, the endpoint override. No
// error shows a secret.
func TestTencentFlags(t *testing.T) {
	const key = "the-secret-key-value"
	secretDir := t.TempDir()
	for name, v := range map[string]string{"secretId": "AKIDfile\n", "secretKey": key + "\n"} {
		if err := os.WriteFile(filepath.Join(secretDir, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	emptyKeyDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(emptyKeyDir, "secretId"), []byte("AKIDfile"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(emptyKeyDir, "secretKey"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr []string
	}{
		{name: "key from the environment", env: map[string]string{envSecretID: "AKIDenv", envSecretKey: key},
			args: []string{"--provider=tencent", "--tencentcloud-region=ap-guangzhou"}},
		{name: "the issue's name for it", env: map[string]string{envSecretID: "AKIDenv", envSecretKey: key},
			args: []string{"--provider=tencentclb", "--tencentcloud-region=ap-guangzhou"}},
		{name: "key from a mounted Secret, local endpoint",
			args: []string{"--provider=tencent", "--tencentcloud-region=ap-guangzhou", "--tencentcloud-credentials-dir=" + secretDir, "--tencentcloud-endpoint=http://127.0.0.1:18080"}},
		{name: "no region", env: map[string]string{envSecretID: "AKIDenv", envSecretKey: key},
			args: []string{"--provider=tencent"}, wantErr: []string{"--tencentcloud-region"}},
		{name: "no key anywhere", args: []string{"--provider=tencent", "--tencentcloud-region=ap-guangzhou"},
			wantErr: []string{envSecretID, envSecretKey, "--tencentcloud-credentials-dir"}},
		{name: "only half the key in the environment", env: map[string]string{envSecretID: "AKIDenv"},
			args: []string{"--provider=tencent", "--tencentcloud-region=ap-guangzhou"}, wantErr: []string{envSecretKey}},
		{name: "a directory without the files", args: []string{"--provider=tencent", "--tencentcloud-region=ap-guangzhou", "--tencentcloud-credentials-dir=" + t.TempDir()},
			wantErr: []string{"--tencentcloud-credentials-dir", "secretId"}},
		{name: "an empty secretKey file", args: []string{"--provider=tencent", "--tencentcloud-region=ap-guangzhou", "--tencentcloud-credentials-dir=" + emptyKeyDir},
			wantErr: []string{"secretKey is empty"}},
		{name: "a bad endpoint", env: map[string]string{envSecretID: "AKIDenv", envSecretKey: key},
			args: []string{"--provider=tencent", "--tencentcloud-region=ap-guangzhou", "--tencentcloud-endpoint=ftp://127.0.0.1"}, wantErr: []string{"--tencentcloud-endpoint", "ftp://127.0.0.1"}},
		{name: "task poll too short", env: map[string]string{envSecretID: "AKIDenv", envSecretKey: key},
			args: []string{"--provider=tencent", "--tencentcloud-region=ap-guangzhou", "--tencentcloud-task-poll-interval=1ms"}, wantErr: []string{"--tencentcloud-task-poll-interval=1ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(envSecretID, "")
			t.Setenv(envSecretKey, "")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			s, err := parseFlags(tt.args...)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("flags %v refused: %v", tt.args, err)
				}
				if s.provider.Name() != "tencent" {
					t.Fatalf("provider %s, want tencent", s.provider.Name())
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
			if strings.Contains(err.Error(), key) {
				t.Errorf("error %q shows the secret key", err)
			}
		})
	}
}

// TestTencentFlagsReachTheSimulator checks that the flags build a provider
// that signs with the key from the files and calls the endpoint given: a
// local CLB accepts it, and refuses the same flags with another key.
func TestTencentFlagsReachTheSimulator(t *testing.T) {
	sim, err := clbsim.Start(clbsim.Config{SecretID: "AKIDfile", SecretKey: "file-key", Region: "ap-shanghai"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	sim.AddLoadBalancer("lb-1")
	sim.AddListener("lb-1", "lbl-1", "TCP", clbsim.HealthCheck{})
	dir := t.TempDir()
	write := func(key string) {
		for name, v := range map[string]string{"secretId": "AKIDfile", "secretKey": key} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	list := func() error {
		s, err := parseFlags("--provider=tencent", "--tencentcloud-region=ap-shanghai", "--tencentcloud-credentials-dir="+dir, "--tencentcloud-endpoint=http://"+sim.Endpoint())
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.provider.List(context.Background(), "lb-1/lbl-1")
		return err
	}
	write("file-key")
	if err := list(); err != nil {
		t.Fatalf("List with the right key: %v", err)
	}
	write("other-key")
	if err := list(); !providers.IsPermission(err) {
		t.Fatalf("List with another key: %v, want a permission error", err)
	}
}
