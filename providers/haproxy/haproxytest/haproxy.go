// Package haproxytest runs a real HAProxy and real HTTP backends on
// 127.0.0.0/8 for tests of the HAProxy provider, the controllers on envtest,
// and the end-to-end suite.
package haproxytest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartTimeout bounds how long Start and Restart wait for the Runtime API.
const StartTimeout = 10 * time.Second

// Binary returns the path of the haproxy binary, or "" when it is not installed.
func Binary() string {
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/haproxy"); err == nil {
		return "/usr/sbin/haproxy"
	}
	return ""
}

// HAProxy is a running haproxy process owned by a test (or by the demo, when t is nil).
type HAProxy struct {
	t         testing.TB
	bin       string
	dir       string
	cfgPath   string
	tcpPort   int
	tlsPort   int
	frontends map[string]int
	log       syncBuffer

	mu      sync.Mutex
	retired []*exec.Cmd // processes replaced by ReloadGracefully, soft-stopping
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
}

// Start writes a configuration for cfg, starts haproxy in the foreground,
// waits until its admin socket answers, and stops it when the test ends.
// It skips the test when haproxy is not installed.
func Start(t testing.TB, cfg Config) *HAProxy {
	t.Helper()
	if Binary() == "" {
		t.Skip("haproxy is not installed (apt-get install haproxy): skipping tests against a real HAProxy")
	}
	h, err := Launch(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.t = t
	t.Cleanup(func() {
		h.Close()
		if t.Failed() {
			t.Logf("haproxy output:\n%s", h.log.String())
		}
	})
	return h
}

// Launch is Start for programs that are not tests (the local demo): it
// returns errors instead of failing a test, and Close stops haproxy and
// removes its directory.
func Launch(cfg Config) (*HAProxy, error) {
	bin := Binary()
	if bin == "" {
		return nil, errors.New("haproxy is not installed: apt-get install -y haproxy")
	}
	cfg.defaults()
	// A short directory: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "hapx")
	if err != nil {
		return nil, err
	}
	h := &HAProxy{bin: bin, dir: dir, cfgPath: filepath.Join(dir, "haproxy.cfg"), frontends: map[string]int{}}
	fail := func(err error) (*HAProxy, error) {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	names := append([]string(nil), cfg.Backends...)
	for name := range cfg.StaticBackends {
		names = append(names, name)
	}
	for _, name := range names {
		if h.frontends[name], err = freePort("127.0.0.1"); err != nil {
			return fail(err)
		}
	}
	if cfg.TCPSocket {
		if h.tcpPort, err = freePort("127.0.0.1"); err != nil {
			return fail(err)
		}
	}
	if cfg.TLS != nil {
		if h.tlsPort, err = freePort("127.0.0.1"); err != nil {
			return fail(err)
		}
	}
	if err := os.WriteFile(h.cfgPath, []byte(cfg.render(dir, h.tcpPort, h.tlsPort, h.frontends)), 0o600); err != nil {
		return fail(err)
	}
	if out, err := exec.Command(bin, "-c", "-q", "-f", h.cfgPath).CombinedOutput(); err != nil {
		return fail(fmt.Errorf("haproxy rejected the generated configuration: %w\n%s", err, out))
	}
	if err := h.start(); err != nil {
		return fail(err)
	}
	return h, nil
}

// Close stops haproxy and removes its directory.
func (h *HAProxy) Close() {
	h.Stop()
	_ = os.RemoveAll(h.dir)
}

// start launches the process and waits for the admin socket.
func (h *HAProxy) start() error { return h.launch() }

// launch starts haproxy with extra arguments (such as -sf) and waits until
// the admin socket answers from the new process.
func (h *HAProxy) launch(extra ...string) error {
	cmd := exec.Command(h.bin, append([]string{"-db", "-f", h.cfgPath}, extra...)...)
	cmd.Stdout, cmd.Stderr = &h.log, &h.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test or demo
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start haproxy: %w", err)
	}
	exited := make(chan struct{})
	h.mu.Lock()
	h.cmd, h.exited, h.exitErr = cmd, exited, nil
	h.mu.Unlock()
	go func() {
		err := cmd.Wait()
		if err == nil {
			err = errors.New("exit status 0") // an exit is never expected: say how it went
		}
		h.mu.Lock()
		if h.exited == exited {
			h.exitErr = err
		}
		h.mu.Unlock()
		close(exited)
	}()
	deadline := time.Now().Add(StartTimeout)
	for {
		if pid, err := h.pid(); err == nil && pid == cmd.Process.Pid {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("haproxy exited at start: %w\n%s", h.exitError(), h.log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("haproxy admin socket did not answer within %s\n%s", StartTimeout, h.log.String())
		}
	}
}

// Stop stops haproxy (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (h *HAProxy) Stop() {
	h.mu.Lock()
	cmd, exited, retired := h.cmd, h.exited, h.retired
	h.retired = nil
	h.mu.Unlock()
	for _, old := range retired {
		_ = old.Process.Kill() // already reaped if it exited; then this fails harmlessly
	}
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Restart stops haproxy and starts it again with the same configuration:
// every server added at run time is forgotten, as after a reload.
func (h *HAProxy) Restart() {
	if err := h.Reload(); err != nil {
		h.t.Helper()
		h.t.Fatal(err)
	}
}

// Reload is Restart that returns its error, for programs that are not tests.
func (h *HAProxy) Reload() error {
	h.Stop()
	return h.start()
}

// Alive returns nil when the process runs and its admin socket answers, and
// otherwise says how it ended (for example "signal: segmentation fault").
func (h *HAProxy) Alive() error {
	h.mu.Lock()
	exited := h.exited
	h.mu.Unlock()
	select {
	case <-exited:
		return fmt.Errorf("haproxy exited: %w", h.exitError())
	default:
	}
	if _, err := h.Command("show info"); err != nil {
		return fmt.Errorf("haproxy admin socket does not answer: %w", err)
	}
	return nil
}

func (h *HAProxy) exitError() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.exitErr
}

// Log returns what haproxy printed so far (server state changes, alerts).
func (h *HAProxy) Log() string { return h.log.String() }

// Dir returns the temporary directory holding the config and sockets.
func (h *HAProxy) Dir() string { return h.dir }

// AdminSocket returns the path of the admin-level Runtime API socket.
func (h *HAProxy) AdminSocket() string { return filepath.Join(h.dir, "admin.sock") }

// RuntimeAPI returns the admin socket as unix:///path.
func (h *HAProxy) RuntimeAPI() string { return "unix://" + h.AdminSocket() }

// UserRuntimeAPI returns the user-level socket (Config.UserSocket) as unix:///path.
func (h *HAProxy) UserRuntimeAPI() string { return "unix://" + filepath.Join(h.dir, "user.sock") }

// TCPRuntimeAPI returns the admin TCP Runtime API (Config.TCPSocket) as tcp://127.0.0.1:port.
func (h *HAProxy) TCPRuntimeAPI() string { return fmt.Sprintf("tcp://127.0.0.1:%d", h.tcpPort) }

// TLSRuntimeAPI returns the admin Runtime API over TLS (Config.TLS) as tls://127.0.0.1:port.
func (h *HAProxy) TLSRuntimeAPI() string { return fmt.Sprintf("tls://127.0.0.1:%d", h.tlsPort) }

// Frontend returns the URL of the frontend that sends traffic to backend.
func (h *HAProxy) Frontend(backend string) string {
	port, ok := h.frontends[backend]
	if !ok && h.t != nil {
		h.t.Fatalf("no frontend for backend %q", backend)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// Command sends one Runtime API command on the admin socket and returns the answer.
func (h *HAProxy) Command(cmd string) (string, error) {
	conn, err := net.DialTimeout("unix", h.AdminSocket(), time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", err
	}
	out, err := io.ReadAll(conn)
	if err != nil {
		return "", err
	}
	if len(out) == 0 {
		return "", errors.New("empty answer")
	}
	return string(out), nil
}

// MustCommand is Command that fails the test on a transport error.
func (h *HAProxy) MustCommand(cmd string) string {
	h.t.Helper()
	out, err := h.Command(cmd)
	if err != nil {
		h.t.Fatalf("haproxy %q: %v", cmd, err)
	}
	return out
}

// FreePort returns a TCP port that was free on host a moment ago.
func FreePort(t testing.TB, host string) int {
	t.Helper()
	port, err := freePort(host)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer is a bytes.Buffer safe for the process's writers and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
