package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	ms := func(v ...int) durations {
		out := durations{}
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		name string
		d    durations
		q    float64
		want time.Duration
	}{
		{name: "empty", d: nil, q: 0.5, want: 0},
		{name: "one", d: ms(7), q: 0.99, want: 7 * time.Millisecond},
		{name: "median of unsorted", d: ms(5, 1, 3, 2, 4), q: 0.5, want: 3 * time.Millisecond},
		{name: "p99 of 100 is the 99th", d: func() durations {
			d := durations{}
			for i := 100; i >= 1; i-- {
				d = append(d, time.Duration(i)*time.Millisecond)
			}
			return d
		}(), q: 0.99, want: 99 * time.Millisecond},
		{name: "p100 is the max", d: ms(1, 9, 4), q: 1, want: 9 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.quantile(tt.q); got != tt.want {
				t.Errorf("quantile(%v) = %s, want %s", tt.q, got, tt.want)
			}
		})
	}
}

func TestMinBatches(t *testing.T) {
	tests := []struct{ n, limit, want int }{
		{0, 200, 0}, {1, 200, 1}, {200, 200, 1}, {201, 200, 2}, {40, 200, 1}, {1000, 0, 1}, {450, 200, 3},
	}
	for _, tt := range tests {
		if got := minBatches(tt.n, tt.limit); got != tt.want {
			t.Errorf("minBatches(%d, %d) = %d, want %d", tt.n, tt.limit, got, tt.want)
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name, stat string
		want       float64
		wantErr    bool
	}{
		{name: "plain", stat: "1234 (lbgate) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 12 0 100 0 0", want: 3.8},
		{name: "command with spaces and parens", stat: "99 (a (b) c) R 1 2 3 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 0 0", want: 0.1},
		{name: "cut short", stat: "99 (x) R 1 2", wantErr: true},
		{name: "no command", stat: "garbage", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU(tt.stat)
			if (err != nil) != tt.wantErr || (!tt.wantErr && (got < tt.want-1e-9 || got > tt.want+1e-9)) {
				t.Errorf("parseStatCPU = %v, %v; want %v (error %t)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestOwnProcessMemoryAndCPU(t *testing.T) {
	m, err := processMemory(os.Getpid())
	if err != nil || m.RSS <= 0 || m.PeakRSS < m.RSS {
		t.Fatalf("processMemory = %+v, %v; want RSS > 0 and peak ≥ RSS", m, err)
	}
	if _, err := cpuSeconds(os.Getpid()); err != nil {
		t.Fatal(err)
	}
}

func TestReadCallLogAndAudit(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls.jsonl")
	// Two targets: 250 addresses in 2 calls (one retried after a refusal),
	// then 3; a repeated address counts once; the cut last line is ignored.
	lines := `{"at":"2026-01-01T00:00:00Z","method":"Register","target":"a","n":250,"err":"batch larger than the limit"}
{"at":"2026-01-01T00:00:01Z","method":"Register","target":"a","n":2,"addrs":["10.0.0.1:8080","10.0.0.2:8080"]}
{"at":"2026-01-01T00:00:02Z","method":"Register","target":"a","n":2,"addrs":["10.0.0.2:8080","10.0.0.3:8080"]}
{"at":"2026-01-01T00:00:03Z","method":"List","target":"a","n":0}
{"at":"2026-01-01T00:00:04Z","method":"Register","target":"b","n":1,"addrs":["10.0.1.1:8080"]}
{"at":"2026-01-01T00:00:05Z","method":"Li`
	if err := os.WriteFile(calls, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	pc, err := readCallLog(calls)
	if err != nil {
		t.Fatal(err)
	}
	if pc.ByMethod["Register"] != 4 || pc.ByMethod["List"] != 1 || pc.Failed != 1 {
		t.Errorf("by method %v, failed %d; want Register 4, List 1, failed 1", pc.ByMethod, pc.Failed)
	}
	if got := pc.Registered["10.0.0.2:8080"]; !got.Equal(time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)) {
		t.Errorf("10.0.0.2 registered at %s, want its first registration", got)
	}
	if got := pc.minRegisterCalls(2); got != 3 {
		t.Errorf("minRegisterCalls(2) = %d, want 2 for a's 3 addresses + 1 for b", got)
	}

	audit := filepath.Join(dir, "audit.log")
	events := `{"verb":"patch","user":{"username":"op"},"objectRef":{"resource":"pods","subresource":"status","namespace":"n","name":"p"},"stageTimestamp":"2026-01-01T00:00:01.000001Z","responseStatus":{"code":200}}
{"verb":"patch","user":{"username":"op"},"objectRef":{"resource":"pods","subresource":"status","namespace":"n","name":"p"},"stageTimestamp":"2026-01-01T00:00:02Z","responseStatus":{"code":409}}
{"verb":"list","user":{"username":"op"},"objectRef":{"resource":"pods"},"stageTimestamp":"2026-01-01T00:00:00Z","responseStatus":{"code":200}}
{"verb":"create","user":{"username":"someone-else"},"objectRef":{"resource":"pods"},"stageTimestamp":"2026-01-01T00:00:00Z","responseStatus":{"code":201}}
`
	if err := os.WriteFile(audit, []byte(events), 0o644); err != nil {
		t.Fatal(err)
	}
	reqs, writes, err := readAudit(audit, "op")
	if err != nil {
		t.Fatal(err)
	}
	if reqs.podStatusWrites() != 2 || reqs["list pods"] != 1 || len(reqs) != 2 {
		t.Errorf("requests %v; want 2 pod status patches and 1 list, nothing of other users", reqs)
	}
	if got := reqs.verbString(); got != "list 1, patch 2" {
		t.Errorf("verbString = %q", got)
	}
	if w := writes["n/p"]; len(w) != 1 || w[0].Nanosecond() != 1000 {
		t.Errorf("successful writes of n/p %v, want the one that succeeded, to the microsecond", w)
	}
}
