package haproxy

import (
	"context"
	"fmt"

	"github.com/lbgate/lbgate/providers"
)

// view is one backend as HAProxy reports it in one round trip: the only
// state the provider works from.
type view struct {
	backend string
	prefix  string
	// slots are the servers named <prefix><n>..., in server-id order.
	slots []slot
	// canGrow says whether `add server` works on this backend; only known
	// when the snapshot was taken with probe.
	canGrow bool
	// maxSlots is Options.MaxSlots.
	maxSlots int
	// algo is the backend's balance algorithm as `show stat` names it.
	algo string
}

// snapshot reads a backend in one round trip: the CLI level (see Client.Run),
// `show servers state`, `show stat` and, with probe, whether the backend takes new servers.
// The probe is `add server` without an address: HAProxy checks the balance
// algorithm first and then fails to parse, so it never creates a server.
func (p *Provider) snapshot(ctx context.Context, backend string, probe bool) (*view, error) {
	if !validName(backend) {
		return nil, &providers.NotFoundError{Target: backend, Detail: "not a valid HAProxy backend name"}
	}
	reply, err := p.client.Run(ctx, p.readCommands(backend, probe)...)
	if err != nil {
		return nil, err
	}
	if err := p.adminOnly(reply); err != nil {
		return nil, err
	}
	return p.viewOf(backend, reply.Responses, probe)
}

// readCommands read a backend: `show servers state`, `show stat` and,
// with probe, `add server` without an address, which HAProxy refuses
// after checking the balance algorithm (see snapshot).
func (p *Provider) readCommands(backend string, probe bool) []string {
	cmds := []string{"show servers state " + backend, "show stat " + backend + " -1 -1"}
	if probe {
		cmds = append(cmds, "add server "+backend+"/"+p.opts.SlotPrefix+"probe")
	}
	return cmds
}

// adminOnly refuses the answers of a Runtime API below level admin.
func (p *Provider) adminOnly(reply *Reply) error {
	if reply.Level == "admin" {
		return nil
	}
	return &providers.PermissionError{Detail: fmt.Sprintf(
		"HAProxy runtime API %s is at level %q: the provider needs `stats socket <path> level admin` in haproxy.cfg",
		p.client, reply.Level)}
}

// newView joins a backend's `show servers state` and `show stat` lines for
// the servers named like slots.
func newView(backend, prefix string, states []ServerState, rows []StatRow) *view {
	v := &view{backend: backend, prefix: prefix}
	stats := map[string]StatRow{}
	for _, r := range rows {
		switch {
		case r.Proxy != backend:
		case r.Type == StatServer:
			stats[r.Name] = r
		case r.Type == StatBackend:
			v.algo = r.Algo
		}
	}
	for _, s := range states {
		name, ok := parseSlotName(prefix, s.Name)
		if !ok || s.Backend != backend {
			continue
		}
		v.slots = append(v.slots, slot{ServerState: s, Stat: stats[s.Name], name: name})
	}
	return v
}

// usableSlots counts the slots that can hold a backend: those with a check.
func (v *view) usableSlots() int {
	n := 0
	for _, s := range v.slots {
		if s.Check.Configured() {
			n++
		}
	}
	return n
}

// nextNum returns the lowest slot number above every existing one.
func (v *view) nextNum() int {
	n := 0
	for _, s := range v.slots {
		n = max(n, s.name.Num)
	}
	return n + 1
}

// capacity is how many backends the backend holds; 0 means no limit.
func (v *view) capacity() int {
	if !v.canGrow {
		if v.maxSlots > 0 {
			return min(v.maxSlots, v.usableSlots())
		}
		return v.usableSlots()
	}
	return v.maxSlots
}

// quotaError explains a full backend.
func (v *view) quotaError(limit, want int) error {
	detail := fmt.Sprintf("every %s* slot of backend %q is in use", v.prefix, v.backend)
	if !v.canGrow {
		detail += fmt.Sprintf(" and its balance algorithm does not allow `add server`: use roundrobin/leastconn/random/first (or hash-type consistent), or configure more slots (`server-template %s 1-N 127.0.0.1:1 disabled check`)", v.prefix)
	} else {
		detail += fmt.Sprintf(" and the provider's limit of %d slots per backend is reached", v.maxSlots)
	}
	return &providers.QuotaError{Target: v.backend, Limit: limit, Want: want, Detail: detail}
}

// registered returns, per address, the slot that holds it: of several slots
// with one address (two operators raced, or an admin copied one), the most
// advanced one wins.
func (v *view) registered() map[string]*slot {
	rank := map[phase]int{phaseActive: 3, phaseRegistering: 2, phaseDraining: 1}
	m := map[string]*slot{}
	for i := range v.slots {
		s := &v.slots[i]
		if s.phase() == phaseFree || !s.Addr.IsValid() {
			continue
		}
		key := s.AddrPort().String()
		if cur, ok := m[key]; !ok || rank[s.phase()] > rank[cur.phase()] {
			m[key] = s
		}
	}
	return m
}

// cmd formats a `set server` command for a slot.
func (v *view) cmd(s *slot, format string, args ...any) string {
	return fmt.Sprintf("set server %s/%s ", v.backend, s.Name) + fmt.Sprintf(format, args...)
}
