package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// operatorProc is the real lbgate binary as its own process, so its CPU
// time and memory are its own.
type operatorProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	// Pprof is the base URL of its profiles (http://127.0.0.1:PORT/debug/pprof).
	Pprof   string
	LogPath string
	binary  string
	// logErr is the error of closing the log file once the process
	// exited (a lost write of the log shows there); set before exited is
	// closed.
	logErr error
}

// startOperator runs binary with args plus a probe and a pprof address on
// loopback, logging to logPath, and waits until /readyz answers.
func startOperator(ctx context.Context, binary, logPath string, args ...string) (*operatorProc, error) {
	probe, err := freeAddr()
	if err != nil {
		return nil, err
	}
	pprof, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args = append([]string{"--health-probe-bind-address=" + probe, "--pprof-bind-address=" + pprof, "--metrics-bind-address=0", "--log-format=json"}, args...)
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logf, "# %s %s\n", binary, strings.Join(args, " "))
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, errors.Join(fmt.Errorf("starting %s: %w", binary, err), logf.Close())
	}
	o := &operatorProc{cmd: cmd, exited: make(chan struct{}), Pprof: "http://" + pprof + "/debug/pprof", LogPath: logPath, binary: binary}
	go func() {
		_ = cmd.Wait()
		o.logErr = logf.Close()
		close(o.exited)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + probe + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return o, nil
			}
		}
		select {
		case <-o.exited:
			return nil, errors.Join(fmt.Errorf("lbgate exited during start-up; see %s", logPath), o.logErr)
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), o.Stop())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, errors.Join(fmt.Errorf("lbgate not ready after 60 s; see %s", logPath), o.Stop())
		}
	}
}

// Pid is the process id.
func (o *operatorProc) Pid() int { return o.cmd.Process.Pid }

// CPU is the CPU seconds the process has used so far.
func (o *operatorProc) CPU() float64 {
	s, _ := cpuSeconds(o.Pid())
	return s
}

// Memory is the process's resident memory now and at its peak.
func (o *operatorProc) Memory() memory {
	m, _ := processMemory(o.Pid())
	return m
}

// Stop sends SIGTERM and waits, killing after 10 s. Its error is the log
// file's Close: the log may have lost its last lines.
func (o *operatorProc) Stop() error {
	_ = o.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-o.exited:
	case <-time.After(10 * time.Second):
		_ = o.cmd.Process.Kill()
		<-o.exited
	}
	return o.logErr
}

// stopOperator stops op and notes on sc when its log lost writes.
func stopOperator(op *operatorProc, sc *Scenario) {
	if err := op.Stop(); err != nil {
		sc.note("lbgate's log %s: %v", op.LogPath, err)
	}
}

// profileCPU starts a CPU profile of seconds and returns a function that
// waits for it and writes it to path.
func (o *operatorProc) profileCPU(seconds int, path string) func() error {
	done := make(chan error, 1)
	go func() { done <- fetch(fmt.Sprintf("%s/profile?seconds=%d", o.Pprof, seconds), path) }()
	return func() error { return <-done }
}

// profileHeap writes a heap profile (after a GC, as pprof does) to path.
func (o *operatorProc) profileHeap(path string) error {
	return fetch(o.Pprof+"/heap?gc=1", path)
}

// heapStats reads the runtime's MemStats lines the text heap profile ends with.
func (o *operatorProc) heapStats() (map[string]int64, error) {
	resp, err := http.Get(o.Pprof + "/heap?debug=1")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		// "# HeapInuse = 12345"
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "# "), " = ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out, nil
}

func fetch(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close() // the copy's error says it already
		return err
	}
	return f.Close() // a lost write of the profile shows here
}

// pprofTop runs `go tool pprof -top` on a profile and returns its first lines.
func pprofTop(binary, profile string, extra ...string) []string {
	args := append([]string{"tool", "pprof", "-top", "-nodecount=12"}, extra...)
	args = append(args, binary, profile)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		return []string{fmt.Sprintf("go tool pprof %s: %v: %s", filepath.Base(profile), err, strings.TrimSpace(string(out)))}
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	// Drop the header lines about the file, type and time.
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "flat") {
			return lines[max(0, i-1):]
		}
	}
	return lines
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
