// Package fake is an in-memory load balancer for tests. The test drives
// health (SetHealth, SetAllHealthy), injects errors and latency, and reads
// back every call. It enforces MaxBackends and MaxBatch the way a real load
// balancer refuses oversized requests, so callers that forget to split
// batches fail here too.
package fake

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/lbgate/lbgate/providers"
)

// Call is one recorded provider call.
type Call struct {
	Method string
	Target string
	Addrs  []netip.AddrPort
	Err    error
	// Settings are the target's settings a Register call passed.
	Settings providers.Settings
}

// Provider is the in-memory load balancer. The zero value is not usable: call New.
type Provider struct {
	mu       sync.Mutex
	limits   providers.Limits
	targets  map[string]map[netip.AddrPort]*providers.BackendStatus
	calls    []Call
	failures map[string][]error // method ("" = any) -> errors returned in order
	cutOff   map[string]error   // target -> error every call on it returns
	latency  time.Duration
	autoHeal providers.Health // health given to new backends
	autoAdd  bool             // unknown targets spring into existence
	caps     map[string]providers.Capabilities
	sessions map[string]bool // targets whose List reports sessions
	// healthDelay, when above zero, is how long a new (or rechecked)
	// backend stays Initial before it takes autoHeal; due holds when.
	healthDelay time.Duration
	due         map[string]map[netip.AddrPort]dueHealth
	now         func() time.Time
	keepOff     bool                  // calls are not kept (KeepCalls(false))
	observe     func(Call, time.Time) // told every call as it is recorded
}

var _ providers.Provider = (*Provider)(nil)

// New returns a fake provider with the given limits and the named targets
// existing. Limits without Capabilities apply every setting (an in-memory
// load balancer runs no check of its own to disagree with); SetCapabilities
// narrows them per target.
func New(limits providers.Limits, targets ...string) *Provider {
	c := limits.Capabilities
	if c.Applied == 0 && c.Reported == 0 && c.InForce == (providers.Settings{}) && len(c.Where) == 0 {
		limits.Capabilities.Applied = providers.AllSettings
	}
	p := &Provider{
		limits:   limits,
		targets:  map[string]map[netip.AddrPort]*providers.BackendStatus{},
		failures: map[string][]error{},
		autoHeal: providers.HealthInitial,
		due:      map[string]map[netip.AddrPort]dueHealth{},
		now:      time.Now,
	}
	for _, t := range targets {
		p.targets[t] = map[netip.AddrPort]*providers.BackendStatus{}
	}
	return p
}

// Name returns "fake".
func (p *Provider) Name() string { return "fake" }

// AddTarget makes a target exist.
func (p *Provider) AddTarget(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.targets[id]; !ok {
		p.targets[id] = map[netip.AddrPort]*providers.BackendStatus{}
	}
}

// CreateTargetsOnUse makes unknown targets exist on first use instead of failing with NotFound.
func (p *Provider) CreateTargetsOnUse(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.autoAdd = on
}

// RemoveTarget deletes a target and its backends.
func (p *Provider) RemoveTarget(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.targets, id)
	delete(p.due, id)
}

// Forget drops every backend of every target, as a load balancer that restarted and lost its runtime state.
func (p *Provider) Forget() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id := range p.targets {
		p.targets[id] = map[netip.AddrPort]*providers.BackendStatus{}
	}
	clear(p.due)
}

// SetLatency makes every call wait d (or until its context ends) before it acts.
func (p *Provider) SetLatency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
}

// FailNext makes the next calls of method ("" for any method) return errs, one per call.
func (p *Provider) FailNext(method string, errs ...error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures[method] = append(p.failures[method], errs...)
}

// CutOff makes every call on target return err, as a target behind a
// broken link, until ClearFailures.
func (p *Provider) CutOff(target string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cutOff == nil {
		p.cutOff = map[string]error{}
	}
	p.cutOff[target] = err
}

// ClearFailures drops every queued error and every cut-off target.
func (p *Provider) ClearFailures() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures = map[string][]error{}
	p.cutOff = nil
}

