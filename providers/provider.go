// Package providers defines the one interface lbgate drives a load balancer
// through. A provider registers and deregisters backends (pod IP and port) on
// a target (a load-balancer id such as an HAProxy backend name), drains them,
// and lists them with the load balancer's own view of their health.
//
// Rules every implementation follows:
//   - every call takes a context and is idempotent: registering a backend that
//     is there already only updates its weight, deregistering one that is gone
//     is a no-op;
//   - a batch is never larger than Limits.MaxBatch (the caller splits), and a
//     call that would exceed Limits.MaxBackends fails with a QuotaError;
//   - a provider says in Limits.Capabilities which per-backend settings
//     (health check, slow start) it applies on a target; it never takes a
//     setting it cannot apply and silently does something else;
//   - failures are typed (see errors.go) so the controller can tell "fix your
//     configuration" from "try again";
//   - a provider never talks to Kubernetes and keeps no state it cannot read
//     back from the load balancer, so an operator restart loses nothing.
package providers

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// Provider drives one kind of load balancer.
type Provider interface {
	// Name is the provider's short name, used in logs, events and metrics.
	Name() string

	// Limits reports what the load balancer accepts for a target.
	Limits(ctx context.Context, target string) (Limits, error)

	// Register adds backends to a target, or updates their weight when they are
	// there already. A new backend must pass the load balancer's health check
	// before it takes traffic.
	Register(ctx context.Context, target Target, backends []Backend) error

	// Drain stops new traffic to backends while they stay registered.
	Drain(ctx context.Context, target string, addrs []netip.AddrPort) error

	// Deregister removes backends from a target.
	Deregister(ctx context.Context, target string, addrs []netip.AddrPort) error

	// List returns every backend registered on a target with its health.
	List(ctx context.Context, target string) ([]BackendStatus, error)
}

// Target is a load-balancer target with the settings its backends get.
type Target struct {
	// ID is the provider's id of the target.
	ID string
	// Mode is how the backends' addresses reach the load balancer (the
	// group's network mode); empty is ModeENI.
	Mode NetworkMode
	// HealthCheck is the check for new backends; nil keeps the provider's default.
	HealthCheck *HealthCheck
	// SlowStart, when above zero, ramps each new backend's weight from low
	// to full over this long once the load balancer finds it healthy.
	SlowStart time.Duration
}

// NetworkMode says how pod IPs reach the load balancer; the values are
// those of the BackendGroup API's networkMode.
type NetworkMode string

const (
	// ModeENI means pod IPs are VPC addresses (elastic network interfaces).
	ModeENI NetworkMode = "eni"
	// ModeGlobalRouter means pod IPs come from the cluster's container range,
	// routed through the nodes; the load balancer reaches them only where
	// that range is routed to its network.
	ModeGlobalRouter NetworkMode = "global-router"
)

// HealthCheck is a provider-neutral health check; zero fields keep the provider's defaults.
type HealthCheck struct {
	// Protocol is "http" or "tcp"; empty keeps the provider's default.
	Protocol string
	// Path is the HTTP path for the http protocol.
	Path string
	// Interval is the time between checks.
	Interval time.Duration
	// Timeout is how long one check may take.
	Timeout time.Duration
	// HealthyThreshold is the passed checks in a row that make a backend healthy.
	HealthyThreshold int
	// UnhealthyThreshold is the failed checks in a row that make a backend unhealthy.
	UnhealthyThreshold int
}

// Backend is one pod address behind a target.
type Backend struct {
	// Addr is the pod IP and port.
	Addr netip.AddrPort
	// Weight is the share of traffic, 0 to 100.
	Weight int32
	// Recheck asks Register for a fresh health check: the address now
	// belongs to another pod than the one the load balancer checked. A
	// backend that is registered already is taken out of traffic and marked
	// down, and takes traffic again only after it passes the load
	// balancer's check anew (as a new backend would). Without Recheck,
	// Register on a registered backend only updates its weight.
	Recheck bool
}

// Health is the load balancer's view of a backend.
type Health string

const (
	// HealthInitial means the backend is registered and no health check has decided yet.
	HealthInitial Health = "Initial"
	// HealthHealthy means the load balancer's check passed and the backend takes traffic.
	HealthHealthy Health = "Healthy"
	// HealthUnhealthy means the load balancer's check failed.
	HealthUnhealthy Health = "Unhealthy"
	// HealthDraining means the backend takes no new traffic and is on its way out.
	HealthDraining Health = "Draining"
	// HealthUnused means the backend is registered but disabled (for example in maintenance).
	HealthUnused Health = "Unused"
)

// BackendStatus is a registered backend as the load balancer reports it.
type BackendStatus struct {
	Backend
	// Health is the load balancer's state of the backend.
	Health Health
	// Reason is the load balancer's own words for the state, such as "L7STS/500".
	Reason string
	// Sessions is the number of sessions (connections, or requests in
	// flight) the backend holds now, when SessionsKnown: a draining backend
	// with none can go before its deregistration delay is over.
	Sessions      int
	SessionsKnown bool
}

// Limits is what a load balancer accepts for one target.
type Limits struct {
	// MaxBackends is the most backends the target holds; 0 means no limit.
	MaxBackends int
	// MaxBatch is the most backends one Register, Drain or Deregister call takes.
	MaxBatch int
	// StaticWeight says the target takes weight 0 (no traffic) or its own
	// configured weight, nothing in between: any other weight is applied as
	// the configured one, and List reports the configured one.
	StaticWeight bool
	// Capabilities say which of a group's per-backend settings (health
	// check, slow start) Register applies on the target, and what the
	// target's own configuration sets for the others. A caller refuses a
	// group that asks for a setting the target does not honour
	// (Capabilities.Refusals) rather than register it without.
	Capabilities Capabilities
}

// String renders a backend for logs.
func (b Backend) String() string { return fmt.Sprintf("%s(w=%d)", b.Addr, b.Weight) }
