package haproxy

import (
	"context"
	"fmt"
	"net/netip"
	"sort"

	"github.com/lbgate/lbgate/providers"
)

// Register puts each backend into a slot of the target backend, in one read
// and one pipelined write. A new backend's slot is re-addressed (or added),
// forced down, and left in drain with checks on: HAProxy checks it but sends
// it no traffic. List moves it to ready once HAProxy says the check passed.
// A backend that holds a slot already only gets its weight updated (and a
// drained one is checked again); with Recheck it is also taken out of
// traffic and forced down, so it takes traffic again only after passing
// HAProxy's check anew.
//
// Every pipeline is ordered so that any prefix of it, left behind when the
// connection, the deadline or a reload cuts it, is safe: no prefix leaves a
// slot that List would promote on a check result it did not get for its
// current address. See fillSlot and updateSlot.
func (p *Provider) Register(ctx context.Context, target providers.Target, backends []providers.Backend) error {
	if len(backends) == 0 {
		return nil
	}
	if len(backends) > p.opts.MaxBatch {
		return &providers.QuotaError{Target: target.ID, Limit: p.opts.MaxBatch, Want: len(backends), Detail: "batch larger than the provider's MaxBatch"}
	}
	for _, b := range backends {
		if !b.Addr.IsValid() || b.Addr.Port() == 0 {
			return fmt.Errorf("haproxy: backend %s has no valid address and port", b)
		}
	}
	defer p.locks.lock(target.ID)()
	v, err := p.snapshot(ctx, target.ID, true)
	if err != nil {
		return err
	}
	cmds, err := planRegister(v, backends, p.settings(target))
	if err != nil {
		return err
	}
	return p.apply(ctx, target.ID, cmds)
}

// planRegister computes the commands that register backends on a backend as
// seen in v. It fails with a QuotaError, before any change, when the
// backend has no room for all new backends.
func planRegister(v *view, backends []providers.Backend, want checkSettings) ([]string, error) {
	desired := map[netip.AddrPort]providers.Backend{}
	var order []netip.AddrPort
	for _, b := range backends {
		if _, ok := desired[b.Addr]; !ok {
			order = append(order, b.Addr)
		}
		desired[b.Addr] = b
	}
	held := v.registered()
	var cmds []string
	var fresh []providers.Backend
	for _, a := range order {
		b := desired[a]
		if s, ok := held[a.String()]; ok {
			cmds = append(cmds, updateSlot(v, s, v.weight(s, b.Weight), b.Recheck)...)
		} else {
			fresh = append(fresh, b)
		}
	}
	if len(fresh) == 0 {
		return cmds, nil
	}
	picks, err := pickSlots(v, fresh, want, len(held))
	if err != nil {
		return nil, err
	}
	for i, b := range fresh {
		cmds = append(cmds, fillSlot(v, picks[i], b, want)...)
	}
	return cmds, nil
}

// updateSlot is Register on a backend that holds a slot already. A fresh
// check always starts with `health down` (checks off or on, HAProxy then
// needs rise passing checks to count the slot up), and only then are checks
// turned on or the slot moved to drain: cut after `health down`, the slot
// is down; cut before it, nothing changed.
func updateSlot(v *view, s *slot, w int, recheck bool) []string {
	var cmds []string
	if s.Weight != w {
		cmds = append(cmds, v.cmd(s, "weight %d", w))
	}
	switch s.phase() {
	case phaseDraining:
		// Wanted again: check it afresh before it takes traffic.
		cmds = append(cmds, v.cmd(s, "health down"), enableHealth(v, s))
	case phaseRegistering:
		switch {
		case recheck:
			cmds = append(cmds, v.cmd(s, "health down"))
		case s.passed():
			cmds = append(cmds, v.cmd(s, "state ready"))
		}
	case phaseActive:
		switch {
		case recheck:
			// Down at once (no new traffic), checked again, and back to
			// drain so that List promotes it only after the check passed.
			cmds = append(cmds, v.cmd(s, "health down"))
			if !s.Check.Enabled() {
				cmds = append(cmds, enableHealth(v, s))
			}
			cmds = append(cmds, v.cmd(s, "state drain"))
		case !s.Check.Enabled():
			cmds = append(cmds, enableHealth(v, s))
		}
	}
	return cmds
}

