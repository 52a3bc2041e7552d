package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeBinDir writes the four component binaries as shell scripts: etcd runs
// etcdScript, the others would fail if ever reached.
func fakeBinDir(t *testing.T, etcdScript string) string {
	t.Helper()
	dir := t.TempDir()
	for _, comp := range Components() {
		script := "#!/bin/sh\necho unexpected start of " + string(comp) + "; exit 1\n"
		if comp == Etcd {
			script = "#!/bin/sh\n" + etcdScript + "\n"
		}
		if err := os.WriteFile(filepath.Join(dir, string(comp)), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestStartFailureNamesComponentAndLog(t *testing.T) {
	bin := fakeBinDir(t, `echo "starting fake etcd"; echo "fatal: cannot open data dir" >&2; exit 3`)
	work := t.TempDir()
	_, err := Start(context.Background(), Options{BinDir: bin, WorkDir: work})
	var ce *ComponentError
	if !errors.As(err, &ce) {
		t.Fatalf("Start error %v is not a *ComponentError", err)
	}
	if ce.Component != Etcd || ce.LogPath != filepath.Join(work, "logs", "etcd.log") {
		t.Errorf("component %q log %q", ce.Component, ce.LogPath)
	}
	msg := err.Error()
	for _, want := range []string{"etcd:", "exit status 3", ce.LogPath, "fatal: cannot open data dir", work} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if _, err := os.Stat(ce.LogPath); err != nil {
		t.Errorf("log named in the error: %v", err)
	}
}

// TestStartTimeoutStopsTheComponent: a component that never becomes healthy
// is reported with the timeout and stopped, not left running.
func TestStartTimeoutStopsTheComponent(t *testing.T) {
	work := t.TempDir()
	pidFile := filepath.Join(work, "etcd.pid")
	bin := fakeBinDir(t, `echo $$ > `+pidFile+`; echo "listening nowhere"; exec sleep 60`)
	began := time.Now()
	_, err := Start(context.Background(), Options{BinDir: bin, WorkDir: work, StartTimeout: time.Second, StopTimeout: time.Second})
	if err == nil {
		t.Fatal("Start succeeded with a fake etcd")
	}
	if !strings.Contains(err.Error(), "deadline exceeded") || !strings.Contains(err.Error(), "listening nowhere") {
		t.Errorf("error lacks the timeout or the log tail:\n%v", err)
	}
	if d := time.Since(began); d > 20*time.Second {
		t.Errorf("Start took %s to give up", d)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if pid == 0 || !pidGone(pid) {
		t.Errorf("fake etcd (pid %d) still running after Start failed", pid)
	}
}

func TestStartWithoutBinaries(t *testing.T) {
	_, err := Start(context.Background(), Options{BinDir: t.TempDir()})
	if !errors.Is(err, ErrNoBinaries) || !strings.Contains(err.Error(), "make control-plane-all") {
		t.Errorf("Start without binaries: %v", err)
	}
}

func TestIsPortConflict(t *testing.T) {
	taken := &ComponentError{Component: Etcd, LogTail: []string{`listen tcp 127.0.0.1:2379: bind: address already in use`}}
	if !isPortConflict(taken) {
		t.Error("bind failure not recognised")
	}
	if isPortConflict(&ComponentError{Component: Etcd, LogTail: []string{"other failure"}}) || isPortConflict(errors.New("x")) {
		t.Error("other failures taken for port conflicts")
	}
}
