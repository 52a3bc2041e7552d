package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

func TestSweepStaleWorkDirs(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)

	dead := exec.Command("/bin/true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(name string, owner int) string {
		dir := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o700); err != nil {
			t.Fatal(err)
		}
		if owner != 0 {
			if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(owner)+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	stale := mk(tempDirPrefix+"stale", dead.Process.Pid)
	live := mk(tempDirPrefix+"live", os.Getpid())
	kept := mk(tempDirPrefix+"kept", 0)
	other := mk("someone-else", dead.Process.Pid)

	sweepStaleWorkDirs(t.Logf)

	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale dir of a dead owner not removed: %v", err)
	}
	for _, dir := range []string{live, kept, other} {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s removed: %v", dir, err)
		}
	}
}

// TestKeepWorkDir: a kept temporary work dir survives Stop and loses its
// owner file, so no later Start sweeps it away.
func TestKeepWorkDir(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	c := &Cluster{opts: Options{Logf: t.Logf}, procs: map[Component]*process{}}
	if err := c.prepareWorkDir(); err != nil {
		t.Fatal(err)
	}
	c.SetKeepWorkDir(true)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.logDir); err != nil {
		t.Errorf("kept work dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(c.workDir, ownerFile)); !os.IsNotExist(err) {
		t.Errorf("owner file still there: %v", err)
	}
}
