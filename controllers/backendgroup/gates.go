package backendgroup

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/providers"
)

// GateVerdict is the gate condition a pod should carry.
type GateVerdict struct {
	Status  corev1.ConditionStatus
	Reason  string
	Message string
}

// Verdict computes a pod's gate from its plan and the load balancer's view
// (lb holds what the provider listed plus what this reconcile registered).
// A backend is evidence only for the pod records name as its owner: an
// address the load balancer checked for another pod counts as not
// registered for this one. ok is false when the gate is left as it is
// (leaving pods).
func Verdict(pp PodPlan, lb map[TargetBackend]providers.BackendStatus, records map[TargetBackend]v1alpha1.BackendRecord) (v GateVerdict, ok bool) {
	notYet := func(reason, msg string) (GateVerdict, bool) {
		return GateVerdict{Status: corev1.ConditionFalse, Reason: reason, Message: msg}, true
	}
	switch pp.State {
	case StateLeaving:
		return GateVerdict{}, false
	case StatePending, StateWaitingContainers:
		return notYet(v1alpha1.GateReasonRegistering, pp.Detail)
	case StateQuotaWait:
		return notYet(v1alpha1.GateReasonQuotaExceeded, pp.Detail)
	case StateModeMismatch:
		return notYet(v1alpha1.GateReasonNetworkModeMismatch, pp.Detail)
	case StateHostNetwork:
		return notYet(v1alpha1.GateReasonHostNetwork, pp.Detail)
	case StatePortNotFound:
		return notYet(v1alpha1.GateReasonTargetPortNotFound, pp.Detail)
	}
	var missing, pending, unhealthy, targets []string
	for _, tb := range pp.Backends {
		targets = append(targets, tb.Target)
		b, found := lb[tb]
		found = found && ownedBy(records, tb, pp.Pod)
		switch {
		case !found:
			missing = append(missing, fmt.Sprintf("%s on %s", tb.Addr, tb.Target))
		case b.Health == providers.HealthHealthy:
		case b.Health == providers.HealthUnhealthy:
			// Not the load balancer's words: they change from check to check,
			// and each change would be a pod write (see UnhealthyDetail).
			unhealthy = append(unhealthy, fmt.Sprintf("%s on %s", tb.Addr, tb.Target))
		default:
			pending = append(pending, fmt.Sprintf("%s on %s (%s)", tb.Addr, tb.Target, b.Health))
		}
	}
	switch {
	case len(unhealthy) > 0:
		return notYet(v1alpha1.GateReasonUnhealthy, "load balancer reports unhealthy: "+strings.Join(unhealthy, ", "))
	case len(missing) > 0:
		return notYet(v1alpha1.GateReasonRegistering, "registering "+strings.Join(missing, ", "))
	case len(pending) > 0:
		return notYet(v1alpha1.GateReasonHealthCheckPending, "waiting for the load balancer's health check of "+strings.Join(pending, ", "))
	}
	return GateVerdict{Status: corev1.ConditionTrue, Reason: v1alpha1.GateReasonHealthy,
		Message: "load balancer reports healthy on " + strings.Join(targets, ", ")}, true
}

// ownedBy says whether records name pod as the owner of tb.
func ownedBy(records map[TargetBackend]v1alpha1.BackendRecord, tb TargetBackend, pod *corev1.Pod) bool {
	rec, ok := records[tb]
	return ok && rec.PodUID != "" && rec.PodUID == pod.UID
}

// UnhealthyDetail lists the pod's backends the load balancer reports
// unhealthy, with the load balancer's own words for each (such as
// HAProxy's "L7STS/503 (DOWN)"), for the event that goes with an Unhealthy
// gate: the words change from check to check, so the gate's message
// leaves them out.
func UnhealthyDetail(pp PodPlan, lb map[TargetBackend]providers.BackendStatus, records map[TargetBackend]v1alpha1.BackendRecord) string {
	var out []string
	for _, tb := range pp.Backends {
		if b, found := lb[tb]; found && ownedBy(records, tb, pp.Pod) && b.Health == providers.HealthUnhealthy {
			out = append(out, fmt.Sprintf("%s on %s (%s)", tb.Addr, tb.Target, orDash(b.Reason)))
		}
	}
	return strings.Join(out, ", ")
}

// refusedPrefix starts the message of a Registering verdict of a group
// whose settings a target refuses (withRefusal): that one needs a person.
const refusedPrefix = "not registered: "

// NextGate returns the condition to write for a verdict given the pod's
// current one, and whether it differs. The gate is written once per change
// a person can act on, and never more:
//
//   - A gate that is True stays True and is never written again: it paces
//     rollouts, and a load balancer that restarts and re-checks its
//     backends must not make serving pods unready.
//   - A pod on its way (Registering, HealthCheckPending) gets no False: a
//     missing gate condition keeps the pod not Ready already (the
//     kubelet's rule), so a pod that goes straight to healthy is written
//     once, True. Such a verdict is written only over a False that says
//     the pod is held for a reason that no longer holds (QuotaExceeded,
//     NetworkModeMismatch, ...: see blocking), so no stale reason stays.
//   - Unhealthy stays while the load balancer re-checks (its verdict stands
//     until it decides otherwise).
//
// lastTransitionTime changes only with the status.
func NextGate(current *corev1.PodCondition, condType string, v GateVerdict, now metav1.Time) (corev1.PodCondition, bool) {
	if current != nil && current.Status == corev1.ConditionTrue {
		return *current, false
	}
	if onTheWay(v.Status, v.Reason, v.Message) && !blocking(current) {
		if current != nil {
			return *current, false
		}
		return corev1.PodCondition{}, false
	}
	next := corev1.PodCondition{Type: corev1.PodConditionType(condType), Status: v.Status, Reason: v.Reason, Message: v.Message, LastTransitionTime: now}
	if current == nil {
		return next, true
	}
	if current.Status == v.Status {
		next.LastTransitionTime = current.LastTransitionTime
	}
	changed := current.Status != next.Status || current.Reason != next.Reason || current.Message != next.Message
	return next, changed
}

// onTheWay says whether a gate value only says the pod is on its way to
// the load balancer's verdict: nobody needs to act on it.
func onTheWay(status corev1.ConditionStatus, reason, message string) bool {
	if status == corev1.ConditionTrue {
		return false
	}
	switch reason {
	case v1alpha1.GateReasonHealthCheckPending:
		return true
	case v1alpha1.GateReasonRegistering:
		return !strings.HasPrefix(message, refusedPrefix)
	}
	return false
}

// blocking says whether the current gate is a False that holds the pod for
// a reason of its own (QuotaExceeded, NetworkModeMismatch, HostNetwork,
// TargetPortNotFound, TargetConflict, refused settings): a pod on its way
// now must not keep showing it.
func blocking(c *corev1.PodCondition) bool {
	return c != nil && c.Status != corev1.ConditionTrue && c.Reason != v1alpha1.GateReasonUnhealthy &&
		!onTheWay(c.Status, c.Reason, c.Message)
}

// HasGate reports whether the pod's spec lists the readiness gate of a condition type.
func HasGate(pod *corev1.Pod, condType string) bool {
	for _, g := range pod.Spec.ReadinessGates {
		if string(g.ConditionType) == condType {
			return true
		}
	}
	return false
}

// GateCondition returns the pod's current condition of a type, or nil.
func GateCondition(pod *corev1.Pod, condType string) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if string(pod.Status.Conditions[i].Type) == condType {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
