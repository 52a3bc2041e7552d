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
			unhealthy = append(unhealthy, fmt.Sprintf("%s on %s (%s)", tb.Addr, tb.Target, orDash(b.Reason)))
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

// NextGate returns the condition to write for a verdict given the pod's
// current one, and whether it differs. A gate that is True stays True: it
// paces rollouts, and a load balancer that restarts and re-checks its
// backends must not make serving pods unready. lastTransitionTime changes
// only with the status.
func NextGate(current *corev1.PodCondition, condType string, v GateVerdict, now metav1.Time) (corev1.PodCondition, bool) {
	if current != nil && current.Status == corev1.ConditionTrue && v.Status != corev1.ConditionTrue && v.Reason != v1alpha1.GateReasonBackendGroupRemoved {
		return *current, false
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
