package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/go-logr/logr"
)

func TestPprofBindAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := l.Addr().String()
	l.Close()
	tests := []struct {
		addr    string
		wantErr string
	}{
		{addr: ""},
		{addr: free},
		{addr: ":6060", wantErr: "loopback"},
		{addr: "0.0.0.0:6060", wantErr: "loopback"},
		{addr: "10.0.0.1:6060", wantErr: "loopback"},
		{addr: "127.0.0.1", wantErr: `--pprof-bind-address="127.0.0.1"`},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			pprofAddr = tt.addr
			t.Cleanup(func() { pprofAddr = "" })
			err := servePprof(t.Context(), logr.Discard())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.addr) {
					t.Fatalf("servePprof(%q) = %v, want an error naming the flag value and %q", tt.addr, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.addr == "" {
				return
			}
			resp, err := http.Get("http://" + tt.addr + "/debug/pprof/heap?debug=1")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "HeapInuse") {
				t.Errorf("heap profile: %d %.200s", resp.StatusCode, body)
			}
		})
	}
}
