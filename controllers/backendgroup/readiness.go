package backendgroup

// The readiness timeout (lbgate.dev/readiness-timeout): a group that asks
// for it prefers a rollout that finishes over one that waits for a load
// balancer that never approves. It releases, fail open, only pods that are
// registered and wait on the load balancer's verdict: a pod that is not
// registered takes no traffic, and releasing it would make a Ready pod that
// serves nothing.

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

// withReadinessTimeout turns a False verdict into the release of the gate
// once the pod's backends were registered timeout ago (the latest of its
// registrations counts) and the load balancer still does not report it
// healthy. It returns the verdict to write and, while the timeout runs,
// when it is due (zero when it does not apply). A timeout <= 0 is off.
func withReadinessTimeout(v GateVerdict, pp PodPlan, records map[TargetBackend]v1alpha1.BackendRecord, timeout time.Duration, now time.Time) (GateVerdict, time.Time) {
	if timeout <= 0 || v.Status == corev1.ConditionTrue ||
		(v.Reason != v1alpha1.GateReasonHealthCheckPending && v.Reason != v1alpha1.GateReasonUnhealthy) {
		return v, time.Time{}
	}
	var registered time.Time
	for _, tb := range pp.Backends {
		rec, ok := records[tb]
		if !ok || rec.RegisteredAt == nil || !ownedBy(records, tb, pp.Pod) {
			return v, time.Time{} // not registered for this pod: no traffic, nothing to release
		}
		if rec.RegisteredAt.After(registered) {
			registered = rec.RegisteredAt.Time
		}
	}
	if registered.IsZero() {
		return v, time.Time{}
	}
	due := registered.Add(timeout)
	if now.Before(due) {
		return v, due
	}
	return GateVerdict{
		Status: corev1.ConditionTrue,
		Reason: v1alpha1.GateReasonReadinessTimeout,
		Message: fmt.Sprintf("released after the readiness timeout of %s without the load balancer's approval; its last verdict: %s: %s",
			timeout, v.Reason, v.Message),
	}, time.Time{}
}

// timedOut says whether a pod's gate stands released by the readiness
// timeout: written now, or before and the load balancer has not approved
// the pod since.
func timedOut(cur *corev1.PodCondition, v GateVerdict) bool {
	if v.Reason == v1alpha1.GateReasonReadinessTimeout {
		return true
	}
	return isTrue(cur) && cur.Reason == v1alpha1.GateReasonReadinessTimeout && v.Status != corev1.ConditionTrue
}

func isTrue(c *corev1.PodCondition) bool { return c != nil && c.Status == corev1.ConditionTrue }

func isUnhealthy(c *corev1.PodCondition) bool {
	return c != nil && c.Status == corev1.ConditionFalse && c.Reason == v1alpha1.GateReasonUnhealthy
}