// SetCapabilities makes Limits report c for target, as a load balancer
// that applies only some settings there.
func (p *Provider) SetCapabilities(target string, c providers.Capabilities) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.caps == nil {
		p.caps = map[string]providers.Capabilities{}
	}
	p.caps[target] = c
}

// ReportSessions makes List report the sessions of every backend of
// target (SessionsKnown; 0 unless SetSessions says otherwise), as HAProxy
// does with its scur counter.
func (p *Provider) ReportSessions(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sessions == nil {
		p.sessions = map[string]bool{}
	}
	p.sessions[target] = true
}

// SetSessions sets how many sessions a backend holds; false when the target
// has no such backend.
func (p *Provider) SetSessions(target string, addr netip.AddrPort, n int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.targets[target][addr]
	if ok {
		b.Sessions = n
	}
	return ok
}

// SetNewBackendHealth sets the health new backends start with (Initial by default).
func (p *Provider) SetNewBackendHealth(h providers.Health) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.autoHeal = h
}

// SetHealth sets the health of a registered backend; it reports whether the backend exists.
func (p *Provider) SetHealth(target string, addr netip.AddrPort, h providers.Health) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.targets[target][addr]
	if !ok {
		return false
	}
	if b.Health != providers.HealthDraining {
		b.Health = h
	}
	delete(p.due[target], addr)
	return true
}

// SetAllHealthy marks every registered, non-draining backend of every target healthy and returns how many changed.
func (p *Provider) SetAllHealthy() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	clear(p.due)
	for _, t := range p.targets {
		for _, b := range t {
			if b.Health != providers.HealthDraining && b.Health != providers.HealthHealthy {
				b.Health = providers.HealthHealthy
				n++
			}
		}
	}
	return n
}

// Calls returns a copy of every call so far.
func (p *Provider) Calls() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

// CallsOf returns the recorded calls of one method.
func (p *Provider) CallsOf(method string) []Call {
	var out []Call
	for _, c := range p.Calls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// ResetCalls forgets the recorded calls.
func (p *Provider) ResetCalls() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = nil
}

// Backends returns the backends of a target as the load balancer holds them, sorted by address.
func (p *Provider) Backends(target string) []providers.BackendStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.matureLocked(target)
	return p.listLocked(target)
}

// Limits reports the configured limits.
func (p *Provider) Limits(ctx context.Context, target string) (providers.Limits, error) {
	if err := p.begin(ctx, "Limits", target, nil); err != nil {
		return providers.Limits{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.targets[target]; !ok {
		return providers.Limits{}, p.record("Limits", target, nil, &providers.NotFoundError{Target: target, Detail: "no such target in the fake load balancer"})
	}
	l := p.limits
	if c, ok := p.caps[target]; ok {
		l.Capabilities = c
	}
	return l, p.record("Limits", target, nil, nil)
}

// Register adds backends or updates their weight.
func (p *Provider) Register(ctx context.Context, target providers.Target, backends []providers.Backend) error {
	addrs := make([]netip.AddrPort, len(backends))
	for i, b := range backends {
		addrs[i] = b.Addr
	}
	if err := p.begin(ctx, "Register", target.ID, addrs); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t, err := p.checkLocked("Register", target.ID, addrs)
	if err != nil {
		return err
	}
	added := map[netip.AddrPort]bool{} // an address repeated in the batch is one backend
	for _, b := range backends {
		if _, ok := t[b.Addr]; !ok {
			added[b.Addr] = true
		}
	}
	if p.limits.MaxBackends > 0 && len(t)+len(added) > p.limits.MaxBackends {
		return p.record("Register", target.ID, addrs, &providers.QuotaError{Target: target.ID, Limit: p.limits.MaxBackends, Want: len(t) + len(added), Detail: "target is full"})
	}
	settings := providers.Settings{SlowStart: target.SlowStart}
	if target.HealthCheck != nil {
		settings.HealthCheck = *target.HealthCheck
	}
	for _, b := range backends {
		if cur, ok := t[b.Addr]; ok {
			cur.Weight = b.Weight
			if cur.Health == providers.HealthDraining || b.Recheck {
				// Registered again, or for another pod: checked again, like a new backend.
				cur.Health, cur.Reason = p.newHealthLocked(target.ID, b.Addr), ""
			}
			continue
		}
		t[b.Addr] = &providers.BackendStatus{Backend: b, Health: p.newHealthLocked(target.ID, b.Addr)}
	}
	return p.keep(Call{Method: "Register", Target: target.ID, Addrs: slices.Clone(addrs), Settings: settings})
}

// Drain marks backends draining; unknown backends are ignored.
func (p *Provider) Drain(ctx context.Context, target string, addrs []netip.AddrPort) error {
	if err := p.begin(ctx, "Drain", target, addrs); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t, err := p.checkLocked("Drain", target, addrs)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if b, ok := t[a]; ok {
			b.Health = providers.HealthDraining
			b.Reason = "draining"
		}
		delete(p.due[target], a)
	}
	return p.record("Drain", target, addrs, nil)
}

// Deregister removes backends; unknown backends are ignored.
func (p *Provider) Deregister(ctx context.Context, target string, addrs []netip.AddrPort) error {
	if err := p.begin(ctx, "Deregister", target, addrs); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t, err := p.checkLocked("Deregister", target, addrs)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		delete(t, a)
		delete(p.due[target], a)
	}
	return p.record("Deregister", target, addrs, nil)
}

