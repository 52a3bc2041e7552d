// Package kubelet holds the kubelet's pod-readiness rules, read from the
// Kubernetes source (pkg/kubelet/status/generate.go; ../shared/KUBELET-RULES.md
// has them in prose), and a stand-in kubelet for tests that applies them to
// pods on a real apiserver. The e2e node simulator and the envtest suites use
// the same rules, so the readiness gate is exercised exactly as a real node
// would exercise it.
package kubelet

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Condition reasons the kubelet uses.
const (
	ReasonUnknownContainerStatuses = "UnknownContainerStatuses"
	ReasonPodCompleted             = "PodCompleted"
	ReasonPodFailed                = "PodFailed"
	ReasonContainersNotReady       = "ContainersNotReady"
	ReasonReadinessGatesNotReady   = "ReadinessGatesNotReady"
)

// ContainersReady computes the ContainersReady condition (status, reason, message)
// from the pod's spec and container statuses.
func ContainersReady(pod *corev1.Pod) (corev1.ConditionStatus, string, string) {
	statuses := slicesConcat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses)
	if len(statuses) == 0 {
		return corev1.ConditionFalse, ReasonUnknownContainerStatuses, ""
	}
	var unknown, unready []string
	// Sidecars (init containers that restart always) count first, then the containers, in spec order.
	var names []string
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			names = append(names, c.Name)
		}
	}
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, name := range names {
		st, ok := findStatus(statuses, name)
		switch {
		case !ok:
			unknown = append(unknown, name)
		case !st.Ready:
			unready = append(unready, name)
		}
	}
	if pod.Status.Phase == corev1.PodSucceeded && len(unknown) == 0 {
		return corev1.ConditionFalse, ReasonPodCompleted, ""
	}
	if pod.Status.Phase == corev1.PodFailed { // failed pods may still be terminating containers
		return corev1.ConditionFalse, ReasonPodFailed, ""
	}
	var msgs []string
	if len(unknown) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unknown status: %s", bracket(unknown)))
	}
	if len(unready) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unready status: %s", bracket(unready)))
	}
	if len(msgs) > 0 {
		return corev1.ConditionFalse, ReasonContainersNotReady, strings.Join(msgs, ", ")
	}
	return corev1.ConditionTrue, "", ""
}

// Ready computes the pod Ready condition: ContainersReady copied when it is
// not True, else False while any readiness gate condition is missing or not
// True, else True.
func Ready(pod *corev1.Pod) (corev1.ConditionStatus, string, string) {
	status, reason, msg := ContainersReady(pod)
	if status != corev1.ConditionTrue {
		return status, reason, msg
	}
	var msgs []string
	for _, gate := range pod.Spec.ReadinessGates {
		c := findCondition(pod.Status.Conditions, gate.ConditionType)
		switch {
		case c == nil:
			msgs = append(msgs, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", gate.ConditionType))
		case c.Status != corev1.ConditionTrue:
			msgs = append(msgs, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", gate.ConditionType, c.Status))
		}
	}
	if len(msgs) > 0 {
		return corev1.ConditionFalse, ReasonReadinessGatesNotReady, strings.Join(msgs, ", ")
	}
	return corev1.ConditionTrue, "", ""
}

func findStatus(sts []corev1.ContainerStatus, name string) (corev1.ContainerStatus, bool) {
	for _, s := range sts {
		if s.Name == name {
			return s, true
		}
	}
	return corev1.ContainerStatus{}, false
}

func findCondition(conds []corev1.PodCondition, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// bracket renders names the way the kubelet does with fmt's %v of a slice: [a b].
func bracket(names []string) string { return fmt.Sprintf("%v", names) }

func slicesConcat(a, b []corev1.ContainerStatus) []corev1.ContainerStatus {
	out := make([]corev1.ContainerStatus, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}
