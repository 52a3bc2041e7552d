package stack

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Operator is the lbgate binary running as a process against the stack.
type Operator struct {
	binary  string
	args    []string
	logPath string
	probe   string
	// webhookURL is the URL its webhook is reached at ("" without webhook).
	webhookURL string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	starts int
	// logErr holds the errors of closing the log file after each run.
	logErr error
}

// BuildOperator compiles cmd/lbgate of the module at moduleDir into dir and returns the binary's path.
func BuildOperator(ctx context.Context, moduleDir, dir string) (string, error) {
	out := filepath.Join(dir, "lbgate")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/lbgate")
	cmd.Dir = moduleDir
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building lbgate: %w\n%s", err, b)
	}
	return out, nil
}

// Start starts the operator and waits until it reports ready.
func (o *Operator) Start(ctx context.Context) error {
	o.mu.Lock()
	o.starts++
	logf, err := os.OpenFile(o.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		o.mu.Unlock()
		return err
	}
	if _, err := fmt.Fprintf(logf, "---- start %d: %s %v\n", o.starts, o.binary, o.args); err != nil {
		o.mu.Unlock()
		return errors.Join(fmt.Errorf("writing %s: %w", o.logPath, err), logf.Close())
	}
	cmd := exec.Command(o.binary, o.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		o.mu.Unlock()
		return errors.Join(fmt.Errorf("starting lbgate: %w", err), logf.Close())
	}
	exited := make(chan struct{})
	o.cmd, o.exited = cmd, exited
	o.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		if err := logf.Close(); err != nil {
			o.mu.Lock()
			o.logErr = errors.Join(o.logErr, fmt.Errorf("closing %s: %w", o.logPath, err))
			o.mu.Unlock()
		}
		close(exited)
	}()
	return o.waitReady(ctx, exited)
}

// waitReady polls /readyz until it answers 200, the process exits, or ctx ends.
func (o *Operator) waitReady(ctx context.Context, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{}}}
	for {
		resp, err := client.Get("http://" + o.probe + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("lbgate exited during start-up; see %s", o.logPath)
		case <-ctx.Done():
			return fmt.Errorf("lbgate not ready: %w; see %s", ctx.Err(), o.logPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Kill kills the operator at once (SIGKILL), as a crashed or evicted pod.
func (o *Operator) Kill() {
	o.signal(syscall.SIGKILL)
}

// Stop asks the operator to stop (SIGTERM) and waits for it, killing it after 10 s.
func (o *Operator) Stop() {
	o.signal(syscall.SIGTERM)
}

func (o *Operator) signal(sig syscall.Signal) {
	o.mu.Lock()
	cmd, exited := o.cmd, o.exited
	o.cmd = nil
	o.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

// LogError returns the errors of closing the log file after the runs that
// ended (its last lines may be missing then), or nil.
func (o *Operator) LogError() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.logErr
}

// LogPath is the operator's log file.
func (o *Operator) LogPath() string { return o.logPath }

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
