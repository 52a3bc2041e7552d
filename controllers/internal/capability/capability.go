// Package capability checks a BackendGroup's per-backend settings (its
// health check and slow start) against what the provider says each of its
// targets takes (providers.Capabilities). The Service controller uses it
// before it changes a group's spec, the BackendGroup controller on every
// pass; both name the settings the way their users wrote them.
package capability

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/providers"
)

// Naming says how a refusal names a setting.
type Naming int

const (
	// Annotations names the Service annotation, for groups a Service owns.
	Annotations Naming = iota
	// Fields names the BackendGroup's spec field, for groups made by hand.
	Fields
)

// Refusal is one setting of a group that one of its targets does not honour.
type Refusal struct {
	providers.Refusal
	// Target is the target's id.
	Target string
	// Name is the annotation or spec field, Value the group's value as it
	// is written there.
	Name, Value string
}

// Settings returns the per-backend settings the spec asks for.
func Settings(spec v1alpha1.BackendGroupSpec) providers.Settings {
	var s providers.Settings
	if hc := spec.HealthCheck; hc != nil {
		sec := func(p *int32) int {
			if p == nil {
				return 0
			}
			return int(*p)
		}
		s.HealthCheck = providers.HealthCheck{
			Protocol:           string(hc.Protocol),
			Path:               hc.Path,
			Interval:           time.Duration(sec(hc.IntervalSeconds)) * time.Second,
			Timeout:            time.Duration(sec(hc.TimeoutSeconds)) * time.Second,
			HealthyThreshold:   sec(hc.HealthyThreshold),
			UnhealthyThreshold: sec(hc.UnhealthyThreshold),
		}
	}
	if spec.SlowStart != nil {
		s.SlowStart = spec.SlowStart.Duration
	}
	return s
}

// Target returns the provider target id with the spec's settings for the
// backends registered on it.
func Target(id string, spec v1alpha1.BackendGroupSpec) providers.Target {
	s := Settings(spec)
	t := providers.Target{ID: id, SlowStart: s.SlowStart}
	if spec.HealthCheck != nil {
		t.HealthCheck = &s.HealthCheck
	}
	return t
}

// Check returns, target by target in the order given, the settings of spec
// that the target does not honour (providers.Capabilities.Refusals). A
// target missing from caps (its limits could not be read) is skipped.
// The check protocol and path are one annotation: they make one refusal.
func Check(spec v1alpha1.BackendGroupSpec, targets []string, caps map[string]providers.Capabilities, naming Naming) []Refusal {
	want := Settings(spec)
	var out []Refusal
	for _, t := range targets {
		c, ok := caps[t]
		if !ok {
			continue
		}
		for _, r := range c.Refusals(want) {
			name, value := nameOf(r.Setting, want, naming)
			if naming == Annotations && slices.ContainsFunc(out, func(o Refusal) bool { return o.Target == t && o.Name == name }) {
				continue
			}
			out = append(out, Refusal{Refusal: r, Target: t, Name: name, Value: value})
		}
	}
	return out
}

// nameOf names a setting and renders the group's value the way the
// annotation or the spec field holds it.
func nameOf(s providers.Setting, want providers.Settings, naming Naming) (name, value string) {
	hc := want.HealthCheck
	seconds := func(d time.Duration) string {
		if naming == Annotations {
			return d.String()
		}
		return strconv.Itoa(int(d / time.Second))
	}
	switch s {
	case providers.SettingCheckProtocol, providers.SettingCheckPath:
		if naming == Annotations {
			value = hc.Protocol
			if hc.Path != "" {
				value += ":" + hc.Path
			}
			return v1alpha1.AnnotationHealthCheck, value
		}
		if s == providers.SettingCheckPath {
			return "spec.healthCheck.path", hc.Path
		}
		return "spec.healthCheck.protocol", hc.Protocol
	case providers.SettingCheckInterval:
		return pick(naming, v1alpha1.AnnotationHealthCheckInterval, "spec.healthCheck.intervalSeconds"), seconds(hc.Interval)
	case providers.SettingCheckTimeout:
		return pick(naming, v1alpha1.AnnotationHealthCheckTimeout, "spec.healthCheck.timeoutSeconds"), seconds(hc.Timeout)
	case providers.SettingCheckHealthyThreshold:
		return pick(naming, v1alpha1.AnnotationHealthCheckHealthyThreshold, "spec.healthCheck.healthyThreshold"), strconv.Itoa(hc.HealthyThreshold)
	case providers.SettingCheckUnhealthyThreshold:
		return pick(naming, v1alpha1.AnnotationHealthCheckUnhealthyThreshold, "spec.healthCheck.unhealthyThreshold"), strconv.Itoa(hc.UnhealthyThreshold)
	case providers.SettingSlowStart:
		return pick(naming, v1alpha1.AnnotationSlowStart, "spec.slowStart"), want.SlowStart.String()
	}
	return s.String(), want.Value(s)
}

