package haproxy

import (
	"context"
	"errors"
	"slices"
	"sort"

	"github.com/lbgate/lbgate/providers"
)

var _ providers.Observer = (*Provider)(nil)

// List returns every backend that holds a slot of the target, with HAProxy's
// health of it. It also finishes registrations: a slot whose check passed
// while it waited in drain is set ready in the same call, and only then
// reported Healthy. That is List's only write; it keeps the provider free of
// memory, since whichever call sees the passed check completes the step.
// After an HAProxy restart the runtime-added slots are gone and List returns
// nothing for them, which tells the caller to register again.
func (p *Provider) List(ctx context.Context, target string) ([]providers.BackendStatus, error) {
	defer p.locks.lock(target)()
	v, err := p.snapshot(ctx, target, false)
	if err != nil {
		return nil, err
	}
	out, promote := backendsOf(v)
	if err := p.apply(ctx, target, promote); err != nil {
		return nil, err
	}
	return out, nil
}

// Observe reads every target's limits and backends (Limits and List) in
// one Runtime API round trip: `show servers state`, `show stat` and the
// `add server` probe of each backend, in one pipeline. Registrations whose
// check passed are finished as List does, with one more round trip per
// target that has some.
func (p *Provider) Observe(ctx context.Context, targets []string) (map[string]providers.Observation, error) {
	targets = slices.Clone(targets)
	slices.Sort(targets)
	targets = slices.Compact(targets)
	for _, t := range targets { // in order: two Observes never wait on each other
		defer p.locks.lock(t)()
	}
	views, errs, err := p.snapshots(ctx, targets)
	if err != nil {
		return nil, err
	}
	out := make(map[string]providers.Observation, len(targets))
	for _, t := range targets {
		if errs[t] != nil {
			out[t] = providers.Observation{Err: errs[t]}
			continue
		}
		var o providers.Observation
		o.Limits, o.Err = p.limitsOf(views[t])
		if o.Err == nil {
			var promote []string
			o.Backends, promote = backendsOf(views[t])
			o.Err = p.apply(ctx, t, promote)
		}
		if o.Err != nil {
			o.Limits, o.Backends = providers.Limits{}, nil
		}
		out[t] = o
	}
	return out, nil
}

// snapshots reads several backends as snapshot(probe) does, in one round
// trip. A backend that cannot be read has its error in errs.
func (p *Provider) snapshots(ctx context.Context, backends []string) (map[string]*view, map[string]error, error) {
	views, errs := map[string]*view{}, map[string]error{}
	var cmds []string
	var asked []string
	for _, b := range backends {
		if !validName(b) {
			errs[b] = &providers.NotFoundError{Target: b, Detail: "not a valid HAProxy backend name"}
			continue
		}
		asked = append(asked, b)
		cmds = append(cmds, p.readCommands(b, true)...)
	}
	if len(cmds) == 0 {
		return views, errs, nil
	}
	reply, err := p.client.Run(ctx, cmds...)
	if err != nil {
		return nil, nil, err
	}
	if err := p.adminOnly(reply); err != nil {
		return nil, nil, err
	}
	for i, b := range asked {
		v, err := p.viewOf(b, reply.Responses[3*i:3*i+3], true)
		if providers.IsPermission(err) {
			return nil, nil, err
		}
		if err != nil {
			errs[b] = err
			continue
		}
		views[b] = v
	}
	return views, errs, nil
}

// viewOf builds a backend's view from the answers to its `show servers
// state`, `show stat` and, with probe, `add server` probe (see snapshot).
func (p *Provider) viewOf(backend string, resps []Response, probe bool) (*view, error) {
	for _, r := range resps[:2] {
		if err := r.Err(); err != nil {
			return nil, p.typedError(backend, err)
		}
	}
	states, err := ParseServersState(resps[0].Text)
	if err != nil {
		return nil, err
	}
	rows, err := ParseStat(resps[1].Text)
	if err != nil {
		return nil, err
	}
	v := newView(backend, p.opts.SlotPrefix, states, rows)
	v.maxSlots = p.opts.MaxSlots
	if !probe {
		return v, nil
	}
	perr := p.typedError(backend, resps[2].Err())
	var qe *providers.QuotaError
	switch {
	case errors.As(perr, &qe):
		v.canGrow = false
	case providers.IsPermission(perr):
		return nil, perr
	default:
		v.canGrow = true
	}
	return v, nil
}

// backendsOf lists the backends a view holds, with the commands that
// finish the registrations whose check passed.
func backendsOf(v *view) ([]providers.BackendStatus, []string) {
	held := v.registered()
	var promote []string
	out := make([]providers.BackendStatus, 0, len(held))
	for _, s := range held {
		if s.phase() == phaseRegistering && s.passed() {
			promote = append(promote, v.cmd(s, "state ready"))
		}
		out = append(out, providers.BackendStatus{
			Backend: providers.Backend{Addr: s.AddrPort(), Weight: int32(s.Weight)},
			Health:  s.health(),
			Reason:  s.reason(),
			// scur: HTTP streams or TCP connections on the server now.
			Sessions: s.Stat.Sessions, SessionsKnown: true,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr.Compare(out[j].Addr) < 0 })
	return out, promote
}
