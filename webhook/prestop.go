package webhook

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// addPreStopSleeps gives every container without a preStop hook a native
// sleep of delay, capped at the grace period minus margin.
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
