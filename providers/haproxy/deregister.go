package haproxy

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/lbgate/lbgate/providers"
)

// Drain stops new traffic to backends: their slots go to drain with checks
// off. Established sessions go on. Backends not registered are skipped.
func (p *Provider) Drain(ctx context.Context, target string, addrs []netip.AddrPort) error {
	if len(addrs) == 0 {
		return nil
	}
	if len(addrs) > p.opts.MaxBatch {
		return &providers.QuotaError{Target: target, Limit: p.opts.MaxBatch, Want: len(addrs), Detail: "batch larger than the provider's MaxBatch"}
	}
	defer p.locks.lock(target)()
	v, err := p.snapshot(ctx, target, false)
	if err != nil {
		return err
	}
	return p.apply(ctx, target, drainCommands(v, holding(v, addrs)))
}

// Deregister removes backends: each slot is drained with checks off, then
// parked in maintenance (free for the next Register) once HAProxy counts no
// session on it. A slot that still has sessions stays draining, and listed as
// Draining, until a later Deregister finds it idle; the slot is never
// deleted (`del server` can crash HAProxy 2.6, see the package documentation).
func (p *Provider) Deregister(ctx context.Context, target string, addrs []netip.AddrPort) error {
	if len(addrs) == 0 {
		return nil
	}
	if len(addrs) > p.opts.MaxBatch {
		return &providers.QuotaError{Target: target, Limit: p.opts.MaxBatch, Want: len(addrs), Detail: "batch larger than the provider's MaxBatch"}
	}
	defer p.locks.lock(target)()
	v, err := p.snapshot(ctx, target, false)
	if err != nil {
		return err
	}
	if cmds := drainCommands(v, holding(v, addrs)); len(cmds) > 0 {
		if err := p.apply(ctx, target, cmds); err != nil {
			return err
		}
		// Read the session counts again now that no new session can start.
		if v, err = p.snapshot(ctx, target, false); err != nil {
			return err
		}
	}
	var cmds []string
	for _, s := range holding(v, addrs) {
		if s.Admin.Drain() && !s.Check.Enabled() && s.Stat.Sessions == 0 {
			cmds = append(cmds, v.cmd(s, "state maint"))
		}
	}
	return p.apply(ctx, target, cmds)
}

// holding returns every non-free slot holding one of addrs.
func holding(v *view, addrs []netip.AddrPort) []*slot {
	want := map[netip.AddrPort]bool{}
	for _, a := range addrs {
		want[a] = true
	}
	var out []*slot
	for i := range v.slots {
		s := &v.slots[i]
		if s.phase() != phaseFree && want[s.AddrPort()] {
			out = append(out, s)
		}
	}
	return out
}

// drainCommands puts slots in drain with checks off, skipping what is so already.
func drainCommands(v *view, slots []*slot) []string {
	var cmds []string
	for _, s := range slots {
		if !s.Admin.Drain() {
			cmds = append(cmds, v.cmd(s, "state drain"))
		}
		if s.Check.Enabled() {
			cmds = append(cmds, fmt.Sprintf("disable health %s/%s", v.backend, s.Name))
		}
	}
	return cmds
}

var _ providers.ForceDeregisterer = (*Provider)(nil)

// ForceDeregister parks backends' slots at once, sessions or not: drained
// with checks off, then in maintenance (free for the next Register), then
// their remaining sessions are shut down. Deregister's caller uses it when
// the deregistration delay is over and a slot still holds sessions, so no
// slot is left draining for good. Each prefix of the pipeline is safe: the
// slot takes no new traffic from the first command on.
func (p *Provider) ForceDeregister(ctx context.Context, target string, addrs []netip.AddrPort) error {
	if len(addrs) == 0 {
		return nil
	}
	if len(addrs) > p.opts.MaxBatch {
		return &providers.QuotaError{Target: target, Limit: p.opts.MaxBatch, Want: len(addrs), Detail: "batch larger than the provider's MaxBatch"}
	}
	defer p.locks.lock(target)()
	v, err := p.snapshot(ctx, target, false)
	if err != nil {
		return err
	}
	slots := holding(v, addrs)
	cmds := drainCommands(v, slots)
	for _, s := range slots {
		cmds = append(cmds, v.cmd(s, "state maint"), fmt.Sprintf("shutdown sessions server %s/%s", v.backend, s.Name))
	}
	return p.apply(ctx, target, cmds)
}
