package webhook

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

// addGates appends the readiness gate of every group the pod lacks.
func addGates(pod *corev1.Pod, groups []Group, res *Result) {
	have := make(map[corev1.PodConditionType]bool, len(pod.Spec.ReadinessGates))
	for _, g := range pod.Spec.ReadinessGates {
		have[g.ConditionType] = true
	}
	for _, g := range groups {
		gate := corev1.PodConditionType(v1alpha1.GateConditionType(g.Name))
		if have[gate] {
			res.GatesPresent = append(res.GatesPresent, string(gate))
			continue
		}
		have[gate] = true
		pod.Spec.ReadinessGates = append(pod.Spec.ReadinessGates, corev1.PodReadinessGate{ConditionType: gate})
		res.GatesAdded = append(res.GatesAdded, string(gate))
	}
}
