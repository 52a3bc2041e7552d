package haproxy

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// checkSettings are the per-server settings HAProxy 2.6 takes only when a
// server is created (`add server ... check inter rise fall slowstart`); the
// Runtime API cannot change them later (`set server` knows none of them).
type checkSettings struct {
	Interval time.Duration
	Rise     int
	Fall     int
	// SlowStart is the server's `slowstart`: after each transition to up,
	// HAProxy ramps its effective weight from low to full over this long
	// (dynamic balance algorithms only). 0 is off.
	SlowStart time.Duration
}

// keywords renders the settings as `add server` keywords. fastinter, the
// interval HAProxy uses while a server is between down and up (after the
// first passed check of a new address), is a quarter of the interval: a
// new or re-registered pod still needs rise passed checks in a row, but
// they come faster, so a pod re-registered after an HAProxy restart serves
// again in about interval + (rise-1) × interval/4.
//
// slowstart starts the ramp when HAProxy counts the server up, which for a
// new pod is while the slot is still in drain (see fillSlot): the slot goes
// ready at the next List or Register, so the ramp is shortened by that
// delay (a gate poll), never lengthened.
func (c checkSettings) keywords() string {
	fast := max(c.Interval.Milliseconds()/4, 1)
	kw := fmt.Sprintf("check inter %dms fastinter %dms downinter %dms rise %d fall %d",
		c.Interval.Milliseconds(), fast, fast, c.Rise, c.Fall)
	if c.SlowStart > 0 {
		kw += fmt.Sprintf(" slowstart %dms", c.SlowStart.Milliseconds())
	}
	return kw
}

// slotName is a parsed server name of the provider's slot pool:
// <prefix><n> for slots from the configuration (server-template), or
// <prefix><n>-i<ms>r<rise>f<fall>[s<ms>] for slots the provider added, so a
// slot's settings can be read back from HAProxy (neither show servers state
// nor show stat has a column for the check interval or slowstart). The s
// part is the slowstart, absent when off.
type slotName struct {
	Num         int
	Settings    checkSettings
	HasSettings bool
}

var slotSuffix = regexp.MustCompile(`^([0-9]+)(?:-i([0-9]+)r([0-9]+)f([0-9]+)(?:s([0-9]+))?)?$`)

// parseSlotName reports whether name belongs to the pool with the given prefix.
func parseSlotName(prefix, name string) (slotName, bool) {
	if len(name) <= len(prefix) || name[:len(prefix)] != prefix {
		return slotName{}, false
	}
	m := slotSuffix.FindStringSubmatch(name[len(prefix):])
	if m == nil {
		return slotName{}, false
	}
	var s slotName
	s.Num, _ = strconv.Atoi(m[1])
	if m[2] != "" {
		ms, _ := strconv.Atoi(m[2])
		s.Settings.Rise, _ = strconv.Atoi(m[3])
		s.Settings.Fall, _ = strconv.Atoi(m[4])
		s.Settings.Interval = time.Duration(ms) * time.Millisecond
		if m[5] != "" {
			ss, _ := strconv.Atoi(m[5])
			s.Settings.SlowStart = time.Duration(ss) * time.Millisecond
		}
		s.HasSettings = true
	}
	return s, true
}

// format renders the slot name with the given prefix.
func (s slotName) format(prefix string) string {
	if !s.HasSettings {
		return prefix + strconv.Itoa(s.Num)
	}
	name := fmt.Sprintf("%s%d-i%dr%df%d", prefix, s.Num, s.Settings.Interval.Milliseconds(), s.Settings.Rise, s.Settings.Fall)
	if s.Settings.SlowStart > 0 {
		name += fmt.Sprintf("s%d", s.Settings.SlowStart.Milliseconds())
	}
	return name
}

// slot is one server of a backend's pool: HAProxy's state of it, its
// counters and its parsed name.
type slot struct {
	ServerState
	Stat StatRow
	name slotName
}

// phase is where a slot is in its life, read from HAProxy's flags alone.
type phase int

const (
	// phaseFree: in maintenance, holds no backend.
	phaseFree phase = iota
	// phaseRegistering: drain with checks on, waiting for its check to pass.
	phaseRegistering
	// phaseActive: ready, takes traffic when up.
	phaseActive
	// phaseDraining: drain with checks off, on its way out.
	phaseDraining
)

// phase derives the slot's phase. The provider keeps no memory, so the
// flags carry the meaning: Register leaves a slot in drain with checks
// enabled, Drain and Deregister turn checks off, and maintenance means free.
func (s slot) phase() phase {
	switch {
	case s.Admin.Maint() || s.parked():
		return phaseFree
	case s.Admin.Drain() && s.Check.Enabled():
		return phaseRegistering
	case s.Admin.Drain():
		return phaseDraining
	}
	return phaseActive
}

// parked reports whether the slot is at the parking address (127.0.0.1:1 or
// [::1]:1), which holds no backend: where unpause leaves a slot, and where
// the documented server-template declares slots.
func (s slot) parked() bool {
	return s.Addr.IsValid() && s.Port == parkPort && s.Addr == parkAddr(s.Addr)
}

// passed reports whether a registering slot passed its checks: HAProxy says
// up and the last check passed. Register forces the slot down when it takes
// a new address, so "up" here means rise checks passed for that address.
func (s slot) passed() bool {
	return s.Op.Up() && s.CheckStatus.Passed()
}
