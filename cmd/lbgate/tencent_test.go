package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/tencent"
	"github.com/lbgate/lbgate/providers/tencent/clbsim"
)

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
		{name: "key from a Secret, read at the first call",
			args: []string{"--provider=tencentclb", "--tencentcloud-region=ap-guangzhou", "--tencentcloud-credentials-secret=lbgate-tencentcloud-credentials"}},
		{name: "key from a Secret in another namespace",
			args: []string{"--provider=tencentclb", "--tencentcloud-region=ap-guangzhou", "--tencentcloud-credentials-secret=clb/keys"}},
		{name: "a Secret and a directory", args: []string{"--provider=tencentclb", "--tencentcloud-region=ap-guangzhou", "--tencentcloud-credentials-secret=keys", "--tencentcloud-credentials-dir=" + secretDir},
			wantErr: []string{"--tencentcloud-credentials-secret", "--tencentcloud-credentials-dir", "set one"}},
		{name: "a bad Secret name", args: []string{"--provider=tencentclb", "--tencentcloud-region=ap-guangzhou", "--tencentcloud-credentials-secret=Keys_1"},
			wantErr: []string{"--tencentcloud-credentials-secret", "Keys_1", "not a Secret name"}},
		{name: "a bad Secret namespace", args: []string{"--provider=tencentclb", "--tencentcloud-region=ap-guangzhou", "--tencentcloud-credentials-secret=a.b/keys"},
			wantErr: []string{"--tencentcloud-credentials-secret", "a.b", "not a namespace"}},
		{name: "a bad global-router range", env: map[string]string{envSecretID: "AKIDenv", envSecretKey: key},
			args: []string{"--provider=tencentclb", "--tencentcloud-region=ap-guangzhou", "--global-router-cidrs=10.0.0.0/33"}, wantErr: []string{"--global-router-cidrs", "10.0.0.0/33"}},
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

// TestSecretCredentials checks the key pair read from a Secret: both keys
// are needed, and an error names the flag and the Secret, never a value.
func TestSecretCredentials(t *testing.T) {
	const key = "the-secret-key-value"
	tests := []struct {
		name    string
		data    map[string]string
		getErr  error
		want    tencent.Credentials
		wantErr []string
	}{
		{name: "both keys", data: map[string]string{"secretId": "AKIDsecret\n", "secretKey": key}, want: tencent.Credentials{SecretID: "AKIDsecret", SecretKey: key}},
		{name: "no secretKey", data: map[string]string{"secretId": "AKIDsecret"}, wantErr: []string{"lbgate-system/keys", "secretKey is missing or empty"}},
		{name: "an empty secretId", data: map[string]string{"secretId": " ", "secretKey": key}, wantErr: []string{"secretId is missing or empty"}},
		{name: "no Secret", getErr: errors.New(`secrets "keys" is forbidden`), wantErr: []string{"--tencentcloud-credentials-secret", "lbgate-system/keys", "forbidden"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked string
			get := func(_ context.Context, ns, name string) (*corev1.Secret, error) {
				asked = ns + "/" + name
				if tt.getErr != nil {
					return nil, tt.getErr
				}
				s := &corev1.Secret{Data: map[string][]byte{}}
				for k, v := range tt.data {
					s.Data[k] = []byte(v)
				}
				return s, nil
			}
			got, err := secretCredentials("lbgate-system", "keys", get)(context.Background())
			if asked != "lbgate-system/keys" {
				t.Errorf("read Secret %q, want lbgate-system/keys", asked)
			}
			if len(tt.wantErr) == 0 {
				if err != nil || got != tt.want {
					t.Fatalf("got %v, %v; want %v", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %v, want an error", got)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), key) {
				t.Errorf("error %q shows the key", err)
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
