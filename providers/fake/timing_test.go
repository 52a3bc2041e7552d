package fake

import (
	"slices"
	"testing"
	"time"

	"github.com/lbgate/lbgate/providers"
)

// clock is a settable clock for SetClock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestRuleHealthDelay(t *testing.T) {
	const delay = time.Second
	tests := []struct {
		name string
		// newHealth is SetNewBackendHealth's value ("" keeps Initial).
		newHealth providers.Health
		// act runs after backend 1 is registered at time 0, with the clock at 0.
		act func(t *testing.T, p *Provider, c *clock)
		// after is how far the clock moves before the backends are read.
		after time.Duration
		want  providers.Health
	}{
		{name: "still Initial just before the delay", newHealth: providers.HealthHealthy, after: delay - time.Nanosecond, want: providers.HealthInitial},
		{name: "new-backend health once the delay is over", newHealth: providers.HealthHealthy, after: delay, want: providers.HealthHealthy},
		{name: "the health given after the delay is that of registration time", newHealth: providers.HealthUnhealthy,
			act: func(_ *testing.T, p *Provider, _ *clock) { p.SetNewBackendHealth(providers.HealthHealthy) }, after: delay, want: providers.HealthUnhealthy},
		{name: "SetHealth decides at once and the delay does not overwrite it", newHealth: providers.HealthHealthy,
			act: func(_ *testing.T, p *Provider, _ *clock) { p.SetHealth("tg", addr(1), providers.HealthUnhealthy) }, after: delay, want: providers.HealthUnhealthy},
		{name: "a drained backend stays draining", newHealth: providers.HealthHealthy,
			act: func(t *testing.T, p *Provider, _ *clock) {
				if err := p.Drain(t.Context(), "tg", addrs(1)); err != nil {
					t.Fatal(err)
				}
			}, after: delay, want: providers.HealthDraining},
		{name: "a recheck half-way starts the delay again", newHealth: providers.HealthHealthy,
			act: func(t *testing.T, p *Provider, c *clock) {
				c.t = c.t.Add(delay / 2)
				if err := p.Register(t.Context(), providers.Target{ID: "tg"}, []providers.Backend{{Addr: addr(1), Weight: 10, Recheck: true}}); err != nil {
					t.Fatal(err)
				}
			}, after: delay - time.Nanosecond, want: providers.HealthInitial},
		{name: "a plain re-register does not restart the delay", newHealth: providers.HealthHealthy,
			act: func(t *testing.T, p *Provider, c *clock) {
				c.t = c.t.Add(delay / 2)
				mustRegister(t, p, "tg", backends(20, 1))
			}, after: delay / 2, want: providers.HealthHealthy},
		{name: "deregistered and registered again waits anew", newHealth: providers.HealthHealthy,
			act: func(t *testing.T, p *Provider, c *clock) {
				if err := p.Deregister(t.Context(), "tg", addrs(1)); err != nil {
					t.Fatal(err)
				}
				c.t = c.t.Add(delay / 2)
				mustRegister(t, p, "tg", backends(10, 1))
			}, after: delay - time.Nanosecond, want: providers.HealthInitial},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: time.Unix(1000, 0)}
			p := New(providers.Limits{}, "tg")
			p.SetClock(c.now)
			p.SetHealthDelay(delay)
			if tt.newHealth != "" {
				p.SetNewBackendHealth(tt.newHealth)
			}
			mustRegister(t, p, "tg", backends(10, 1))
			if tt.act != nil {
				tt.act(t, p, c)
			}
			c.t = c.t.Add(tt.after)
			list, err := p.List(t.Context(), "tg")
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 || list[0].Health != tt.want {
				t.Fatalf("List = %v, want one backend %s", list, tt.want)
			}
			if got := p.Backends("tg"); got[0].Health != tt.want {
				t.Errorf("Backends = %v, want %s like List", got, tt.want)
			}
		})
	}
}

func TestRuleNoHealthDelayIsTheDefault(t *testing.T) {
	p := New(providers.Limits{}, "tg")
	p.SetNewBackendHealth(providers.HealthHealthy)
	mustRegister(t, p, "tg", backends(10, 1))
	assertBackends(t, p, "tg", []providers.BackendStatus{status(1, 10, providers.HealthHealthy, "")})
}

func TestRuleKeepCallsAndObserve(t *testing.T) {
	tests := []struct {
		name     string
		keep     bool
		wantKept int
		wantSeen []string
	}{
		{name: "kept and observed (default)", keep: true, wantKept: 3, wantSeen: []string{"Register", "List", "Deregister"}},
		{name: "not kept, still observed", keep: false, wantKept: 0, wantSeen: []string{"Register", "List", "Deregister"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: time.Unix(2000, 0)}
			p := New(providers.Limits{}, "tg")
			p.SetClock(c.now)
			p.KeepCalls(tt.keep)
			var seen []string
			var times []time.Time
			var first Call
			p.Observe(func(call Call, at time.Time) {
				if len(seen) == 0 {
					first = call
				}
				seen = append(seen, call.Method)
				times = append(times, at)
			})
			hc := providers.HealthCheck{Protocol: "tcp"}
			if err := p.Register(t.Context(), providers.Target{ID: "tg", HealthCheck: &hc}, backends(10, 1, 2)); err != nil {
				t.Fatal(err)
			}
			c.t = c.t.Add(time.Second)
			if _, err := p.List(t.Context(), "tg"); err != nil {
				t.Fatal(err)
			}
			if err := p.Deregister(t.Context(), "tg", addrs(1)); err != nil {
				t.Fatal(err)
			}
			if got := len(p.Calls()); got != tt.wantKept {
				t.Errorf("%d calls kept, want %d", got, tt.wantKept)
			}
			if !slices.Equal(seen, tt.wantSeen) {
				t.Errorf("observed %v, want %v", seen, tt.wantSeen)
			}
			if !slices.Equal(first.Addrs, addrs(1, 2)) || first.Settings.HealthCheck != hc {
				t.Errorf("first observed call %+v, want the Register of 1 and 2 with its health check", first)
			}
			if !times[0].Equal(time.Unix(2000, 0)) || !times[1].Equal(time.Unix(2001, 0)) {
				t.Errorf("observed at %v, want the clock's times", times)
			}
		})
	}
}
