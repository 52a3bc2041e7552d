package webhook

import (
	"time"
)

// DefaultPreStopMargin is the time left between the end of an added preStop
// sleep and the end of the pod's termination grace period, for the
// application's own shutdown.
const DefaultPreStopMargin = 5 * time.Second

// Options tune Mutate.
type Options struct {
	// OperatorPodSelector identifies the operator's own pods, which are never
	// mutated: a pod carrying all these labels is skipped. Empty matches no pod.
	OperatorPodSelector map[string]string

	// PreStopMargin is subtracted from the pod's termination grace period
	// (30s when unset) to cap an added preStop sleep; it is rounded up to
	// whole seconds, and zero means DefaultPreStopMargin.
	PreStopMargin time.Duration
}

func (o Options) preStopMargin() time.Duration {
	if o.PreStopMargin <= 0 {
		return DefaultPreStopMargin
	}
	return o.PreStopMargin
}
