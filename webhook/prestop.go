package webhook

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

// decidePreStop is the preStop delay of a pod that groups select (the
// matching groups only), and where it comes from:
//
//   - a Service that sets a positive lbgate.dev/prestop-delay wins, and of
//     several the longest one (PreStopFromService);
//   - else a Service that sets "0" turns the sleep off (PreStopOff), even
//     when another matching Service sets nothing: an explicit value, made
//     by someone who knows the app, wins over the default;
//   - else, when no matching Service sets one, v1alpha1.DefaultPreStopDelay
//     (PreStopDefault).
//
// That is the longest delay with "not set" ranked below 0. Without groups
// there is no delay and no source.
func decidePreStop(groups []Group) (time.Duration, PreStopSource) {
	if len(groups) == 0 {
		return 0, ""
	}
	var explicit *time.Duration
	for _, g := range groups {
		explicit = longerPreStop(explicit, g.PreStopDelay)
	}
	switch {
	case explicit == nil:
		return v1alpha1.DefaultPreStopDelay, PreStopDefault
	case *explicit <= 0:
		return 0, PreStopOff
	}
	return *explicit, PreStopFromService
}

// longerPreStop is the one of two prestop-delay settings that wins: the
// longer, with nil (not set) below any value, 0 included.
func longerPreStop(a, b *time.Duration) *time.Duration {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case *b > *a:
		return b
	}
	return a
}

// addPreStopSleeps gives every container without a preStop hook a native
// sleep of delay, capped at the grace period minus margin. A delay of 0
// adds nothing and reports nothing.
func addPreStopSleeps(pod *corev1.Pod, delay, margin time.Duration, res *Result) {
	if delay <= 0 {
		return
	}
	requested := ceilSeconds(delay)
	limit := gracePeriodSeconds(pod) - ceilSeconds(margin)
	seconds := min(requested, limit)
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		switch {
		case c.Lifecycle != nil && c.Lifecycle.PreStop != nil:
			res.PreStopSkipped = append(res.PreStopSkipped, PreStopSkipped{Container: c.Name, Reason: PreStopHookPresent})
		case seconds < 1:
			res.PreStopSkipped = append(res.PreStopSkipped, PreStopSkipped{Container: c.Name, Reason: PreStopGraceTooShort})
		default:
			if c.Lifecycle == nil {
				c.Lifecycle = &corev1.Lifecycle{}
			}
			c.Lifecycle.PreStop = &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: seconds}}
			res.PreStopAdded = append(res.PreStopAdded, PreStopAdded{Container: c.Name, Seconds: seconds, Requested: requested})
		}
	}
}

// gracePeriodSeconds is the pod's terminationGracePeriodSeconds, 30 when unset.
func gracePeriodSeconds(pod *corev1.Pod) int64 {
	if p := pod.Spec.TerminationGracePeriodSeconds; p != nil {
		return *p
	}
	return corev1.DefaultTerminationGracePeriodSeconds
}

// ceilSeconds rounds d up to whole seconds: a drain is never cut short.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}
