package haproxytest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ReloadGracefully replaces the running haproxy with a new process on the
// same configuration, as `systemctl reload haproxy` does: the new process
// starts with -sf (the old one finishes its connections and exits) and, with
// Config.ServerState, -x on the admin socket, so the listening sockets are
// handed over rather than re-bound. With saveState it first dumps `show
// servers state` into the configured server-state-file, which the new
// process loads: servers declared in the configuration keep their address
// and state; servers added at run time are forgotten either way.
// It returns once the new process answers on the admin socket.
func (h *HAProxy) ReloadGracefully(saveState bool) error {
	old, err := h.pid()
	if err != nil {
		return fmt.Errorf("reload: the running haproxy does not answer: %w", err)
	}
	if saveState {
		if err := h.SaveServerState(); err != nil {
			return err
		}
	}
	h.mu.Lock()
	if h.cmd != nil {
		h.retired = append(h.retired, h.cmd)
	}
	h.mu.Unlock()
	args := []string{"-sf", strconv.Itoa(old)}
	if h.exposesListeners() {
		args = append([]string{"-x", h.AdminSocket()}, args...)
	}
	// The old process soft-stops and exits once its connections are done;
	// launch's goroutine reaps it, and Stop kills it if it is still there.
	return h.launch(args...)
}

// SaveServerState writes `show servers state` into the server-state-file of
// Config.ServerState, as a reload script does before it reloads.
func (h *HAProxy) SaveServerState() error {
	out, err := h.Command("show servers state")
	if err != nil {
		return fmt.Errorf("show servers state: %w", err)
	}
	if !strings.HasPrefix(out, "1\n") {
		return fmt.Errorf("show servers state: unexpected answer %q", out)
	}
	tmp := h.ServerStateFile() + ".tmp"
	if err := os.WriteFile(tmp, []byte(out), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, h.ServerStateFile())
}

// ServerStateFile is the path of the server-state-file (Config.ServerState).
func (h *HAProxy) ServerStateFile() string { return filepath.Join(h.dir, serverStateFile) }

// Pid returns the process id of the haproxy that answers on the admin socket.
func (h *HAProxy) Pid() (int, error) { return h.pid() }

func (h *HAProxy) pid() (int, error) {
	out, err := h.Command("show info")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Pid: "); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, errors.New("show info has no Pid")
}

// exposesListeners reports whether the configuration hands listeners over on reload.
func (h *HAProxy) exposesListeners() bool {
	b, err := os.ReadFile(h.cfgPath)
	return err == nil && strings.Contains(string(b), "expose-fd listeners")
}
