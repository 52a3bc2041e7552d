package fake

import (
	"net/netip"
	"time"

	"github.com/lbgate/lbgate/providers"
)

// dueHealth is the health a backend takes once its first check is over.
type dueHealth struct {
	at     time.Time
	health providers.Health
}

// SetHealthDelay makes a new backend, and one registered again for a fresh
// check (Recheck, or after draining), report Initial for d before it takes
// the new-backend health (SetNewBackendHealth), as a load balancer that
// needs a few checks before it decides. Zero, the default, decides at once.
// SetHealth, SetAllHealthy and Drain decide a waiting backend at once.
func (p *Provider) SetHealthDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.healthDelay = d
}

// SetClock replaces the clock the health delay and the observer read
// (time.Now by default), for tests.
func (p *Provider) SetClock(now func() time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.now = now
}

// KeepCalls says whether calls are kept for Calls (true by default). A
// long-running fake (the binary's) turns it off so its memory stays flat.
func (p *Provider) KeepCalls(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keepOff = !on
	if !on {
		p.calls = nil
	}
}

// Observe makes the fake tell fn about every call as it is recorded (also
// with KeepCalls(false)), with the time the call acted. fn runs with the
// fake's lock held: it must be quick and must not call the fake.
func (p *Provider) Observe(fn func(c Call, at time.Time)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.observe = fn
}

// newHealthLocked is the health a backend registered now starts with, and
// schedules the health it takes after the delay.
func (p *Provider) newHealthLocked(target string, addr netip.AddrPort) providers.Health {
	if p.healthDelay <= 0 {
		delete(p.due[target], addr)
		return p.autoHeal
	}
	if p.due[target] == nil {
		p.due[target] = map[netip.AddrPort]dueHealth{}
	}
	p.due[target][addr] = dueHealth{at: p.now().Add(p.healthDelay), health: p.autoHeal}
	return providers.HealthInitial
}

// matureLocked gives the backends of target whose delay is over their health.
func (p *Provider) matureLocked(target string) {
	due := p.due[target]
	if len(due) == 0 {
		return
	}
	now := p.now()
	for addr, d := range due {
		if now.Before(d.at) {
			continue
		}
		if b, ok := p.targets[target][addr]; ok && b.Health == providers.HealthInitial {
			b.Health = d.health
		}
		delete(due, addr)
	}
}
