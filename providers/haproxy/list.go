package haproxy

import (
	"context"
	"sort"

	"github.com/lbgate/lbgate/providers"
)

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
	if err := p.apply(ctx, target, promote); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr.Compare(out[j].Addr) < 0 })
	return out, nil
}