// List returns the backends of a target, sorted by address.
func (p *Provider) List(ctx context.Context, target string) ([]providers.BackendStatus, error) {
	if err := p.begin(ctx, "List", target, nil); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.targets[target]; !ok {
		return nil, p.record("List", target, nil, &providers.NotFoundError{Target: target, Detail: "no such target in the fake load balancer"})
	}
	p.matureLocked(target)
	out := p.listLocked(target)
	return out, p.record("List", target, nil, nil)
}

func (p *Provider) listLocked(target string) []providers.BackendStatus {
	out := make([]providers.BackendStatus, 0, len(p.targets[target]))
	for _, b := range p.targets[target] {
		st := *b
		st.SessionsKnown = p.sessions[target]
		if !st.SessionsKnown {
			st.Sessions = 0
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b providers.BackendStatus) int { return a.Addr.Compare(b.Addr) })
	return out
}

// begin waits out the injected latency and returns an injected error, if any.
func (p *Provider) begin(ctx context.Context, method, target string, addrs []netip.AddrPort) error {
	p.mu.Lock()
	latency := p.latency
	p.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-ctx.Done():
			p.mu.Lock()
			defer p.mu.Unlock()
			return p.record(method, target, addrs, &providers.UnavailableError{Detail: "fake call cancelled", Err: ctx.Err()})
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err, ok := p.cutOff[target]; ok {
		return p.record(method, target, addrs, err)
	}
	for _, key := range []string{method, ""} {
		if q := p.failures[key]; len(q) > 0 {
			p.failures[key] = q[1:]
			return p.record(method, target, addrs, q[0])
		}
	}
	// A call that fails changes nothing, not even the targets that exist.
	if _, ok := p.targets[target]; !ok && p.autoAdd {
		p.targets[target] = map[netip.AddrPort]*providers.BackendStatus{}
	}
	return nil
}

func (p *Provider) checkLocked(method, target string, addrs []netip.AddrPort) (map[netip.AddrPort]*providers.BackendStatus, error) {
	t, ok := p.targets[target]
	if !ok {
		return nil, p.record(method, target, addrs, &providers.NotFoundError{Target: target, Detail: "no such target in the fake load balancer"})
	}
	if p.limits.MaxBatch > 0 && len(addrs) > p.limits.MaxBatch {
		return nil, p.record(method, target, addrs, &providers.QuotaError{Target: target, Limit: p.limits.MaxBatch, Want: len(addrs),
			Detail: fmt.Sprintf("%s batch larger than the limit", method)})
	}
	return t, nil
}

func (p *Provider) record(method, target string, addrs []netip.AddrPort, err error) error {
	return p.keep(Call{Method: method, Target: target, Addrs: slices.Clone(addrs), Err: err})
}

// keep records c (unless KeepCalls(false)), tells the observer, and returns c.Err.
func (p *Provider) keep(c Call) error {
	if !p.keepOff {
		p.calls = append(p.calls, c)
	}
	if p.observe != nil {
		p.observe(c, p.now())
	}
	return c.Err
}
