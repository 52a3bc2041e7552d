package haproxy_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

func TestRegisterIsHealthyOnlyAfterRiseChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{})
	a := e.server("a")
	e.register(w10(a))

	// Registered at once, in drain, not yet healthy; HAProxy sends it nothing.
	st, ok := e.slotOf("web", a.Addr)
	if !ok || st.Admin.Maint() || !st.Admin.Drain() || !st.Check.Enabled() {
		t.Fatalf("slot after Register: %+v", st)
	}
	// Until List says Healthy, every List says Initial, and the first
	// Healthy comes after HAProxy checked the app at least rise times.
	haproxytest.Eventually(t, waitFor, func() error {
		checks := a.Checks()
		b, ok := e.list()[a.Addr]
		switch {
		case !ok:
			t.Fatalf("a not listed")
		case b.Health == providers.HealthHealthy:
			if checks < int64(fastCheck.HealthyThreshold) {
				t.Fatalf("Healthy after %d checks (%s), want >= %d", checks, b.Reason, fastCheck.HealthyThreshold)
			}
			if !strings.HasPrefix(b.Reason, "L7OK/200") {
				t.Errorf("reason %q", b.Reason)
			}
			return nil
		case b.Health != providers.HealthInitial:
			t.Fatalf("before Healthy: %s (%s), want Initial", b.Health, b.Reason)
		}
		return fmt.Errorf("%s (%s)", b.Health, b.Reason)
	})
	if got := e.list()[a.Addr]; got.Weight != 10 {
		t.Errorf("weight %d, want 10", got.Weight)
	}
	// List set it ready: it takes traffic.
	if st, _ := e.slotOf("web", a.Addr); st.Admin != 0 {
		t.Errorf("admin state after Healthy: %#x, want ready", st.Admin)
	}
	e.waitTraffic(10, "a")
}

func TestUnhealthyStaysUnhealthyAndRecovers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{})
	a := e.server("a")
	a.SetHealthy(false)
	e.register(w10(a))

	b := e.waitHealth(a, providers.HealthUnhealthy)
	if !strings.HasPrefix(b.Reason, "L7STS/500") {
		t.Errorf("reason %q, want L7STS/500...", b.Reason)
	}
	// Stays unhealthy over many more checks, and takes no traffic.
	seen := a.Checks()
	haproxytest.Eventually(t, waitFor, func() error {
		if got := e.list()[a.Addr]; got.Health != providers.HealthUnhealthy {
			t.Fatalf("500 became %s (%s)", got.Health, got.Reason)
		}
		if n := a.Checks(); n < seen+5 {
			return fmt.Errorf("%d checks since unhealthy, want 5", n-seen)
		}
		return nil
	})
	if got := e.sample(5); got["status 503"] != 5 || a.Hits() != 0 {
		t.Errorf("traffic with only an unhealthy backend: %v, app hits %d", got, a.Hits())
	}

	a.SetHealthy(true)
	e.waitHealth(a, providers.HealthHealthy)
	e.waitTraffic(10, "a")
}

func TestTrafficReachesOnlyHealthyBackends(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{})
	a, b, c := e.server("a"), e.server("b"), e.server("c")
	c.SetHealthy(false)
	e.register(w10(a), w10(b), w10(c))
	e.waitHealth(a, providers.HealthHealthy)
	e.waitHealth(b, providers.HealthHealthy)
	e.waitHealth(c, providers.HealthUnhealthy)
	got := e.waitTraffic(40, "a", "b")
	if c.Hits() != 0 {
		t.Errorf("unhealthy c served %d requests (%v)", c.Hits(), got)
	}

	// A healthy backend that fails goes out of rotation.
	b.SetHealthy(false)
	e.waitHealth(b, providers.HealthUnhealthy)
	e.waitTraffic(20, "a")
}

