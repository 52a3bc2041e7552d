package haproxy

import (
	"fmt"

	"github.com/lbgate/lbgate/providers"
)

// capabilities say which of a group's per-backend settings the slots of
// the backend in v take (providers.Capabilities).
//
// HAProxy runs one health check per backend: its kind and path (`option
// httpchk GET /path`, or a plain TCP check without it) and `timeout check`
// are set in haproxy.cfg, and the Runtime API reports none of them (no
// column of `show servers state` or `show stat`, nothing in `show
// backend`). So the protocol, path and timeout are never honoured per
// group: a group that sets them is refused, with where to set them.
//
// The check interval, rise, fall and slowstart are per server, and HAProxy
// takes them only at `add server` (`set server` changes none of them):
//   - on a backend without declared slots, every slot is added by the
//     provider with the group's values (Applied); such a backend has a
//     dynamic balance algorithm (it could not hold a slot otherwise), so
//     slowstart ramps the weight;
//   - on a backend with declared slots (server-template), those are used
//     first and keep haproxy.cfg's values. `show stat` reports rise and fall
//     (check_rise, check_fall) of a slot whose checks run, so they are
//     Reported once a declared slot holds a pod and compared with the
//     group's; the interval and slowstart are reported nowhere.
func (p *Provider) capabilities(v *view) providers.Capabilities {
	b := v.backend
	check := fmt.Sprintf("HAProxy runs one check per backend, set in haproxy.cfg: `option httpchk GET <path>` in backend %s for http, no `option httpchk` for tcp (its Runtime API does not report it)", b)
	c := providers.Capabilities{Where: map[providers.Setting]string{
		providers.SettingCheckProtocol: check,
		providers.SettingCheckPath:     check,
		providers.SettingCheckTimeout:  fmt.Sprintf("HAProxy sets the check timeout per backend: `timeout check` in backend %s of haproxy.cfg (its Runtime API does not report it)", b),
	}}
	if !v.hasDeclared() {
		c.Applied = providers.SettingCheckInterval | providers.SettingCheckHealthyThreshold | providers.SettingCheckUnhealthyThreshold |
			providers.SettingSlowStart
		s := p.settings(providers.Target{})
		c.InForce.HealthCheck = providers.HealthCheck{Interval: s.Interval, HealthyThreshold: s.Rise, UnhealthyThreshold: s.Fall}
		return c
	}
	declared := fmt.Sprintf("the %s slots of backend %s are declared in haproxy.cfg and keep its settings:", v.prefix, b)
	c.Reported = providers.SettingCheckHealthyThreshold | providers.SettingCheckUnhealthyThreshold
	c.Where[providers.SettingCheckInterval] = declared + " set `inter` on the server-template line or default-server (HAProxy does not report it)"
	c.Where[providers.SettingCheckHealthyThreshold] = declared + " set `rise` on the server-template line or default-server"
	c.Where[providers.SettingCheckUnhealthyThreshold] = declared + " set `fall` on the server-template line or default-server"
	c.Where[providers.SettingSlowStart] = declared + " set `slowstart` on the server-template line or default-server (HAProxy does not report it)"
	if !v.canGrow {
		c.Where[providers.SettingSlowStart] = fmt.Sprintf("backend %s has a static balance algorithm (%s), whose weights HAProxy never ramps: use a dynamic one (roundrobin, leastconn) with `slowstart` on the server-template line", b, v.algo)
	}
	if rise, fall, ok := v.declaredThresholds(); ok {
		c.InForce.HealthCheck.HealthyThreshold, c.InForce.HealthCheck.UnhealthyThreshold = rise, fall
	}
	return c
}

// hasDeclared reports whether the backend has slots declared in the
// configuration (names without settings), which Register fills first.
func (v *view) hasDeclared() bool {
	for _, s := range v.slots {
		if !s.name.HasSettings && s.Check.Configured() {
			return true
		}
	}
	return false
}

// declaredThresholds returns the rise and fall of the first declared slot
// whose checks run: `show stat` leaves check_rise and check_fall empty for
// a server in maintenance or with checks off.
func (v *view) declaredThresholds() (rise, fall int, ok bool) {
	for _, s := range v.slots {
		if !s.name.HasSettings && s.Stat.CheckRise > 0 && s.Stat.CheckFall > 0 {
			return s.Stat.CheckRise, s.Stat.CheckFall, true
		}
	}
	return 0, 0, false
}
