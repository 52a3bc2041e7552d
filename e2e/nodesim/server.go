package nodesim

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// listenRetry is how often a port that could not be bound is tried again.
const listenRetry = 200 * time.Millisecond

// portServer is one listening port of a container's app: it starts to
// listen after the start-up delay and stops gracefully (SIGTERM) or at once
// (SIGKILL).
type portServer struct {
	addr    string
	handler *appHandler
	log     logr.Logger

	mu        sync.Mutex
	srv       *http.Server
	listening time.Time
	stopping  bool
	stopCh    chan struct{}
	done      chan struct{}
}

func newPortServer(addr string, h *appHandler, log logr.Logger) *portServer {
	s := &portServer{addr: addr, handler: h, log: log.WithValues("addr", addr), stopCh: make(chan struct{}), done: make(chan struct{})}
	h.listeningSince = s.listeningSince
	return s
}

// run listens after delay and serves until the server is stopped.
func (s *portServer) run(base context.Context, delay time.Duration) {
	defer close(s.done)
	if !s.wait(delay) {
		return
	}
	var ln net.Listener
	for warned := false; ; {
		var err error
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		if !warned {
			s.log.Error(err, "Cannot listen; retrying until the container stops")
			warned = true
		}
		if !s.wait(listenRetry) {
			return
		}
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          log.New(logWriter{s.log}, "", 0),
	}
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		_ = ln.Close()
		return
	}
	s.srv, s.listening = srv, time.Now()
	s.mu.Unlock()
	s.log.V(1).Info("Listening")
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error(err, "Serve ended")
	}
}

// wait sleeps for d unless the server is stopped first.
func (s *portServer) wait(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stopCh:
		return false
	}
}

// listeningSince is when the port began to listen (the zero time before).
func (s *portServer) listeningSince() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listening
}

// begin marks the server stopping and returns its http.Server, if it listens.
func (s *portServer) begin() *http.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopping {
		s.stopping = true
		close(s.stopCh)
	}
	return s.srv
}

// shutdown stops accepting connections and waits for in-flight requests
// until ctx ends (http.Server.Shutdown: SIGTERM to a well-behaved app).
func (s *portServer) shutdown(ctx context.Context) error {
	srv := s.begin()
	if srv == nil {
		<-s.done
		return nil
	}
	err := srv.Shutdown(ctx)
	if err == nil {
		<-s.done
	}
	return err
}

// close drops every connection at once (SIGKILL).
func (s *portServer) close() {
	if srv := s.begin(); srv != nil {
		_ = srv.Close()
	}
	<-s.done
}

// logWriter feeds net/http's error log into logr at debug level.
type logWriter struct{ log logr.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.V(1).Info(strings.TrimSpace(string(p)))
	return len(p), nil
}

// containerApp is the simulated process of one container: one portServer
// per served port, all on the pod IP.
type containerApp struct {
	servers  []*portServer
	handlers []*appHandler
	cancel   context.CancelFunc
}

// startApp starts the servers; each listens after delay.
func startApp(servers []*portServer, delay time.Duration) *containerApp {
	base, cancel := context.WithCancel(context.Background())
	a := &containerApp{servers: servers, cancel: cancel}
	for _, s := range servers {
		a.handlers = append(a.handlers, s.handler)
		go s.run(base, delay)
	}
	return a
}

// stop is SIGTERM followed by SIGKILL after window: the servers stop
// accepting and finish in-flight requests; whatever is still running when
// window (or ctx) ends is killed. It returns the exit code: 0 after a
// graceful stop, 137 after a kill.
func (a *containerApp) stop(ctx context.Context, window time.Duration) int32 {
	sctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	errs := make(chan error, len(a.servers))
	for _, s := range a.servers {
		go func() { errs <- s.shutdown(sctx) }()
	}
	var failed bool
	for range a.servers {
		if err := <-errs; err != nil {
			failed = true
		}
	}
	a.kill()
	if failed {
		return exitCodeKilled
	}
	return 0
}

// kill stops every server at once (connections dropped first, then the
// requests still running are cancelled) and waits until nothing of the app runs.
func (a *containerApp) kill() {
	for _, s := range a.servers {
		s.close()
	}
	a.cancel()
	for _, h := range a.handlers {
		h.kill()
	}
}
