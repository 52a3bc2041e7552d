package haproxy

import (
	"github.com/lbgate/lbgate/providers"
)

// health maps HAProxy's view of a registered slot to the provider's health.
// A slot is Healthy only when HAProxy says it is up after a completed,
// passing check: never while the check status is still INI.
func (s slot) health() providers.Health {
	switch s.phase() {
	case phaseFree:
		return providers.HealthUnused
	case phaseDraining:
		return providers.HealthDraining
	case phaseRegistering:
		switch {
		case s.passed():
			// List moves it to ready before it reports it.
			return providers.HealthHealthy
		case !s.CheckStatus.Ran() || s.CheckStatus.Passed():
			// No check yet, or passing but fewer than rise in a row.
			return providers.HealthInitial
		}
		return providers.HealthUnhealthy
	}
	// Active (ready).
	switch {
	case !s.Check.Enabled():
		// Someone turned checks off: HAProxy no longer vouches for it.
		return providers.HealthUnused
	case s.Op == OpStopping:
		return providers.HealthDraining
	case !s.CheckStatus.Ran():
		return providers.HealthInitial
	case s.Op.Up():
		return providers.HealthHealthy
	}
	return providers.HealthUnhealthy
}

// reason is HAProxy's own words for the slot's state, e.g. "L7STS/500 (DOWN)".
func (s slot) reason() string {
	status := s.Stat.Status
	switch {
	case s.phase() == phaseRegistering && s.passed():
		status = "UP" // what it is once List has set it ready
	case status == "":
		status = s.Op.String()
	}
	check := s.Stat.Check()
	if check == "" && s.Check.Enabled() && !s.CheckStatus.Ran() {
		check = "INI"
	}
	if s.phase() == phaseActive && !s.Check.Enabled() {
		return "health check disabled (" + status + ")"
	}
	if check == "" {
		return status
	}
	return check + " (" + status + ")"
}
