package haproxytest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
)

// Server is a tiny HTTP backend, standing in for a pod: every path answers
// 200 with the server's name, except /healthz, which answers 200 or 500 as
// set by SetHealthy, and /hold, which answers only after Release (a
// long-lived session).
type Server struct {
	// Name is what the server answers with.
	Name string
	// Addr is where it listens.
	Addr netip.AddrPort

	healthy atomic.Bool
	hits    atomic.Int64
	checks  atomic.Int64
	srv     *http.Server
	done    chan struct{}
	release chan struct{}
	once    sync.Once
}

// StartServer starts a healthy server on ip (127.0.0.0/8) and a free port,
// and stops it when the test ends.
func StartServer(t testing.TB, name string, ip netip.Addr) *Server {
	t.Helper()
	if !ip.IsLoopback() {
		t.Fatalf("haproxytest: %s is not a loopback address", ip)
	}
	l, err := net.Listen("tcp", netip.AddrPortFrom(ip, 0).String())
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	s := &Server{Name: name, Addr: l.Addr().(*net.TCPAddr).AddrPort(), done: make(chan struct{}), release: make(chan struct{})}
	s.healthy.Store(true)
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve)}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("server %s: %v", name, err)
		}
	}()
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		s.checks.Add(1)
		if !s.healthy.Load() {
			http.Error(w, s.Name+" unhealthy", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
		return
	}
	s.hits.Add(1)
	if r.URL.Path == "/hold" {
		select {
		case <-s.release:
		case <-r.Context().Done():
			return
		}
	}
	fmt.Fprint(w, s.Name)
}

// Release lets every /hold request, current and future, answer.
func (s *Server) Release() { s.once.Do(func() { close(s.release) }) }

// SetHealthy switches /healthz between 200 (true) and 500 (false).
func (s *Server) SetHealthy(ok bool) { s.healthy.Store(ok) }

// Hits returns how many requests other than /healthz it served.
func (s *Server) Hits() int64 { return s.hits.Load() }

// Checks returns how many /healthz requests it answered.
func (s *Server) Checks() int64 { return s.checks.Load() }

// Stop closes the listener and every open connection at once, like a pod
// that is killed, and waits for the server to end. Safe to call twice.
func (s *Server) Stop() {
	_ = s.srv.Close()
	<-s.done
}
