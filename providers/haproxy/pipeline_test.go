package haproxy_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/onsi/gomega"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/haproxy"
	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

// cutAt records the full length of the next write pipeline and sends only
// its first k commands.
type cutAt struct {
	k    int
	full int
	cmds []string
}

func (c *cutAt) cut(cmds []string) []string {
	if c.cmds == nil {
		c.full, c.cmds = len(cmds), cmds
	}
	return cmds[:min(c.k, len(cmds))]
}

// observeWindow is how long a cut registration is watched: several check
// intervals of fastCheck, so a stale result would have been promoted.
const observeWindow = 600 * time.Millisecond

// neverHealthy watches List and the frontend for observeWindow and fails if
// s is ever reported Healthy or receives a request.
func (e *env) neverHealthy(s *haproxytest.Server, why string) {
	e.t.Helper()
	hits := s.Hits()
	gomega.NewWithT(e.t).Consistently(func() error {
		if b, ok := e.list()[s.Addr]; ok && b.Health == providers.HealthHealthy {
			return fmt.Errorf("%s reported Healthy (%s) though its check fails", s.Name, b.Reason)
		}
		e.sample(1)
		if n := s.Hits() - hits; n > 0 {
			return fmt.Errorf("%s, whose check fails, got %d requests", s.Name, n)
		}
		return nil
	}).WithTimeout(observeWindow).WithPolling(haproxytest.PollInterval).Should(gomega.Succeed(), why)
}

// TestRegisterEveryPipelinePrefixIsSafe cuts the registration pipeline of a
// reused slot after every command, as a cut connection, an expired deadline
// or a reload would, and checks that no prefix lets List report the new,
// failing address Healthy or send it traffic; then the registration
// completes and the address is reported Unhealthy, never Healthy.
// On the old order (`state drain` before `health down`) the cut after
// `state drain` left the slot up with the previous address's L7OK, and the
// next List promoted it.
func TestRegisterEveryPipelinePrefixIsSafe(t *testing.T) {
	t.Parallel()
	scenarios := []struct {
		name string
		cfg  haproxytest.Config
		// prepare leaves a free slot that last held a healthy address.
		prepare func(e *env)
	}{{
		name: "slot parked by Deregister",
		cfg:  haproxytest.Config{Backends: []string{"web"}},
		prepare: func(e *env) {
			old := e.server("old")
			e.register(w10(old))
			e.waitHealth(old, providers.HealthHealthy)
			if err := e.p.Deregister(e.ctx, "web", []netip.AddrPort{old.Addr}); err != nil {
				e.t.Fatal(err)
			}
			e.waitGone(old)
		},
	}, {
		name: "paused template slot with a stale check result",
		cfg:  haproxytest.Config{StaticBackends: map[string]int{"web": 1}},
		prepare: func(e *env) {
			old := e.server("old")
			e.register(w10(old))
			e.waitHealth(old, providers.HealthHealthy)
			// Maintenance with checks on pauses them and keeps L7OK, as an
			// admin's `disable server` or a server-state-file leaves a slot.
			e.h.MustCommand("set server web/lbgate-1 state maint")
			if s := e.servers("web")[0]; s.Check&haproxy.CheckPaused == 0 || !s.CheckStatus.Passed() {
				e.t.Fatalf("slot not paused with a passed result: %+v", s)
			}
		},
	}}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			// Learn the pipeline's length once, then cut it at every position.
			probe := newEnv(t, sc.cfg)
			sc.prepare(probe)
			learn := &cutAt{k: 0}
			haproxy.CutPipelines(probe.p, learn.cut)
			fresh := probe.server("fresh")
			probe.register(w10(fresh))
			if learn.full == 0 {
				t.Fatal("Register sent no write pipeline")
			}
			t.Logf("pipeline: %q", learn.cmds)
			for k := 0; k <= learn.full; k++ {
				t.Run(fmt.Sprintf("cut after %d of %d", k, learn.full), func(t *testing.T) {
					t.Parallel()
					e := newEnv(t, sc.cfg)
					sc.prepare(e)
					bad := e.server("bad")
					bad.SetHealthy(false)
					c := &cutAt{k: k}
					haproxy.CutPipelines(e.p, c.cut)
					e.register(w10(bad))
					e.neverHealthy(bad, fmt.Sprintf("cut after %q", c.cmds[:min(k, len(c.cmds))]))
					haproxy.CutPipelines(e.p, nil)
					e.register(w10(bad)) // the next reconcile completes it
					var last providers.BackendStatus
					haproxytest.Eventually(t, waitFor, func() error {
						b, ok := e.list()[bad.Addr]
						last = b
						switch {
						case ok && b.Health == providers.HealthHealthy:
							t.Fatalf("reported Healthy (%s) after the registration completed", b.Reason)
						case !ok || b.Health != providers.HealthUnhealthy:
							return fmt.Errorf("%s: %v %s (%s)", bad.Name, ok, b.Health, b.Reason)
						}
						return nil
					})
					if bad.Hits() != 0 {
						t.Fatalf("the failing address got %d requests (%s)", bad.Hits(), last.Reason)
					}
				})
			}
		})
	}
}

// TestRecheckTakesARegisteredBackendOutUntilItPassesAgain: Register with
// Recheck on a healthy backend takes it out of traffic at once and reports
// it Healthy again only after it passes HAProxy's check anew; every prefix
// of its pipeline leaves it out of traffic until then.
func TestRecheckTakesARegisteredBackendOutUntilItPassesAgain(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, c *cutAt) {
		e := newEnv(t, haproxytest.Config{})
		a := e.server("a")
		e.register(w10(a))
		e.waitHealth(a, providers.HealthHealthy)
		e.waitTraffic(4, "a")
		a.SetHealthy(false) // the address now belongs to a pod that is not ready yet
		haproxy.CutPipelines(e.p, c.cut)
		if err := e.p.Register(e.ctx, e.target, []providers.Backend{{Addr: a.Addr, Weight: 10, Recheck: true}}); err != nil {
			t.Fatal(err)
		}
		haproxy.CutPipelines(e.p, nil)
		e.neverHealthy(a, fmt.Sprintf("recheck pipeline cut after %d of %q", min(c.k, c.full), c.cmds))
		a.SetHealthy(true)
		e.register(w10(a))
		e.waitHealth(a, providers.HealthHealthy)
		e.waitTraffic(4, "a")
	}
	whole := &cutAt{k: 1 << 10}
	t.Run("whole pipeline", func(t *testing.T) { run(t, whole) })
	t.Logf("recheck pipeline: %q", whole.cmds)
	for k := 1; k < whole.full; k++ {
		t.Run(fmt.Sprintf("cut after %d of %d", k, whole.full), func(t *testing.T) {
			t.Parallel()
			run(t, &cutAt{k: k})
		})
	}
}
