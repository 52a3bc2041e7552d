package providers

import "context"

// StateLossWatcher is implemented by a provider whose load balancer can
// forget what was registered on it: HAProxy forgets the servers added at
// run time when it restarts or reloads. The caller re-registers the
// backends of the targets it is told about; it does not wait for its next
// resync.
type StateLossWatcher interface {
	// WatchStateLoss runs until ctx ends. Each time the load balancer may have
	// lost registrations, it calls lost with the targets concerned (the
	// load balancer's whole list of targets when it cannot tell). Watching is
	// cheap and provider-wide, not per target; lost must not block for long.
	WatchStateLoss(ctx context.Context, lost func(targets []string))
}

// Wrapper is a provider that adds something around another one (metrics,
// for example); Unwrap returns the inner provider.
type Wrapper interface {
	Unwrap() Provider
}

// find returns the T that p is, or that a provider p wraps is (through
// Wrapper, outermost first), or false when there is none.
func find[T any](p Provider) (T, bool) {
	for p != nil {
		if t, ok := p.(T); ok {
			return t, true
		}
		u, ok := p.(Wrapper)
		if !ok {
			break
		}
		p = u.Unwrap()
	}
	var none T
	return none, false
}

// StateLossWatcherOf returns the StateLossWatcher of p or of a provider p
// wraps, or false when there is none.
func StateLossWatcherOf(p Provider) (StateLossWatcher, bool) { return find[StateLossWatcher](p) }
