package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Temporary work directories are os.TempDir()/lbgate-cluster-*, each with an
// owner file holding the pid of the process that created it. A process that
// dies without calling Stop (go test -timeout panics, SIGKILL) leaves its
// directory behind, but not its components (they get the parent-death
// signal); the next Start removes such directories.
const (
	tempDirPrefix = "lbgate-cluster-"
	ownerFile     = ".lbgate-cluster-owner"
)

// prepareWorkDir creates the work and log directories.
func (c *Cluster) prepareWorkDir() error {
	if c.opts.WorkDir != "" {
		c.workDir = c.opts.WorkDir
		if err := ensureDir(c.workDir); err != nil {
			return fmt.Errorf("work dir: %w", err)
		}
	} else {
		sweepStaleWorkDirs(c.opts.Logf)
		dir, err := os.MkdirTemp("", tempDirPrefix)
		if err != nil {
			return fmt.Errorf("work dir: %w", err)
		}
		owner := filepath.Join(dir, ownerFile)
		if err := os.WriteFile(owner, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
			_ = os.RemoveAll(dir)
			return fmt.Errorf("work dir: %w", err)
		}
		c.workDir, c.ownsWorkDir = dir, true
	}
	c.logDir = c.opts.LogDir
	if c.logDir == "" {
		c.logDir = filepath.Join(c.workDir, "logs")
	}
	if err := ensureDir(c.logDir); err != nil {
		return fmt.Errorf("log dir: %w", err)
	}
	return nil
}

// releaseWorkDir removes a temporary work directory, or, when it is to be
// kept, removes its owner file so no later Start sweeps it away.
func (c *Cluster) releaseWorkDir() error {
	if !c.ownsWorkDir {
		return nil
	}
	if c.keep.Load() {
		c.opts.Logf("work dir kept: %s", c.workDir)
		if err := os.Remove(filepath.Join(c.workDir, ownerFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("keep work dir: %w", err)
		}
		return nil
	}
	if err := os.RemoveAll(c.workDir); err != nil {
		return fmt.Errorf("remove work dir: %w", err)
	}
	return nil
}

// sweepStaleWorkDirs removes temporary work directories whose owner process
// no longer exists. Directories without an owner file (kept on purpose, or
// being created right now) are left alone.
func sweepStaleWorkDirs(logf func(string, ...any)) {
	dirs, err := filepath.Glob(filepath.Join(os.TempDir(), tempDirPrefix+"*"))
	if err != nil {
		return
	}
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 || processExists(pid) {
			continue
		}
		if err := os.RemoveAll(dir); err == nil {
			logf("removed stale work dir %s (owner pid %d is gone)", dir, pid)
		}
	}
}

// processExists reports whether a process with this pid exists (possibly
// owned by another user).
func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// ensureDir creates dir (and parents) when missing.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return nil
}
