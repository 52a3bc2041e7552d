package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lbgate/lbgate/providers"
)

func TestFakeFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr []string
	}{
		{name: "defaults", args: nil},
		{name: "a slow load balancer", args: []string{"--fake-call-latency=20ms", "--fake-max-batch=200", "--fake-health-delay=1s"}},
		{name: "negative latency", args: []string{"--fake-call-latency=-1s"}, wantErr: []string{"--fake-call-latency=-1s", "negative"}},
		{name: "negative batch", args: []string{"--fake-max-batch=-1"}, wantErr: []string{"--fake-max-batch=-1"}},
		{name: "negative quota", args: []string{"--fake-max-backends=-3"}, wantErr: []string{"--fake-max-backends=-3"}},
		{name: "negative health delay", args: []string{"--fake-health-delay=-2s"}, wantErr: []string{"--fake-health-delay=-2s"}},
		{name: "call log in a missing directory", args: []string{"--fake-call-log=/nonexistent/dir/calls.jsonl"}, wantErr: []string{`--fake-call-log="/nonexistent/dir/calls.jsonl"`}},
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

// TestFakeFlagsReachTheProvider drives the fake the flags build: the batch
// limit refuses a larger call, calls take the latency, new backends wait
// out the health delay, and the call log has every call.
func TestFakeFlagsReachTheProvider(t *testing.T) {
	log := filepath.Join(t.TempDir(), "calls.jsonl")
	s, err := parseFlags("--fake-call-latency=30ms", "--fake-max-batch=2", "--fake-health-delay=300ms", "--fake-call-log="+log)
	if err != nil {
		t.Fatal(err)
	}
	p := s.provider
	ctx := t.Context()
	a := func(i int) providers.Backend {
		return providers.Backend{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 8080), Weight: 10}
	}
	var quota *providers.QuotaError
	if err := p.Register(ctx, providers.Target{ID: "tg"}, []providers.Backend{a(1), a(2), a(3)}); !errors.As(err, &quota) {
		t.Fatalf("Register of 3 with --fake-max-batch=2: %v, want a QuotaError", err)
	}
	began := time.Now()
	if err := p.Register(ctx, providers.Target{ID: "tg"}, []providers.Backend{a(1), a(2)}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 30*time.Millisecond {
		t.Errorf("Register took %s, want at least --fake-call-latency=30ms", took)
	}
	list, err := p.List(ctx, "tg")
	if err != nil || len(list) != 2 || list[0].Health != providers.HealthInitial {
		t.Fatalf("List right after Register = %v, %v; want 2 Initial backends", list, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		list, err = p.List(ctx, "tg")
		if err == nil && len(list) == 2 && list[0].Health == providers.HealthHealthy && list[1].Health == providers.HealthHealthy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backends %v, %v: not healthy 5 s after a 300ms health delay", list, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if time.Since(began) < 300*time.Millisecond {
		t.Errorf("healthy after %s, before the 300ms health delay", time.Since(began))
	}

	var lines []callLine
	for time.Now().Before(deadline) {
		lines = readCallLog(t, log)
		if len(lines) >= 4 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(lines) < 4 {
		t.Fatalf("call log has %d lines, want at least 4 (2 Register, 2 List)", len(lines))
	}
	if lines[0].Method != "Register" || lines[0].Err == "" || lines[0].N != 3 {
		t.Errorf("first line %+v, want the refused Register of 3", lines[0])
	}
	if lines[1].Method != "Register" || lines[1].Err != "" || strings.Join(lines[1].Addrs, ",") != "10.0.0.1:8080,10.0.0.2:8080" || lines[1].At.Before(began) {
		t.Errorf("second line %+v, want the Register of 10.0.0.1 and .2 after %s", lines[1], began)
	}
	if lines[2].Method != "List" || len(lines[2].Addrs) != 0 {
		t.Errorf("third line %+v, want a List without addresses", lines[2])
	}
}

func readCallLog(t *testing.T, path string) []callLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // read only: nothing to lose
	var out []callLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l callLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("call log line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}