func TestWeight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{})
	a, b := e.server("a"), e.server("b")
	e.register(weighted{a, 10}, weighted{b, 30})
	e.waitHealth(a, providers.HealthHealthy)
	e.waitHealth(b, providers.HealthHealthy)
	// roundrobin is a smooth weighted round robin: 1 to 3 over every 40.
	got := e.waitTraffic(80, "a", "b")
	if got["a"] != 20 || got["b"] != 60 {
		t.Errorf("weights 10/30: %v, want a=20 b=60", got)
	}

	// Register again with another weight only changes the weight.
	e.register(weighted{a, 0}, weighted{b, 30})
	if l := e.list(); l[a.Addr].Weight != 0 || l[a.Addr].Health != providers.HealthHealthy {
		t.Errorf("after weight 0: %+v", l[a.Addr])
	}
	e.waitTraffic(20, "b")
	if n := len(e.servers("web")); n != 2 {
		t.Errorf("%d servers after a weight change, want 2", n)
	}
}

func TestDrain(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{})
	a, b := e.server("a"), e.server("b")
	e.register(w10(a), w10(b))
	e.waitHealth(a, providers.HealthHealthy)
	e.waitHealth(b, providers.HealthHealthy)
	e.waitTraffic(20, "a", "b")

	if err := e.p.Drain(e.ctx, "web", []netip.AddrPort{a.Addr}); err != nil {
		t.Fatal(err)
	}
	got := e.list()[a.Addr]
	if got.Health != providers.HealthDraining || got.Reason != "DRAIN" {
		t.Errorf("drained: %+v", got)
	}
	e.waitTraffic(20, "b")
	// Still draining on the next List: a drained slot is not taken for a
	// registering one and promoted back.
	if got := e.list()[a.Addr]; got.Health != providers.HealthDraining {
		t.Errorf("second List: %+v", got)
	}
	// Idempotent, and unknown addresses are skipped.
	if err := e.p.Drain(e.ctx, "web", []netip.AddrPort{a.Addr, netip.MustParseAddrPort("127.0.0.1:1")}); err != nil {
		t.Fatal(err)
	}
	// Registering it again checks it afresh and brings it back.
	e.register(w10(a), w10(b))
	e.waitHealth(a, providers.HealthHealthy)
	e.waitTraffic(20, "a", "b")
}

func TestDeregister(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{})
	a, b := e.server("a"), e.server("b")
	e.register(w10(a), w10(b))
	e.waitHealth(a, providers.HealthHealthy)
	e.waitHealth(b, providers.HealthHealthy)

	if err := e.p.Deregister(e.ctx, "web", []netip.AddrPort{a.Addr}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.list()[a.Addr]; ok {
		t.Errorf("a still listed after Deregister with no sessions")
	}
	st, _ := e.slotOf("web", a.Addr)
	if !st.Admin.Maint() {
		t.Errorf("slot of a: admin %#x, want maintenance", st.Admin)
	}
	hits := a.Hits()
	e.waitTraffic(20, "b")
	if a.Hits() != hits {
		t.Errorf("a served %d requests after Deregister", a.Hits()-hits)
	}
	// Idempotent.
	if err := e.p.Deregister(e.ctx, "web", []netip.AddrPort{a.Addr, netip.MustParseAddrPort("127.0.0.1:1")}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.servers("web")); n != 2 {
		t.Errorf("%d servers, want 2: deregistration never deletes a slot", n)
	}
}

