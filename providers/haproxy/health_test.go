package haproxy

import (
	"testing"
	"time"
)

func TestHealthFromCapturedState(t *testing.T) {
	states, err := ParseServersState(readTestdata(t, "servers-state-web.txt"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ParseStat(readTestdata(t, "stat-web.csv"))
	if err != nil {
		t.Fatal(err)
	}
	v := newView("web", "lbgate-", states, rows)
	if len(v.slots) != 5 {
		t.Fatalf("got %d slots, want 5 (\"other\" is not a slot)", len(v.slots))
	}
	want := map[string]struct {
		phase  phase
		health string
		reason string
	}{
		"lbgate-1-i200r2f2": {phaseActive, "Healthy", "L7OK/200 (UP)"},
		"lbgate-2-i200r2f2": {phaseRegistering, "Unhealthy", "L7STS/500 (DOWN)"},
		"lbgate-3-i200r2f2": {phaseDraining, "Draining", "DRAIN"},
		"lbgate-4-i200r2f2": {phaseFree, "Unused", "MAINT"},
		"lbgate-5-i200r2f2": {phaseRegistering, "Unhealthy", "L4CON (DOWN)"},
	}
	for _, s := range v.slots {
		w := want[s.Name]
		if s.phase() != w.phase || string(s.health()) != w.health || s.reason() != w.reason {
			t.Errorf("%s: phase %d health %s reason %q, want %d %s %q", s.Name, s.phase(), s.health(), s.reason(), w.phase, w.health, w.reason)
		}
	}
	if got := len(v.registered()); got != 4 {
		t.Errorf("registered: %d, want 4", got)
	}
}

func TestHealthNeverHealthyBeforeACheck(t *testing.T) {
	base := ServerState{Op: OpRunning, Check: CheckConfigured | CheckEnabled, CheckStatus: CheckInit}
	cases := []struct {
		name  string
		admin AdminState
		op    OpState
		st    CheckStatus
		want  string
	}{
		{"ready, up, INI (left maintenance before any check)", 0, OpRunning, CheckInit, "Initial"},
		{"drain, up, INI", AdminForcedDrain, OpRunning, CheckInit, "Initial"},
		{"drain, down, stale pass (forced down, going up)", AdminForcedDrain, OpStopped, CheckL7OK, "Initial"},
		{"drain, up, passed", AdminForcedDrain, OpRunning, CheckL7OK, "Healthy"},
		{"drain, up, L4 passed", AdminForcedDrain, OpRunning, CheckL4OK, "Healthy"},
		{"drain, down, L7STS", AdminForcedDrain, OpStopped, CheckL7STS, "Unhealthy"},
		{"ready, down, L7STS", 0, OpStopped, CheckL7STS, "Unhealthy"},
		{"ready, up, failing but not yet fall (HAProxy still says up)", 0, OpRunning, CheckL7STS, "Healthy"},
		{"ready, stopping", 0, OpStopping, CheckL7OK, "Draining"},
		{"ready, slowstart", 0, OpStarting, CheckL7OK, "Healthy"},
	}
	for _, c := range cases {
		s := slot{ServerState: base}
		s.Admin, s.Op, s.CheckStatus = c.admin, c.op, c.st
		if got := string(s.health()); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	s := slot{ServerState: ServerState{Admin: AdminForcedDrain, Op: OpRunning, Check: CheckConfigured, CheckStatus: CheckL7OK}}
	if got := s.health(); got != "Draining" {
		t.Errorf("drain with checks off: %s, want Draining", got)
	}
	s = slot{ServerState: ServerState{Op: OpRunning, Check: CheckConfigured, CheckStatus: CheckL7OK}}
	if got := s.health(); got != "Unused" {
		t.Errorf("ready with checks off: %s, want Unused", got)
	}
}

func TestSlotNames(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
		want slotName
	}{
		{"lbgate-1", true, slotName{Num: 1}},
		{"lbgate-12-i200r2f3", true, slotName{Num: 12, HasSettings: true, Settings: checkSettings{Interval: 200 * time.Millisecond, Rise: 2, Fall: 3}}},
		{"lbgate-3-i1000r2f2s30000", true, slotName{Num: 3, HasSettings: true,
			Settings: checkSettings{Interval: time.Second, Rise: 2, Fall: 2, SlowStart: 30 * time.Second}}},
		{"lbgate-3-i1000r2f2s", false, slotName{}},
		{"lbgate-3-s30000", false, slotName{}},
		{"lbgate-", false, slotName{}},
		{"lbgate-x", false, slotName{}},
		{"lbgate-1-i200", false, slotName{}},
		{"other", false, slotName{}},
		{"lbgate-probe", false, slotName{}},
	} {
		got, ok := parseSlotName("lbgate-", c.name)
		if ok != c.ok || got != c.want {
			t.Errorf("parseSlotName(%q) = %+v, %v; want %+v, %v", c.name, got, ok, c.want, c.ok)
		}
		if ok && got.format("lbgate-") != c.name {
			t.Errorf("format round trip: %q -> %q", c.name, got.format("lbgate-"))
		}
	}
}