// pick is the slot chosen for a new backend: an existing free slot, or a
// name to add.
type pick struct {
	slot *slot
	add  slotName
}

// pickSlots chooses a slot for each fresh backend, preferring (1) a free
// slot that last held the same address, declared in the configuration or
// added with the same check settings, (2) a free declared slot (a
// server-template one, which a server-state-file carries across a reload),
// idle the longest, (3) a free added slot with matching settings, idle the
// longest, (4) a new slot, (5) any free slot with a check (settings may
// differ: the backend cannot grow).
func pickSlots(v *view, fresh []providers.Backend, want checkSettings, held int) ([]pick, error) {
	sp := newSlotPicker(v, want)
	next, added := v.nextNum(), 0
	picks := make([]pick, len(fresh))
	short := 0
	for i, b := range fresh {
		if s := sp.takeReusable(b); s != nil {
			picks[i].slot = s
		} else if v.canGrow && (v.maxSlots == 0 || len(v.slots)+added < v.maxSlots) {
			picks[i].add = slotName{Num: next + added, Settings: want, HasSettings: true}
			added++
		} else if s := sp.take(func(*slot) bool { return true }); s != nil {
			picks[i].slot = s
		} else {
			short++
		}
	}
	if short > 0 {
		return nil, v.quotaError(v.capacity(), held+len(fresh))
	}
	return picks, nil
}

// slotPicker hands out the free slots with a check, longest idle first,
// each at most once.
type slotPicker struct {
	free []*slot
	used map[*slot]bool
	want checkSettings
}

func newSlotPicker(v *view, want checkSettings) *slotPicker {
	sp := &slotPicker{used: map[*slot]bool{}, want: want}
	for i := range v.slots {
		s := &v.slots[i]
		if s.phase() == phaseFree && s.Check.Configured() {
			sp.free = append(sp.free, s)
		}
	}
	// Longest idle first, so a slot that just let go of a pod is reused last.
	sort.SliceStable(sp.free, func(i, j int) bool { return sp.free[i].SinceChange > sp.free[j].SinceChange })
	return sp
}

// take hands out the first unused free slot ok accepts, or nil.
func (sp *slotPicker) take(ok func(*slot) bool) *slot {
	for _, s := range sp.free {
		if !sp.used[s] && ok(s) {
			sp.used[s] = true
			return s
		}
	}
	return nil
}

// takeReusable hands out a slot for b by preferences (1) to (3) of
// pickSlots, or nil.
func (sp *slotPicker) takeReusable(b providers.Backend) *slot {
	sameAddr := func(s *slot) bool { return (sp.declared(s) || sp.matches(s)) && s.AddrPort() == b.Addr }
	if s := sp.take(sameAddr); s != nil {
		return s
	}
	if s := sp.take(sp.declared); s != nil {
		return s
	}
	return sp.take(sp.matches)
}

// declared: a slot of the configuration (server-template), not one added.
func (sp *slotPicker) declared(s *slot) bool { return !s.name.HasSettings }

// matches: an added slot with the wanted check settings.
func (sp *slotPicker) matches(s *slot) bool {
	return s.name.HasSettings && s.name.Settings == sp.want
}

