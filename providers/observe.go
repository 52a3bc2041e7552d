package providers

import "context"

// Observer is implemented by a provider that reads several targets, each
// with its limits and its backends, in one call to the load balancer (the
// HAProxy provider: one Runtime API round trip for all of them). A caller
// that polls uses it instead of Limits and List per target.
type Observer interface {
	// Observe returns, for each of targets, what Limits and List would
	// return (List's side effects included). An error that concerns one
	// target only (such as *NotFoundError) is in its Observation; the
	// error returned is for the call as a whole (the load balancer cannot
	// be reached).
	Observe(ctx context.Context, targets []string) (map[string]Observation, error)
}

// Observation is one target as Observe read it.
type Observation struct {
	Limits   Limits
	Backends []BackendStatus
	// Err is why the target could not be read; Limits and Backends are
	// zero then.
	Err error
}

// ObserverOf returns the Observer of p or of a provider p wraps, or false
// when there is none.
func ObserverOf(p Provider) (Observer, bool) { return find[Observer](p) }
