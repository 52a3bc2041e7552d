package webhook

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// Mutate adds to pod, in place, what the BackendGroups in groups ask for:
//
//   - one readiness gate backend.lbgate.dev/<name> per group whose selector
//     picks the pod, appended in name order after the gates the pod has;
//     gates already present are kept and not added twice;
//   - when a group picks the pod, a native sleep preStop hook on every
//     container without a preStop hook, so the pod keeps serving while the
//     load balancer drains it: of the longest PreStopDelay the matching
//     groups set, or v1alpha1.DefaultPreStopDelay when none sets one, and
//     none when the only values set are 0 (see decidePreStop); capped at
//     the termination grace period (30s when unset) minus
//     Options.PreStopMargin, in whole seconds.
//
// hostNetwork pods, mirror pods and the operator's own pods are left alone.
// Mutate is idempotent: on its own output it changes nothing.
func Mutate(pod *corev1.Pod, groups []Group, opts Options) Result {
	matched := matching(pod.Labels, groups)
	res := Result{Matched: make([]string, 0, len(matched))}
	for _, g := range matched {
		res.Matched = append(res.Matched, g.Name)
	}
	if res.Skipped = skipReason(pod, opts); res.Skipped != "" {
		return res
	}
	addGates(pod, matched, &res)
	delay, source := decidePreStop(matched)
	res.PreStopSource = source
	addPreStopSleeps(pod, delay, opts.preStopMargin(), &res)
	return res
}

// skipReason says why pod must not be mutated at all, or "".
func skipReason(pod *corev1.Pod, opts Options) SkipReason {
	switch {
	case pod.Spec.HostNetwork:
		return SkipHostNetwork
	case pod.Annotations[corev1.MirrorPodAnnotationKey] != "":
		return SkipMirrorPod
	case selects(opts.OperatorPodSelector, pod.Labels):
		return SkipOperatorPod
	}
	return ""
}

// matching returns the groups that select podLabels, sorted by name, one per
// name (the prestop delay that wins kept when a name repeats).
func matching(podLabels map[string]string, groups []Group) []Group {
	var out []Group
	for _, g := range groups {
		if g.Name == "" || !g.Selects(podLabels) {
			continue
		}
		if i := slices.IndexFunc(out, func(o Group) bool { return o.Name == g.Name }); i >= 0 {
			out[i].PreStopDelay = longerPreStop(out[i].PreStopDelay, g.PreStopDelay)
			continue
		}
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b Group) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}
