package haproxy_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/haproxy"
	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

// everyCall runs each provider call on target and returns their errors by name.
func everyCall(p providers.Provider, target string, addr netip.AddrPort) map[string]error {
	ctx := context.Background()
	_, limitsErr := p.Limits(ctx, target)
	_, listErr := p.List(ctx, target)
	return map[string]error{
		"Limits":     limitsErr,
		"List":       listErr,
		"Register":   p.Register(ctx, providers.Target{ID: target}, []providers.Backend{{Addr: addr, Weight: 10}}),
		"Drain":      p.Drain(ctx, target, []netip.AddrPort{addr}),
		"Deregister": p.Deregister(ctx, target, []netip.AddrPort{addr}),
	}
}

var someAddr = netip.MustParseAddrPort("127.1.255.1:8080")

func TestErrorUnknownBackendIsNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{})
	for _, target := range []string{"nope", "web;show info", "a b", ""} {
		for call, err := range everyCall(e.p, target, someAddr) {
			if !providers.IsNotFound(err) {
				t.Errorf("%s(%q): %v, want NotFoundError", call, target, err)
			}
		}
	}
	_, err := e.p.List(e.ctx, "nope")
	if !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "haproxy.cfg") {
		t.Errorf("message does not say what to fix: %v", err)
	}
}

func TestErrorUnreachableIsUnavailable(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"no socket file": "unix://" + filepath.Join(t.TempDir(), "admin.sock"),
		"refused":        "tcp://127.0.0.1:" + strconv.Itoa(haproxytest.FreePort(t, "127.0.0.1")),
	}
	for name, api := range cases {
		for call, err := range everyCall(mustProvider(t, api), "web", someAddr) {
			if !providers.IsUnavailable(err) {
				t.Errorf("%s: %s: %v, want UnavailableError", name, call, err)
			}
		}
	}

	e := newEnv(t, haproxytest.Config{})
	if _, err := e.p.List(e.ctx, "web"); err != nil {
		t.Fatal(err)
	}
	e.h.Stop()
	for call, err := range everyCall(e.p, "web", someAddr) {
		if !providers.IsUnavailable(err) {
			t.Errorf("HAProxy stopped: %s: %v, want UnavailableError", call, err)
		}
	}
}

func TestErrorNoAnswerTimesOut(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "admin.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accept, read nothing, answer nothing
		}
	}()
	p, err := haproxy.New("unix://"+path, haproxy.Options{Timeout: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for call, err := range everyCall(p, "web", someAddr) {
		if !providers.IsUnavailable(err) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v, want UnavailableError wrapping DeadlineExceeded", call, err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("five calls took %s with a 150ms timeout", d)
	}
}

func TestErrorUserLevelSocketIsPermission(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{UserSocket: true})
	p := mustProvider(t, e.h.UserRuntimeAPI())
	for call, err := range everyCall(p, "web", someAddr) {
		if !providers.IsPermission(err) || !strings.Contains(err.Error(), "level admin") {
			t.Errorf("%s: %v, want PermissionError naming the admin level", call, err)
		}
	}
	if n := len(e.servers("web")); n != 0 {
		t.Errorf("a user-level socket added %d servers", n)
	}
}

func TestErrorFullStaticBackendIsQuota(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{StaticBackends: map[string]int{"fixed": 2, "empty": 0}})
	e.target.ID = "fixed"
	a, b, c := e.server("a"), e.server("b"), e.server("c")

	err := e.p.Register(e.ctx, e.target, []providers.Backend{{Addr: a.Addr, Weight: 10}, {Addr: b.Addr, Weight: 10}, {Addr: c.Addr, Weight: 10}})
	var qe *providers.QuotaError
	if !errors.As(err, &qe) || qe.Limit != 2 || qe.Want != 3 || !strings.Contains(qe.Detail, "server-template") {
		t.Fatalf("3 backends into 2 slots: %v, want QuotaError limit 2 want 3 saying how to add slots", err)
	}
	if l := e.list(); len(l) != 0 {
		t.Fatalf("a refused batch changed HAProxy: %v", l)
	}

	e.register(w10(a), w10(b))
	e.waitHealth(a, providers.HealthHealthy)
	e.waitHealth(b, providers.HealthHealthy)
	e.waitTraffic(20, "a", "b")
	err = e.p.Register(e.ctx, e.target, []providers.Backend{{Addr: c.Addr, Weight: 10}})
	if !errors.As(err, &qe) || qe.Limit != 2 || qe.Want != 3 {
		t.Errorf("third backend: %v, want QuotaError limit 2 want 3", err)
	}
	// A freed slot takes the next one.
	if err := e.p.Deregister(e.ctx, "fixed", []netip.AddrPort{a.Addr}); err != nil {
		t.Fatal(err)
	}
	e.register(w10(c))
	e.waitHealth(c, providers.HealthHealthy)

	if _, err := e.p.Limits(e.ctx, "empty"); !providers.IsQuota(err) {
		t.Errorf("Limits of a static backend without slots: %v, want QuotaError", err)
	}
	err = e.p.Register(e.ctx, providers.Target{ID: "empty"}, []providers.Backend{{Addr: a.Addr, Weight: 10}})
	if !errors.As(err, &qe) || qe.Limit != 0 || !strings.Contains(qe.Detail, "roundrobin") {
		t.Errorf("Register on a static backend without slots: %v", err)
	}
}

func TestErrorMaxSlotsIsQuota(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{})
	p, err := haproxy.New(e.h.RuntimeAPI(), haproxy.Options{MaxSlots: 2, MaxBatch: 3})
	if err != nil {
		t.Fatal(err)
	}
	if l, err := p.Limits(e.ctx, "web"); err != nil || l.MaxBackends != 2 || l.MaxBatch != 3 {
		t.Errorf("Limits: %+v %v", l, err)
	}
	a, b, c, d := e.server("a"), e.server("b"), e.server("c"), e.server("d")
	all := []providers.Backend{{Addr: a.Addr}, {Addr: b.Addr}, {Addr: c.Addr}, {Addr: d.Addr}}
	err = p.Register(e.ctx, e.target, all)
	var qe *providers.QuotaError
	if !errors.As(err, &qe) || qe.Limit != 3 || qe.Want != 4 {
		t.Errorf("batch of 4 with MaxBatch 3: %v", err)
	}
	err = p.Register(e.ctx, e.target, all[:3])
	if !errors.As(err, &qe) || qe.Limit != 2 || qe.Want != 3 {
		t.Errorf("3 backends with MaxSlots 2: %v", err)
	}
	if n := len(e.servers("web")); n != 0 {
		t.Errorf("a refused batch added %d servers", n)
	}
	if err := p.Register(e.ctx, e.target, all[:2]); err != nil {
		t.Fatal(err)
	}
	if err := p.Drain(e.ctx, "web", []netip.AddrPort{a.Addr, b.Addr, c.Addr, d.Addr}); !providers.IsQuota(err) {
		t.Errorf("Drain of 4 with MaxBatch 3: %v", err)
	}
}

func TestErrorInvalidBackendAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{})
	for _, b := range []providers.Backend{{}, {Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 0)}} {
		if err := e.p.Register(e.ctx, e.target, []providers.Backend{b}); err == nil {
			t.Errorf("Register(%v): no error", b)
		}
	}
	if _, err := haproxy.New("http://x", haproxy.Options{}); err == nil {
		t.Error("New with an http address: no error")
	}
}
