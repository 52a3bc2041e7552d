package providers

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Setting is one of the per-backend settings a group asks of a target: a
// field of its health check, or slow start. A set of settings is their bitwise or.
type Setting uint

// The settings, in the order messages list them.
const (
	// SettingCheckProtocol is HealthCheck.Protocol.
	SettingCheckProtocol Setting = 1 << iota
	// SettingCheckPath is HealthCheck.Path.
	SettingCheckPath
	// SettingCheckInterval is HealthCheck.Interval.
	SettingCheckInterval
	// SettingCheckTimeout is HealthCheck.Timeout.
	SettingCheckTimeout
	// SettingCheckHealthyThreshold is HealthCheck.HealthyThreshold.
	SettingCheckHealthyThreshold
	// SettingCheckUnhealthyThreshold is HealthCheck.UnhealthyThreshold.
	SettingCheckUnhealthyThreshold
	// SettingSlowStart is Settings.SlowStart.
	SettingSlowStart

	// AllSettings is every setting.
	AllSettings = SettingSlowStart<<1 - 1
)

var settingNames = map[Setting]string{
	SettingCheckProtocol:           "check protocol",
	SettingCheckPath:               "check path",
	SettingCheckInterval:           "check interval",
	SettingCheckTimeout:            "check timeout",
	SettingCheckHealthyThreshold:   "healthy threshold",
	SettingCheckUnhealthyThreshold: "unhealthy threshold",
	SettingSlowStart:               "slow start",
}

// Has reports whether the set s holds every setting of t.
func (s Setting) Has(t Setting) bool { return s&t == t }

// Each returns the single settings of the set s, in order.
func (s Setting) Each() []Setting {
	out := make([]Setting, 0, bits.OnesCount(uint(s)))
	for t := Setting(1); t <= SettingSlowStart; t <<= 1 {
		if s.Has(t) {
			out = append(out, t)
		}
	}
	return out
}

// String names the settings of the set, for logs and messages.
func (s Setting) String() string {
	names := make([]string, 0, bits.OnesCount(uint(s)))
	for _, t := range s.Each() {
		names = append(names, settingNames[t])
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// Settings are the per-backend settings of a group on a target: its health
// check and slow start. Zero fields are not set.
type Settings struct {
	HealthCheck HealthCheck
	// SlowStart ramps a backend's weight from low to full over this long
	// once it turns healthy; 0 is off.
	SlowStart time.Duration
}

// Asked returns the set of settings that s sets.
func (s Settings) Asked() Setting {
	var out Setting
	for _, t := range AllSettings.Each() {
		if s.value(t) != "" {
			out |= t
		}
	}
	return out
}

// value renders one setting for messages; "" when it is not set.
func (s Settings) value(t Setting) string {
	hc := s.HealthCheck
	dur := func(d time.Duration) string {
		if d <= 0 {
			return ""
		}
		return d.String()
	}
	num := func(n int) string {
		if n <= 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	switch t {
	case SettingCheckProtocol:
		return hc.Protocol
	case SettingCheckPath:
		return hc.Path
	case SettingCheckInterval:
		return dur(hc.Interval)
	case SettingCheckTimeout:
		return dur(hc.Timeout)
	case SettingCheckHealthyThreshold:
		return num(hc.HealthyThreshold)
	case SettingCheckUnhealthyThreshold:
		return num(hc.UnhealthyThreshold)
	case SettingSlowStart:
		return dur(s.SlowStart)
	}
	return ""
}

// Value renders one setting of s as messages show it ("2s", "3", "http"); "" when not set.
func (s Settings) Value(t Setting) string { return s.value(t) }

// with returns s with setting t taken from o.
func (s Settings) with(t Setting, o Settings) Settings {
	switch t {
	case SettingCheckProtocol:
		s.HealthCheck.Protocol = o.HealthCheck.Protocol
	case SettingCheckPath:
		s.HealthCheck.Path = o.HealthCheck.Path
	case SettingCheckInterval:
		s.HealthCheck.Interval = o.HealthCheck.Interval
	case SettingCheckTimeout:
		s.HealthCheck.Timeout = o.HealthCheck.Timeout
	case SettingCheckHealthyThreshold:
		s.HealthCheck.HealthyThreshold = o.HealthCheck.HealthyThreshold
	case SettingCheckUnhealthyThreshold:
		s.HealthCheck.UnhealthyThreshold = o.HealthCheck.UnhealthyThreshold
	case SettingSlowStart:
		s.SlowStart = o.SlowStart
	}
	return s
}

// Capabilities say what a target does with a group's per-backend settings.
// Each setting is either applied by the provider (Register gives the group's
// value to the backends it registers), or decided by the target's own
// configuration on the load balancer, which the provider may be able to
// read back (Reported) so that a group's value can be compared with it.
// A setting that is neither cannot be honoured: a group that asks for it
// is refused, never silently served with something else.
type Capabilities struct {
	// Applied are the settings Register applies.
	Applied Setting
	// Reported are settings the target's configuration decides and the
	// load balancer reports: InForce holds their values once it does.
	Reported Setting
	// InForce is what the target's backends get where the group sets
	// nothing: the provider's defaults for Applied settings, the target's
	// configuration for the others. Zero fields are not known.
	InForce Settings
	// Where says, per setting that is not Applied, where a user configures
	// it instead (for example the load balancer's configuration file).
	Where map[Setting]string
}

// Refusal is a setting a group asks for that a target does not honour.
type Refusal struct {
	Setting Setting
	// Want is the group's value, InForce the target's own one ("" when the
	// load balancer does not report it).
	Want, InForce string
	// Where says where to configure the setting instead.
	Where string
}

// Refusals returns the settings of want that the target does not honour,
// in Setting order: those not Applied, unless Reported with the same value
// in force. A Reported setting whose value the load balancer does not
// report yet is honoured until it does; the caller checks again then.
func (c Capabilities) Refusals(want Settings) []Refusal {
	var out []Refusal
	for _, t := range want.Asked().Each() {
		if c.Applied.Has(t) {
			continue
		}
		inForce := c.InForce.value(t)
		if c.Reported.Has(t) && (inForce == "" || inForce == want.value(t)) {
			continue
		}
		where := c.Where[t]
		if where == "" {
			where = fmt.Sprintf("the provider cannot apply the %s", settingNames[t])
		}
		out = append(out, Refusal{Setting: t, Want: want.value(t), InForce: inForce, Where: where})
	}
	return out
}

// Effective returns the settings in force for the backends of a group
// that asks want and is not refused: the group's value of the Applied
// settings it sets, and InForce for the rest (zero where not known).
func (c Capabilities) Effective(want Settings) Settings {
	out := c.InForce
	for _, t := range (want.Asked() & c.Applied).Each() {
		out = out.with(t, want)
	}
	return out
}
