package haproxy

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

// pipelineErrorCommands are the commands of testdata/pipeline-errors.txt.
var pipelineErrorCommands = []string{
	"set server web/nope state ready",
	"set server nope/x state ready",
	"show servers state nope",
	"show stat nope -1 -1",
	"add server fixed/x 127.0.0.1:1",
	"set server web/lbgate-5-i200r2f2 weight 7",
	"add server web/lbgate-probe",
	"set server web/lbgate-5-i200r2f2 weight 7",
	"show servers state fixed",
}

var capture = flag.Bool("capture", false, "capture real HAProxy output into testdata/ (go test -run TestCaptureTestdata -capture)")

// TestCaptureTestdata drives a real HAProxy with raw Runtime API commands
// into known server states and saves what `show servers state` and
// `show stat` print, for the parser tests. It runs only with -capture.
func TestCaptureTestdata(t *testing.T) {
	if !*capture {
		t.Skip("run with -capture to refresh testdata/ from the installed HAProxy")
	}
	h := haproxytest.Start(t, haproxytest.Config{
		Backends:       []string{"web"},
		StaticBackends: map[string]int{"fixed": 2},
	})
	ok := haproxytest.StartServer(t, "ok", haproxytest.LoopbackIP(1))
	bad := haproxytest.StartServer(t, "bad", haproxytest.LoopbackIP(2))
	bad.SetHealthy(false)
	drained := haproxytest.StartServer(t, "drained", haproxytest.LoopbackIP(3))
	dead := haproxytest.LoopbackIP(5).String() + ":9"

	cmd := func(c string) {
		t.Helper()
		if out := h.MustCommand(c); strings.Contains(out, "No such") || strings.Contains(out, "denied") {
			t.Fatalf("%s: %s", c, out)
		}
	}
	slot := func(n int, addr string) string {
		name := fmt.Sprintf("web/lbgate-%d-i200r2f2", n)
		cmd("add server " + name + " " + addr + " weight 10 check inter 200ms rise 2 fall 2")
		return name
	}
	ready := slot(1, ok.Addr.String())
	cmd("enable health " + ready)
	cmd("set server " + ready + " state ready")
	failing := slot(2, bad.Addr.String())
	cmd("enable health " + failing)
	cmd("set server " + failing + " state drain")
	cmd("set server " + failing + " health down")
	leaving := slot(3, drained.Addr.String())
	cmd("enable health " + leaving)
	cmd("set server " + leaving + " state ready")
	slot(4, "127.0.0.1:1")
	refused := slot(5, dead)
	cmd("enable health " + refused)
	cmd("set server " + refused + " state drain")
	cmd("add server web/other " + ok.Addr.String())
	cmd("set server web/other state ready")

	stat := func(name string) string {
		out := h.MustCommand("show stat web -1 -1")
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "web,"+strings.TrimPrefix(name, "web/")+",") {
				return l
			}
		}
		return ""
	}
	haproxytest.Eventually(t, 10*time.Second, func() error {
		for name, want := range map[string]string{ready: ",UP,", failing: ",L7STS,", leaving: ",UP,", refused: ",L4CON,"} {
			if l := stat(name); !strings.Contains(l, want) || strings.Contains(l, "* ") {
				return fmt.Errorf("%s: want %s in %q", name, want, l)
			}
		}
		return nil
	})
	cmd("set server " + leaving + " state drain")
	cmd("disable health " + leaving)

	if refused != "web/lbgate-5-i200r2f2" {
		t.Fatalf("pipelineErrorCommands names the wrong slot")
	}
	dir := "testdata"
	for file, c := range map[string]string{
		"servers-state-web.txt": "show servers state web",
		"servers-state-all.txt": "show servers state",
		"stat-web.csv":          "show stat web -1 -1",
		"stat-all.csv":          "show stat",
		// The raw output of Client.Run's line for pipelineErrorCommands.
		"pipeline-errors.txt": strings.TrimSuffix(pipeline(pipelineErrorCommands), "\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(h.MustCommand(c)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte(h.MustCommand("show version")), 0o644); err != nil {
		t.Fatal(err)
	}
}
