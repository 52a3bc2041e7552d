package backendgroup

// How soon a group looks again at pods that wait for the load balancer.
// Polling fast is right while a check is due; it is wasted on pods the load
// balancer has kept unhealthy or undecided for much longer than a check
// takes, so the poll backs off for those.

import (
	"time"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

// Defaults of the check window when neither the status nor the spec says
// (lbgate's own check settings).
const (
	defaultCheckInterval    = 2 * time.Second
	defaultHealthyThreshold = 2
	// pendingPollLimit caps the poll of pods that keep waiting.
	pendingPollLimit = 5 * time.Second
)

// pendingPoll is how soon to look again at pods that wait for the load
// balancer, the latest of them registered age ago: every base while its
// check is due (age under window), then doubling with each further window,
// up to limit (never under base).
func pendingPoll(age, window, base, limit time.Duration) time.Duration {
	if age < window || window <= 0 {
		return base
	}
	d := base
	for n := age / window; n > 0 && d < limit; n-- {
		d *= 2
	}
	return max(base, min(d, limit))
}

// checkWindow is how long a newly registered backend's check takes at
// most: the check interval times one more than the healthy threshold, from
// the settings in force (status), else the spec's, else lbgate's defaults.
func checkWindow(bg *v1alpha1.BackendGroup) time.Duration {
	interval, rise := defaultCheckInterval, int32(defaultHealthyThreshold)
	for _, hc := range []*v1alpha1.HealthCheck{bg.Spec.HealthCheck, bg.Status.HealthCheck} {
		if hc == nil {
			continue
		}
		if hc.IntervalSeconds != nil && *hc.IntervalSeconds > 0 {
			interval = time.Duration(*hc.IntervalSeconds) * time.Second
		}
		if hc.HealthyThreshold != nil && *hc.HealthyThreshold > 0 {
			rise = *hc.HealthyThreshold
		}
	}
	return interval * time.Duration(rise+1)
}
