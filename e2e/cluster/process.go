package cluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// killWait bounds the wait for a process to disappear after SIGKILL.
const killWait = 10 * time.Second

// process is one running component.
type process struct {
	comp    Component
	logPath string
	pid     int
	done    chan struct{} // closed once the process has exited and been reaped
	waitErr error         // the exit status; read only after done is closed
	logErr  error         // closing the log file; read only after done is closed
}

// startProcess starts bin with args, its stdout and stderr appended to
// logPath (and copied, line by line with a prefix, to output when not nil).
//
// The child runs in its own process group (Setpgid), so a Ctrl-C on the
// terminal reaches the harness, not the components, and Stop can signal the
// whole group; and with a parent-death signal (Pdeathsig SIGKILL), so it dies
// when the process that started it dies, even by SIGKILL. Linux delivers
// the parent-death signal when the *thread* that forked the child exits, not
// the process, and the Go runtime may retire threads: the child is therefore
// started and waited for from a goroutine locked to its OS thread for the
// child's whole life.
func startProcess(comp Component, bin string, args []string, logPath string, output io.Writer) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s: open log: %w", comp, err)
	}
	if _, err := fmt.Fprintf(logFile, "=== %s lbgate e2e harness: %s %s\n",
		time.Now().Format(time.RFC3339Nano), bin, strings.Join(args, " ")); err != nil {
		return nil, errors.Join(fmt.Errorf("%s: write log: %w", comp, err), logFile.Close())
	}

	cmd := exec.Command(bin, args...)
	cmd.Stdin = nil // /dev/null: a background process group must not read the terminal
	if output != nil {
		w := io.MultiWriter(logFile, newPrefixWriter(output, string(comp)))
		cmd.Stdout, cmd.Stderr = w, w
	} else {
		cmd.Stdout, cmd.Stderr = logFile, logFile
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	p := &process{comp: comp, logPath: logPath, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread() // only after Wait: the child is gone by then
		if err := cmd.Start(); err != nil {
			started <- errors.Join(err, logFile.Close())
			return
		}
		p.pid = cmd.Process.Pid
		started <- nil
		p.waitErr = cmd.Wait()
		p.logErr = logFile.Close()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, &ComponentError{Component: comp, Op: "start " + bin, LogPath: logPath,
			LogTail: logTail(logPath, tailLines), Err: err}
	}
	return p, nil
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitError describes how the process ended, for errors.
func (p *process) exitError() error {
	if p.waitErr != nil {
		return fmt.Errorf("exited: %w", p.waitErr)
	}
	return errors.New("exited with status 0")
}

// closeLogError is the error of closing the log file (the child's output
// written there may be incomplete), or nil. Call it only after done is closed.
func (p *process) closeLogError() error {
	if p.logErr != nil {
		return fmt.Errorf("%s: close log %s: %w", p.comp, p.logPath, p.logErr)
	}
	return nil
}

// signalGroup sends sig to the process's group; a group already gone is fine.
func (p *process) signalGroup(sig syscall.Signal) error {
	if err := syscall.Kill(-p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("%s: send %v to process group %d: %w", p.comp, sig, p.pid, err)
	}
	return nil
}

// stop sends SIGTERM to the process group, SIGKILL after grace, and waits
// until the process has exited. It is a no-op when the process has exited.
func (p *process) stop(grace time.Duration, logf func(string, ...any)) error {
	if p.exited() {
		return p.closeLogError()
	}
	if err := p.signalGroup(syscall.SIGTERM); err != nil {
		return err
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return p.closeLogError()
	case <-timer.C:
	}
	logf("%s (pid %d) still running %s after SIGTERM: sending SIGKILL", p.comp, p.pid, grace)
	if err := p.signalGroup(syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-p.done:
		return p.closeLogError()
	case <-time.After(killWait):
		return componentError(p, "stop", fmt.Errorf("pid %d still running %s after SIGKILL", p.pid, killWait))
	}
}
