package haproxy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

// TestCapabilitiesOfABackendWithoutDeclaredSlots: the provider adds every
// slot, so it applies the check interval, rise, fall and slowstart, and
// reports its own defaults as in force; the check protocol, path and
// timeout are haproxy.cfg's, which the Runtime API does not report, so a
// group that sets them is refused with where to set them.
func TestCapabilitiesOfABackendWithoutDeclaredSlots(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{})
	l, err := e.p.Limits(e.ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	c := l.Capabilities
	perServer := providers.SettingCheckInterval | providers.SettingCheckHealthyThreshold | providers.SettingCheckUnhealthyThreshold | providers.SettingSlowStart
	if c.Applied != perServer || c.Reported != 0 {
		t.Errorf("Applied %v, Reported %v; want %v and none", c.Applied, c.Reported, perServer)
	}
	if want := (providers.HealthCheck{Interval: 2 * time.Second, HealthyThreshold: 2, UnhealthyThreshold: 3}); c.InForce.HealthCheck != want {
		t.Errorf("InForce %+v, want HAProxy's defaults %+v", c.InForce.HealthCheck, want)
	}
	refused := c.Refusals(providers.Settings{
		HealthCheck: providers.HealthCheck{Protocol: "http", Path: "/healthz", Timeout: 3 * time.Second, Interval: 5 * time.Second, HealthyThreshold: 3},
		SlowStart:   time.Minute,
	})
	var got []providers.Setting
	for _, r := range refused {
		got = append(got, r.Setting)
		if !strings.Contains(r.Where, "backend web") || !strings.Contains(r.Where, "haproxy.cfg") {
			t.Errorf("%v: where %q, want the backend and haproxy.cfg named", r.Setting, r.Where)
		}
	}
	if want := []providers.Setting{providers.SettingCheckProtocol, providers.SettingCheckPath, providers.SettingCheckTimeout}; !equalSettings(got, want) {
		t.Errorf("refused %v, want %v", got, want)
	}
	if !strings.Contains(refused[0].Where, "option httpchk") || !strings.Contains(refused[2].Where, "timeout check") {
		t.Errorf("where: %q / %q, want `option httpchk` and `timeout check`", refused[0].Where, refused[2].Where)
	}
}

// TestCapabilitiesOfDeclaredSlots: declared slots keep haproxy.cfg's check
// settings and slowstart. HAProxy reports rise and fall of a declared slot
// whose checks run (show stat check_rise, check_fall; nothing while every
// slot is in maintenance), so a group's thresholds are compared with them
// once a slot holds a pod; the interval and slowstart it reports nowhere,
// so those are refused. A static backend cannot ramp weights at all.
func TestCapabilitiesOfDeclaredSlots(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{Backends: []string{"web"}, DeclaredSlots: map[string]int{"web": 2},
		StaticBackends: map[string]int{"fixed": 2}, Rise: 3, Fall: 4})
	caps := func(target string) providers.Capabilities {
		t.Helper()
		l, err := e.p.Limits(e.ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		return l.Capabilities
	}
	c := caps("web")
	thresholds := providers.SettingCheckHealthyThreshold | providers.SettingCheckUnhealthyThreshold
	if c.Applied != 0 || c.Reported != thresholds {
		t.Errorf("Applied %v, Reported %v; want none and %v", c.Applied, c.Reported, thresholds)
	}
	if c.InForce != (providers.Settings{}) {
		t.Errorf("InForce %+v before any declared slot runs checks, want nothing known", c.InForce)
	}
	for _, want := range []providers.Settings{
		{HealthCheck: providers.HealthCheck{Interval: time.Second}},
		{SlowStart: time.Minute},
	} {
		r := c.Refusals(want)
		if len(r) != 1 || !strings.Contains(r[0].Where, "server-template") {
			t.Errorf("Refusals(%+v) = %+v, want one naming the server-template line", want, r)
		}
	}

	a := e.server("a")
	e.register(w10(a))
	if slot, _ := e.slotOf("web", a.Addr); strings.Contains(slot.Name, "-i") {
		t.Fatalf("a holds %q, want a declared slot", slot.Name)
	}
	c = caps("web")
	if got := c.InForce.HealthCheck; got.HealthyThreshold != 3 || got.UnhealthyThreshold != 4 || got.Interval != 0 {
		t.Errorf("InForce %+v once a declared slot runs checks, want rise 3 fall 4 from haproxy.cfg and no interval", got)
	}
	if r := c.Refusals(providers.Settings{HealthCheck: providers.HealthCheck{HealthyThreshold: 3, UnhealthyThreshold: 4}}); len(r) != 0 {
		t.Errorf("thresholds equal to haproxy.cfg's refused: %+v", r)
	}
	r := c.Refusals(providers.Settings{HealthCheck: providers.HealthCheck{HealthyThreshold: 2}})
	if len(r) != 1 || r[0].InForce != "3" || r[0].Want != "2" || !strings.Contains(r[0].Where, "`rise`") {
		t.Errorf("rise 2 against haproxy.cfg's 3: %+v, want one refusal naming 3 and `rise`", r)
	}

	r = caps("fixed").Refusals(providers.Settings{SlowStart: time.Minute})
	if len(r) != 1 || !strings.Contains(r[0].Where, "static-rr") {
		t.Errorf("slow start on a static-rr backend: %+v, want a refusal naming the algorithm", r)
	}
}

func equalSettings(a, b []providers.Setting) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
