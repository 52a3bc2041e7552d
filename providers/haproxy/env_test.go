package haproxy_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/haproxy"
	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

// fastCheck makes HAProxy decide within a few hundred milliseconds.
var fastCheck = &providers.HealthCheck{Interval: 100 * time.Millisecond, HealthyThreshold: 2, UnhealthyThreshold: 2}

// waitFor bounds every wait on HAProxy's checks; a check every 100 ms
// decides in well under a second, the margin is for a loaded machine.
const waitFor = 15 * time.Second

// ipSeq hands every test its own 127.1.x.y addresses.
var ipSeq atomic.Int64

func nextIP() netip.Addr { return haproxytest.LoopbackIP(int(ipSeq.Add(1)) % 64000) }

// env is one HAProxy with a backend "web" and a provider on its admin socket.
type env struct {
	t      *testing.T
	h      *haproxytest.HAProxy
	p      *haproxy.Provider
	target providers.Target
	ctx    context.Context
}

func newEnv(t *testing.T, cfg haproxytest.Config) *env {
	t.Helper()
	if len(cfg.Backends) == 0 && len(cfg.StaticBackends) == 0 {
		cfg.Backends = []string{"web"}
	}
	h := haproxytest.Start(t, cfg)
	p, err := haproxy.New(h.RuntimeAPI(), haproxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, h: h, p: p, target: providers.Target{ID: "web", HealthCheck: fastCheck}, ctx: context.Background()}
}

// server starts an app on a fresh loopback address.
func (e *env) server(name string) *haproxytest.Server {
	return haproxytest.StartServer(e.t, name, nextIP())
}

func (e *env) register(ws ...weighted) {
	e.t.Helper()
	var bs []providers.Backend
	for _, w := range ws {
		bs = append(bs, providers.Backend{Addr: w.s.Addr, Weight: w.w})
	}
	if err := e.p.Register(e.ctx, e.target, bs); err != nil {
		e.t.Fatalf("Register: %v", err)
	}
}

type weighted struct {
	s *haproxytest.Server
	w int32
}

func w10(s *haproxytest.Server) weighted { return weighted{s, 10} }

func (e *env) list() map[netip.AddrPort]providers.BackendStatus {
	e.t.Helper()
	l, err := e.p.List(e.ctx, e.target.ID)
	if err != nil {
		e.t.Fatalf("List: %v", err)
	}
	m := map[netip.AddrPort]providers.BackendStatus{}
	for _, b := range l {
		m[b.Addr] = b
	}
	return m
}

// waitHealth polls List until s has health h.
func (e *env) waitHealth(s *haproxytest.Server, h providers.Health) providers.BackendStatus {
	e.t.Helper()
	var got providers.BackendStatus
	haproxytest.Eventually(e.t, waitFor, func() error {
		b, ok := e.list()[s.Addr]
		if !ok {
			return fmt.Errorf("%s (%s) not listed", s.Name, s.Addr)
		}
		if b.Health != h {
			return fmt.Errorf("%s: %s (%s), want %s", s.Name, b.Health, b.Reason, h)
		}
		got = b
		return nil
	})
	return got
}

// waitGone polls List until s is not listed.
func (e *env) waitGone(s *haproxytest.Server) {
	e.t.Helper()
	haproxytest.Eventually(e.t, waitFor, func() error {
		if b, ok := e.list()[s.Addr]; ok {
			return fmt.Errorf("%s still listed: %s (%s)", s.Name, b.Health, b.Reason)
		}
		return nil
	})
}

// sample sends n requests through the frontend and counts the answers.
func (e *env) sample(n int) map[string]int {
	return haproxytest.Sample(e.ctx, e.h.Frontend(e.target.ID), n)
}

// waitTraffic polls until n requests through the frontend are answered by
// exactly the named servers (each at least once), and returns the counts.
func (e *env) waitTraffic(n int, names ...string) map[string]int {
	e.t.Helper()
	var got map[string]int
	haproxytest.Eventually(e.t, waitFor, func() error {
		got = e.sample(n)
		if len(got) != len(names) {
			return fmt.Errorf("answers %v, want only %v", got, names)
		}
		for _, name := range names {
			if got[name] == 0 {
				return fmt.Errorf("answers %v, want only %v", got, names)
			}
		}
		return nil
	})
	return got
}

// servers returns `show servers state` of backend, parsed.
func (e *env) servers(backend string) []haproxy.ServerState {
	e.t.Helper()
	out := e.h.MustCommand("show servers state " + backend)
	st, err := haproxy.ParseServersState(out)
	if err != nil {
		e.t.Fatalf("%v: %q", err, out)
	}
	return st
}

// slotOf returns the server holding addr in backend.
func (e *env) slotOf(backend string, addr netip.AddrPort) (haproxy.ServerState, bool) {
	for _, s := range e.servers(backend) {
		if s.AddrPort() == addr && strings.HasPrefix(s.Name, haproxy.DefaultSlotPrefix) {
			return s, true
		}
	}
	return haproxy.ServerState{}, false
}

func mustProvider(t *testing.T, runtimeAPI string) *haproxy.Provider {
	t.Helper()
	p, err := haproxy.New(runtimeAPI, haproxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// stat returns `show stat` rows of backend's servers by name.
func stat(t *testing.T, h *haproxytest.HAProxy, backend string) map[string]haproxy.StatRow {
	t.Helper()
	out := h.MustCommand("show stat " + backend + " -1 -1")
	rows, err := haproxy.ParseStat(out)
	if err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	m := map[string]haproxy.StatRow{}
	for _, r := range rows {
		if r.Type == haproxy.StatServer {
			m[r.Name] = r
		}
	}
	return m
}