func pick(naming Naming, annotation, field string) string {
	if naming == Annotations {
		return annotation
	}
	return field
}

// Message renders refusals for a condition or an event, one clause each:
// what was asked, what the target has when the load balancer says, and
// where to configure it instead.
func Message(provider string, refusals []Refusal) string {
	parts := make([]string, 0, len(refusals))
	for _, r := range refusals {
		if r.InForce != "" {
			parts = append(parts, fmt.Sprintf("%s %q: target %s has %s, and the %s provider cannot set it: %s",
				r.Name, r.Value, r.Target, r.InForce, provider, r.Where))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %q: the %s provider cannot apply it on target %s: %s",
			r.Name, r.Value, provider, r.Target, r.Where))
	}
	return strings.Join(parts, "; ")
}

// Effective returns the health check in force for the group's backends, as
// its status shows it: per field, the value every target agrees on
// (providers.Capabilities.Effective), left out where a target does not know
// it, where targets differ, or where the API cannot hold it (an interval
// that is not whole seconds, say); nil when nothing is known. ok is false
// when a target is missing from caps: then nothing is said.
func Effective(spec v1alpha1.BackendGroupSpec, targets []string, caps map[string]providers.Capabilities) (hc *v1alpha1.HealthCheck, ok bool) {
	all, ok := inForce(Settings(spec), targets, caps)
	if !ok {
		return nil, false
	}
	if len(all) == 0 {
		return nil, true
	}
	out := v1alpha1.HealthCheck{
		Protocol:           agreedProtocol(all),
		Path:               agreedPath(all),
		IntervalSeconds:    agreedSeconds(all, func(h providers.HealthCheck) time.Duration { return h.Interval }, 1, 300),
		TimeoutSeconds:     agreedSeconds(all, func(h providers.HealthCheck) time.Duration { return h.Timeout }, 1, 60),
		HealthyThreshold:   agreedCount(all, func(h providers.HealthCheck) int { return h.HealthyThreshold }),
		UnhealthyThreshold: agreedCount(all, func(h providers.HealthCheck) int { return h.UnhealthyThreshold }),
	}
	if out == (v1alpha1.HealthCheck{}) {
		return nil, true
	}
	return &out, true
}

// inForce is the health check each target has for the settings want, in
// the order of targets; ok is false when a target is missing from caps.
func inForce(want providers.Settings, targets []string, caps map[string]providers.Capabilities) (all []providers.HealthCheck, ok bool) {
	for _, t := range targets {
		c, read := caps[t]
		if !read {
			return nil, false
		}
		all = append(all, c.Effective(want).HealthCheck)
	}
	return all, true
}

// agreedProtocol is the protocol every target has, when the API can hold
// it (http or tcp); else empty.
func agreedProtocol(all []providers.HealthCheck) v1alpha1.HealthCheckProtocol {
	p, ok := agreed(all, func(h providers.HealthCheck) string { return h.Protocol })
	if !ok || (p != string(v1alpha1.HealthCheckHTTP) && p != string(v1alpha1.HealthCheckTCP)) {
		return ""
	}
	return v1alpha1.HealthCheckProtocol(p)
}

// agreedPath is the HTTP path every target has, else empty.
func agreedPath(all []providers.HealthCheck) string {
	p, ok := agreed(all, func(h providers.HealthCheck) string { return h.Path })
	if !ok {
		return ""
	}
	return p
}

// agreedSeconds is the duration f every target has, in seconds, when it
// is whole seconds within lo..hi; else nil.
func agreedSeconds(all []providers.HealthCheck, f func(providers.HealthCheck) time.Duration, lo, hi int64) *int32 {
	d, ok := agreed(all, f)
	if !ok || d%time.Second != 0 {
		return nil
	}
	return within(int64(d/time.Second), lo, hi)
}

// agreedCount is the count f every target has, when it is within 1..10
// (the API's bounds for thresholds); else nil.
func agreedCount(all []providers.HealthCheck, f func(providers.HealthCheck) int) *int32 {
	n, ok := agreed(all, f)
	if !ok {
		return nil
	}
	return within(int64(n), 1, 10)
}

// agreed returns the value of f every target has; ok is false when the
// targets differ or the value is the zero value (not known).
func agreed[T comparable](all []providers.HealthCheck, f func(providers.HealthCheck) T) (v T, ok bool) {
	var zero T
	v = f(all[0])
	for _, hc := range all[1:] {
		if f(hc) != v {
			return zero, false
		}
	}
	return v, v != zero
}

// within returns n as an *int32 when lo <= n <= hi (the API's bounds), else nil.
func within(n, lo, hi int64) *int32 {
	if n < lo || n > hi {
		return nil
	}
	v := int32(n)
	return &v
}