func TestDeregisterParksSlotOnlyWhenSessionsAreGone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{})
	a := e.server("a")
	e.register(w10(a))
	e.waitHealth(a, providers.HealthHealthy)

	// A long request holds a session on a.
	done := make(chan string, 1)
	go func() {
		_, body, err := haproxytest.Get(e.ctx, e.h.Frontend("web")+"/hold")
		if err != nil {
			body = err.Error()
		}
		done <- body
	}()
	haproxytest.Eventually(t, waitFor, func() error {
		if a.Hits() == 0 {
			return fmt.Errorf("hold request not arrived")
		}
		return nil
	})
	if err := e.p.Deregister(e.ctx, "web", []netip.AddrPort{a.Addr}); err != nil {
		t.Fatal(err)
	}
	if got := e.list()[a.Addr]; got.Health != providers.HealthDraining || !got.SessionsKnown || got.Sessions != 1 {
		t.Fatalf("with a session open: %+v, want Draining with 1 session (scur)", got)
	}
	if st, _ := e.slotOf("web", a.Addr); st.Admin.Maint() {
		t.Fatalf("slot parked while a session is open")
	}
	a.Release()
	if body := <-done; body != "a" {
		t.Errorf("held request: %q", body)
	}
	// The next Deregister finds it idle and parks it.
	haproxytest.Eventually(t, waitFor, func() error {
		if err := e.p.Deregister(e.ctx, "web", []netip.AddrPort{a.Addr}); err != nil {
			return err
		}
		if _, ok := e.list()[a.Addr]; ok {
			return fmt.Errorf("still listed")
		}
		return nil
	})
}

func TestSlotReuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{})
	a := e.server("a")
	e.register(w10(a))
	e.waitHealth(a, providers.HealthHealthy)
	e.waitTraffic(10, "a") // leaves idle keep-alive connections to a
	first, _ := e.slotOf("web", a.Addr)

	if err := e.p.Deregister(e.ctx, "web", []netip.AddrPort{a.Addr}); err != nil {
		t.Fatal(err)
	}
	// a keeps running: the reused slot must not send it anything.
	c := e.server("c")
	e.register(w10(c))
	st, ok := e.slotOf("web", c.Addr)
	if !ok || st.Name != first.Name {
		t.Fatalf("c got slot %q, want the free slot %q", st.Name, first.Name)
	}
	e.waitHealth(c, providers.HealthHealthy)
	hits := a.Hits()
	e.waitTraffic(20, "c")
	if a.Hits() != hits {
		t.Errorf("the old address got %d requests through the reused slot", a.Hits()-hits)
	}
	if n := len(e.servers("web")); n != 1 {
		t.Errorf("%d servers, want 1", n)
	}

	// A pool grows only when no slot is free.
	d := e.server("d")
	e.register(w10(c), w10(d))
	e.waitHealth(d, providers.HealthHealthy)
	if n := len(e.servers("web")); n != 2 {
		t.Errorf("%d servers, want 2", n)
	}
}

func TestReusedSlotIsCheckedAfresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{})
	a := e.server("a")
	e.register(w10(a))
	e.waitHealth(a, providers.HealthHealthy)
	if err := e.p.Deregister(e.ctx, "web", []netip.AddrPort{a.Addr}); err != nil {
		t.Fatal(err)
	}
	// The slot's last check passed (for a). Its new address fails: it must
	// not be reported healthy, nor get traffic, on a's old result.
	bad := e.server("bad")
	bad.SetHealthy(false)
	e.register(w10(bad))
	haproxytest.Eventually(t, waitFor, func() error {
		got := e.list()[bad.Addr]
		if got.Health == providers.HealthHealthy {
			t.Fatalf("reused slot reported Healthy on the previous address's check: %+v", got)
		}
		if bad.Checks() < 3 {
			return fmt.Errorf("%d checks", bad.Checks())
		}
		if got.Health != providers.HealthUnhealthy {
			return fmt.Errorf("%s (%s)", got.Health, got.Reason)
		}
		return nil
	})
	if got := e.sample(5); got["status 503"] != 5 {
		t.Errorf("traffic: %v", got)
	}
}

func TestRestartRecovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{})
	a, b := e.server("a"), e.server("b")
	e.register(w10(a), w10(b))
	e.waitHealth(a, providers.HealthHealthy)
	e.waitHealth(b, providers.HealthHealthy)

	e.h.Restart()
	if l := e.list(); len(l) != 0 {
		t.Fatalf("after restart List = %v, want nothing registered", l)
	}
	start := time.Now()
	e.register(w10(a), w10(b))
	e.waitHealth(a, providers.HealthHealthy)
	e.waitHealth(b, providers.HealthHealthy)
	e.waitTraffic(20, "a", "b")
	t.Logf("re-registered and serving %s after the restart", time.Since(start).Round(time.Millisecond))
}

func TestRegisterIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{})
	a := e.server("a")
	e.register(w10(a))
	e.register(w10(a), w10(a))
	e.waitHealth(a, providers.HealthHealthy)
	e.register(w10(a))
	if n := len(e.servers("web")); n != 1 {
		t.Errorf("%d servers after registering one backend three times", n)
	}
	if got := e.list()[a.Addr]; got.Health != providers.HealthHealthy {
		t.Errorf("re-registering a healthy backend changed it: %+v", got)
	}
	if err := e.p.Register(e.ctx, e.target, nil); err != nil {
		t.Error(err)
	}
}

func TestHealthCheckSettingsPerSlot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{})
	a := e.server("a")
	slow := providers.Target{ID: "web", HealthCheck: &providers.HealthCheck{Interval: 150 * time.Millisecond, HealthyThreshold: 3, UnhealthyThreshold: 4}}
	if err := e.p.Register(e.ctx, slow, []providers.Backend{{Addr: a.Addr, Weight: 10}}); err != nil {
		t.Fatal(err)
	}
	st, _ := e.slotOf("web", a.Addr)
	if st.Name != "lbgate-1-i150r3f4" {
		t.Errorf("slot name %q", st.Name)
	}
	haproxytest.Eventually(t, waitFor, func() error {
		b := e.list()[a.Addr]
		if b.Health == providers.HealthHealthy {
			if a.Checks() < 3 {
				t.Fatalf("Healthy after %d checks, want rise 3", a.Checks())
			}
			return nil
		}
		return fmt.Errorf("%s", b.Health)
	})
	rows := stat(t, e.h, "web")
	if r := rows[st.Name]; r.CheckRise != 3 || r.CheckFall != 4 {
		t.Errorf("HAProxy has rise %d fall %d", r.CheckRise, r.CheckFall)
	}
	// A free slot with other settings is not reused while the pool can grow.
	if err := e.p.Deregister(e.ctx, "web", []netip.AddrPort{a.Addr}); err != nil {
		t.Fatal(err)
	}
	b := e.server("b")
	e.register(w10(b))
	if st, _ := e.slotOf("web", b.Addr); st.Name != "lbgate-2-i100r2f2" {
		t.Errorf("b got %q, want a new slot with its own settings", st.Name)
	}
}

func TestTCPRuntimeAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{TCPSocket: true})
	p := mustProvider(t, e.h.TCPRuntimeAPI())
	a := e.server("a")
	if err := p.Register(e.ctx, e.target, []providers.Backend{{Addr: a.Addr, Weight: 10}}); err != nil {
		t.Fatal(err)
	}
	e.waitHealth(a, providers.HealthHealthy)
	l, err := p.List(e.ctx, "web")
	if err != nil || len(l) != 1 || l[0].Health != providers.HealthHealthy {
		t.Errorf("List over TCP: %v %v", l, err)
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{Backends: []string{"web"}, StaticBackends: map[string]int{"fixed": 3}})
	l, err := e.p.Limits(e.ctx, "web")
	if err != nil || l.MaxBackends != 0 || l.MaxBatch != 500 || l.StaticWeight {
		t.Errorf("dynamic backend: %+v %v, want no backend limit, batch 500, any weight", l, err)
	}
	l, err = e.p.Limits(e.ctx, "fixed")
	if err != nil || l.MaxBackends != 3 || !l.StaticWeight {
		t.Errorf("static backend with 3 slots: %+v %v, want 3 backends and a static weight", l, err)
	}
	if n := len(e.servers("web")); n != 0 {
		t.Errorf("Limits left %d servers behind", n)
	}
}

func TestName(t *testing.T) {
	if p := mustProvider(t, "unix:///nonexistent"); p.Name() != "haproxy" {
		t.Errorf("Name() = %q", p.Name())
	}
}
