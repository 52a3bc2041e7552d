package cluster

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startShell starts sh -c script as component comp, logging to dir, and
// waits until the script has printed "ready" (so traps are in place).
func startShell(t *testing.T, dir string, comp Component, script string) *process {
	t.Helper()
	p, err := startProcess(comp, "/bin/sh", []string{"-c", script}, filepath.Join(dir, string(comp)+".log"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.stop(time.Second, t.Logf) })
	waitFor(t, 10*time.Second, string(comp)+" prints ready", func() bool {
		data, _ := os.ReadFile(p.logPath)
		return strings.Contains(string(data), "\nready\n")
	})
	return p
}

// waitFor polls cond every 20ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pidGone reports whether no process with this pid exists (reaped).
func pidGone(pid int) bool { return !processExists(pid) }

func TestStopSendsSIGTERMFirst(t *testing.T) {
	p := startShell(t, t.TempDir(), Etcd, `trap 'echo got TERM; exit 0' TERM; echo ready; while :; do sleep 0.1; done`)
	began := time.Now()
	if err := p.stop(10*time.Second, t.Logf); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("stop took %s: SIGTERM was not honoured", d)
	}
	if !pidGone(p.pid) {
		t.Errorf("pid %d still exists", p.pid)
	}
	if data, _ := os.ReadFile(p.logPath); !strings.Contains(string(data), "got TERM") {
		t.Errorf("the process did not see SIGTERM; log:\n%s", data)
	}
	if err := p.stop(time.Second, t.Logf); err != nil {
		t.Errorf("second stop: %v", err)
	}
}

func TestStopEscalatesToSIGKILL(t *testing.T) {
	// SIG_IGN survives exec: sleep ignores SIGTERM too.
	p := startShell(t, t.TempDir(), APIServer, `trap '' TERM; echo ready; exec sleep 60`)
	var logged []string
	began := time.Now()
	err := p.stop(300*time.Millisecond, func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) })
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d < 300*time.Millisecond {
		t.Errorf("SIGKILL came after %s, before the grace period", d)
	}
	if !pidGone(p.pid) {
		t.Errorf("pid %d still exists", p.pid)
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "SIGKILL") {
		t.Errorf("escalation not reported: %q", logged)
	}
}

// TestStopIsIdempotentAndConcurrent calls Stop from several goroutines, as a
// test cleanup and a signal handler may, and checks the stop order.
func TestStopIsIdempotentAndConcurrent(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	c := &Cluster{opts: Options{StopTimeout: 5 * time.Second, Logf: t.Logf}, procs: map[Component]*process{}}
	if err := c.prepareWorkDir(); err != nil {
		t.Fatal(err)
	}
	order := filepath.Join(t.TempDir(), "order")
	for _, comp := range Components() {
		script := fmt.Sprintf(`trap 'echo %s >> %s; exit 0' TERM; echo ready; while :; do sleep 0.1; done`, comp, order)
		c.procs[comp] = startShell(t, c.logDir, comp, script)
	}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { errs[i] = c.Stop() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Stop #%d: %v", i, err)
		}
	}
	for comp, pid := range c.PIDs() {
		if !pidGone(pid) {
			t.Errorf("%s (pid %d) survived Stop", comp, pid)
		}
	}
	if _, err := os.Stat(c.workDir); !os.IsNotExist(err) {
		t.Errorf("work dir %s not removed: %v", c.workDir, err)
	}
	data, err := os.ReadFile(order)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(string(data))
	if len(got) != 4 || got[2] != string(APIServer) || got[3] != string(Etcd) {
		t.Errorf("stop order %q, want the scheduler and controller-manager, then the apiserver, then etcd", got)
	}
}

func TestStopOnSignal(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	c := &Cluster{opts: Options{StopTimeout: 5 * time.Second, Logf: t.Logf}, procs: map[Component]*process{}}
	if err := c.prepareWorkDir(); err != nil {
		t.Fatal(err)
	}
	c.procs[Etcd] = startShell(t, c.logDir, Etcd, `echo ready; exec sleep 60`)
	ctx, cancel := c.StopOnSignal(context.Background())
	defer cancel()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("context not cancelled after SIGTERM")
	}
	if !c.procs[Etcd].exited() {
		t.Error("context cancelled before the cluster stopped")
	}
	if _, err := os.Stat(c.workDir); !os.IsNotExist(err) {
		t.Errorf("work dir %s not removed: %v", c.workDir, err)
	}
}

// TestComponentsDieWithTheirParent kills (SIGKILL, no cleanup) a helper
// process that started a component, and checks the component dies too.
func TestComponentsDieWithTheirParent(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperStartsAComponent$")
	cmd.Env = append(os.Environ(), "LBGATE_CLUSTER_HELPER="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := 0
	for sc := bufio.NewScanner(out); sc.Scan(); {
		if v, ok := strings.CutPrefix(sc.Text(), "component pid "); ok {
			pid, _ = strconv.Atoi(v)
			break
		}
	}
	if pid == 0 {
		t.Fatal("helper did not report its component's pid")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitFor(t, 10*time.Second, fmt.Sprintf("component pid %d is gone after its parent was killed", pid), func() bool {
		// The orphan is re-parented to init (or a subreaper) and reaped there;
		// a zombie counts as gone.
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		return err != nil || strings.Contains(string(stat), ") Z ")
	})
}

// TestHelperStartsAComponent is the helper of TestComponentsDieWithTheirParent;
// it does nothing in a normal run.
func TestHelperStartsAComponent(t *testing.T) {
	dir := os.Getenv("LBGATE_CLUSTER_HELPER")
	if dir == "" {
		t.Skip("helper process only")
	}
	p, err := startProcess(Scheduler, "/bin/sleep", []string{"60"}, filepath.Join(dir, "sleep.log"), nil)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("component pid %d\n", p.pid)
	time.Sleep(60 * time.Second) // killed by the parent test long before
}

// TestOutputCopiesPrefixedLines: with Options.Output set, every line goes to
// the log file and, prefixed with the component, to the output.
func TestOutputCopiesPrefixedLines(t *testing.T) {
	var out strings.Builder
	logPath := filepath.Join(t.TempDir(), "etcd.log")
	p, err := startProcess(Etcd, "/bin/sh", []string{"-c", "echo hello; echo oops >&2; printf partial"}, logPath, &out)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("process did not exit")
	}
	outputMu.Lock()
	got := out.String()
	outputMu.Unlock()
	if got != "[etcd] hello\n[etcd] oops\n" {
		t.Errorf("output %q", got)
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(data), "hello\noops\npartial") {
		t.Errorf("log %q", data)
	}
}