// fillSlot is the command sequence that gives a slot a new backend without
// it taking traffic, or being reported healthy, before HAProxy checked the
// new address rise times.
//
// HAProxy counts a server up the moment it leaves maintenance, with the check
// result it had (a reused slot says L7OK for an address it never checked)
// when its checks are on. So the slot leaves maintenance with checks off, as
// a draining slot: `state drain`, then `health down`, and only then `enable
// health`. Cut anywhere, the slot is free (still in maintenance), draining
// (no traffic, never promoted), or registering and down.
//
// A slot whose checks are paused (it entered maintenance with checks on: a
// server-template slot at start, or one restored from a server-state-file)
// runs its checks again only if it leaves maintenance with checks on, and
// is then up at once; see unpause.
func fillSlot(v *view, pk pick, b providers.Backend, want checkSettings) []string {
	var cmds []string
	s := pk.slot
	w := v.weight(s, b.Weight)
	if s == nil {
		// A server added at run time starts in maintenance with checks off.
		s = &slot{ServerState: ServerState{Name: pk.add.format(v.prefix)}}
		return append(cmds,
			fmt.Sprintf("add server %s/%s %s weight %d %s", v.backend, s.Name, b.Addr, w, want.keywords()),
			v.cmd(s, "state drain"),
			v.cmd(s, "health down"),
			enableHealth(v, s),
		)
	}
	switch {
	case s.Admin.Maint() && s.Check&CheckPaused != 0:
		cmds = append(cmds, unpause(v, s)...)
		cmds = append(cmds, v.cmd(s, "addr %s port %d", b.Addr.Addr(), b.Addr.Port()), v.cmd(s, "weight %d", w))
	case s.Admin.Maint():
		if s.AddrPort() != b.Addr {
			cmds = append(cmds, v.cmd(s, "addr %s port %d", b.Addr.Addr(), b.Addr.Port()))
		}
		if s.Weight != w {
			cmds = append(cmds, v.cmd(s, "weight %d", w))
		}
		if s.Check.Enabled() {
			cmds = append(cmds, disableHealth(v, s))
		}
		cmds = append(cmds, v.cmd(s, "state drain"), v.cmd(s, "health down"))
	default:
		// Out of maintenance at the parking address (a cut unpause): make it
		// a draining slot that is down, then give it the backend.
		if s.Check.Enabled() {
			cmds = append(cmds, disableHealth(v, s))
		}
		if !s.Admin.Drain() {
			cmds = append(cmds, v.cmd(s, "state drain"))
		}
		cmds = append(cmds, v.cmd(s, "health down"),
			v.cmd(s, "addr %s port %d", b.Addr.Addr(), b.Addr.Port()), v.cmd(s, "weight %d", w))
	}
	return append(cmds, enableHealth(v, s))
}

// parkPort and parkAddr are where unpause sends a slot before it leaves
// maintenance: an address no pod has, so the moment the slot is counted up
// with a stale check result concerns no backend anyone wants (and weight 0
// sends it no traffic). Port 1 (tcpmux) is never a pod's. A slot at the
// parking address is free whatever its state (see slot.phase), and it is
// the address the documented server-template declares.
const parkPort = 1

func parkAddr(a netip.Addr) netip.Addr {
	if a.Is6() && !a.Is4In6() {
		return netip.IPv6Loopback()
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

// unpause takes a slot with paused checks out of maintenance so that its
// checks run again, and leaves it draining, down, with checks off, at the
// parking address with weight 0: the state fillSlot continues from. HAProxy
// unpauses checks only when a server leaves maintenance with checks on,
// and then counts it up at once with its last check result; by then the
// slot holds the parking address and weight 0, and the next commands turn
// its checks off and force it down.
func unpause(v *view, s *slot) []string {
	var cmds []string
	park := netip.AddrPortFrom(parkAddr(s.Addr), parkPort)
	if s.AddrPort() != park {
		cmds = append(cmds, v.cmd(s, "addr %s port %d", park.Addr(), park.Port()))
	}
	if s.Weight != 0 {
		cmds = append(cmds, v.cmd(s, "weight 0"))
	}
	if !s.Check.Enabled() {
		cmds = append(cmds, enableHealth(v, s))
	}
	return append(cmds,
		v.cmd(s, "state drain"),
		disableHealth(v, s),
		v.cmd(s, "health down"),
	)
}

func enableHealth(v *view, s *slot) string {
	return fmt.Sprintf("enable health %s/%s", v.backend, s.Name)
}

func disableHealth(v *view, s *slot) string {
	return fmt.Sprintf("disable health %s/%s", v.backend, s.Name)
}

// weight maps the provider's 0-100 weight onto HAProxy's 0-256 for slot s
// (nil: a slot to add). A backend with a static algorithm accepts only 0 and
// the slot's initial weight, so there a weight is all or nothing.
func (v *view) weight(s *slot, w int32) int {
	hw := int(min(max(w, 0), 256))
	if s != nil && !v.canGrow && hw != 0 {
		return s.InitialWeight
	}
	return hw
}

// apply runs commands in one round trip and returns the first failure, typed.
func (p *Provider) apply(ctx context.Context, target string, cmds []string) error {
	if p.cut != nil {
		cmds = p.cut(cmds)
	}
	if len(cmds) == 0 {
		return nil
	}
	reply, err := p.client.Run(ctx, cmds...)
	if err != nil {
		return err
	}
	return p.typedError(target, reply.Err())
}
