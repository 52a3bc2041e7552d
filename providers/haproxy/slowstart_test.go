package haproxy_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/haproxy"
	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

// TestSlowStartRampsTheWeightOfANewPod: a target with SlowStart adds its
// slots with HAProxy's slowstart (and says so in the slot name, the only
// place it can be read back), so a pod that turns healthy starts at a low
// weight and is in HAProxy's "starting" state; a slot without slowstart
// takes its full weight at once. A free slot with another slowstart is not
// reused while the pool can grow.
func TestSlowStartRampsTheWeightOfANewPod(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{})
	ramped := providers.Target{ID: "web", HealthCheck: fastCheck, SlowStart: time.Minute}
	a, b := e.server("a"), e.server("b")
	if err := e.p.Register(e.ctx, ramped, []providers.Backend{{Addr: a.Addr, Weight: 100}}); err != nil {
		t.Fatal(err)
	}
	if err := e.p.Register(e.ctx, e.target, []providers.Backend{{Addr: b.Addr, Weight: 100}}); err != nil {
		t.Fatal(err)
	}
	slotA, _ := e.slotOf("web", a.Addr)
	slotB, _ := e.slotOf("web", b.Addr)
	if slotA.Name != "lbgate-1-i100r2f2s60000" || slotB.Name != "lbgate-2-i100r2f2" {
		t.Fatalf("slots %q and %q, want lbgate-1-i100r2f2s60000 (slowstart 60 s) and lbgate-2-i100r2f2", slotA.Name, slotB.Name)
	}
	e.waitHealth(a, providers.HealthHealthy)
	e.waitHealth(b, providers.HealthHealthy)

	slotA, _ = e.slotOf("web", a.Addr)
	slotB, _ = e.slotOf("web", b.Addr)
	rows := stat(t, e.h, "web")
	if slotA.Op != haproxy.OpStarting || rows[slotA.Name].Weight >= 100 {
		t.Errorf("a right after it turned healthy: %s, effective weight %d; want starting, below its weight 100", slotA.Op, rows[slotA.Name].Weight)
	}
	if slotB.Op != haproxy.OpRunning || rows[slotB.Name].Weight != 100 {
		t.Errorf("b (no slow start): %s, effective weight %d; want running at weight 100", slotB.Op, rows[slotB.Name].Weight)
	}
	got := e.waitTraffic(200, "a", "b")
	if got["a"] >= got["b"] {
		t.Errorf("answers %v: the ramping pod took as much traffic as the other", got)
	}

	// a's slot, once free, is not reused by a target without slow start.
	if err := e.p.Deregister(e.ctx, "web", []netip.AddrPort{a.Addr}); err != nil {
		t.Fatal(err)
	}
	e.waitGone(a)
	c := e.server("c")
	e.register(w10(c))
	if slot, _ := e.slotOf("web", c.Addr); slot.Name != "lbgate-3-i100r2f2" {
		t.Errorf("c got %q, want a new slot without slowstart", slot.Name)
	}
	if l, err := e.p.List(e.ctx, "web"); err != nil || len(l) != 2 {
		t.Errorf("List: %v %v, want b and c", l, err)
	}
}

// TestSlowStartKeywordIsTakenByAddServer pins what the provider relies on:
// HAProxy 2.6 takes slowstart on `add server`, and `set server` cannot
// change it later (its usage lists no such keyword).
func TestSlowStartKeywordIsTakenByAddServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{})
	if out := e.h.MustCommand("add server web/probe 127.0.0.1:1 check slowstart 30s"); !strings.Contains(out, "New server registered") {
		t.Fatalf("add server with slowstart: %q", out)
	}
	if out := e.h.MustCommand("set server web/probe slowstart 10s"); !strings.Contains(out, "usage: set server") || strings.Contains(out, "slowstart") {
		t.Errorf("set server ... slowstart answered %q; the provider assumes the Runtime API cannot change slowstart", out)
	}
}
