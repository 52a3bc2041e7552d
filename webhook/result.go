package webhook

import (
	"fmt"
	"strings"
)

// SkipReason says why a pod was left alone as a whole.
type SkipReason string

// The reasons a pod is skipped. Mutate returns the first three; Handler adds
// the others.
const (
	// SkipHostNetwork: hostNetwork pods are never bound, so never gated.
	SkipHostNetwork SkipReason = "HostNetwork"
	// SkipMirrorPod: static pods' mirrors are created by the kubelet and cannot be changed.
	SkipMirrorPod SkipReason = "MirrorPod"
	// SkipOperatorPod: the operator never gates itself.
	SkipOperatorPod SkipReason = "OperatorPod"
	// SkipIgnoredNamespace: the namespace is excluded (kube-system, the operator's).
	SkipIgnoredNamespace SkipReason = "IgnoredNamespace"
	// SkipNotPodCreate: the request is not the creation of a pod.
	SkipNotPodCreate SkipReason = "NotPodCreate"
)

// PreStopSkipReason says why a container got no preStop sleep.
type PreStopSkipReason string

// The reasons a container keeps its lifecycle as it is.
const (
	// PreStopHookPresent: the container already has a preStop hook (its own, or ours).
	PreStopHookPresent PreStopSkipReason = "HookPresent"
	// PreStopGraceTooShort: the grace period minus the margin leaves no whole second.
	PreStopGraceTooShort PreStopSkipReason = "GracePeriodTooShort"
)

// PreStopSource says where the preStop delay of a pod comes from.
type PreStopSource string

// The sources of a pod's preStop delay (see Mutate).
const (
	// PreStopFromService: a Service that selects the pod sets lbgate.dev/prestop-delay.
	PreStopFromService PreStopSource = "Service"
	// PreStopDefault: no Service that selects the pod sets it; the default applies.
	PreStopDefault PreStopSource = "Default"
	// PreStopOff: a Service that selects the pod sets "0" and none sets a longer delay.
	PreStopOff PreStopSource = "Off"
)

// PreStopAdded records one added preStop sleep.
type PreStopAdded struct {
	Container string
	// Seconds is the sleep added; Requested what the Services asked for,
	// rounded up to whole seconds. They differ when the grace period capped it.
	Seconds   int64
	Requested int64
}

// Capped reports whether the grace period shortened the sleep.
func (p PreStopAdded) Capped() bool { return p.Seconds < p.Requested }

// PreStopSkipped records a container that got no preStop sleep.
type PreStopSkipped struct {
	Container string
	Reason    PreStopSkipReason
}

// Result reports what Mutate did, for logs, events and metrics.
type Result struct {
	// Skipped is set when the pod was left alone as a whole.
	Skipped SkipReason
	// Matched are the BackendGroups whose selector picks the pod, sorted,
	// reported even when the pod is skipped.
	Matched []string
	// GatesAdded are the readiness gate condition types added, in order.
	GatesAdded []string
	// GatesPresent are the gates of matched groups the pod already had.
	GatesPresent []string
	// PreStopSource says where the pod's preStop delay comes from; "" when
	// no group matched or the pod was skipped.
	PreStopSource PreStopSource
	// PreStopAdded and PreStopSkipped cover every container when the pod
	// gets a preStop delay (PreStopFromService or PreStopDefault), and are
	// empty otherwise.
	PreStopAdded   []PreStopAdded
	PreStopSkipped []PreStopSkipped
}

// Changed reports whether Mutate modified the pod.
func (r Result) Changed() bool { return len(r.GatesAdded) > 0 || len(r.PreStopAdded) > 0 }

// String summarises the result on one line.
func (r Result) String() string {
	if r.Skipped != "" {
		return fmt.Sprintf("skipped (%s), matched %v", r.Skipped, r.Matched)
	}
	parts := []string{fmt.Sprintf("matched %v", r.Matched)}
	if len(r.GatesAdded) > 0 {
		parts = append(parts, fmt.Sprintf("gates added %v", r.GatesAdded))
	}
	if len(r.GatesPresent) > 0 {
		parts = append(parts, fmt.Sprintf("gates present %v", r.GatesPresent))
	}
	for _, p := range r.PreStopAdded {
		var notes []string
		if r.PreStopSource == PreStopDefault {
			notes = append(notes, "default")
		}
		if p.Capped() {
			notes = append(notes, fmt.Sprintf("capped from %ds", p.Requested))
		}
		parts = append(parts, fmt.Sprintf("preStop sleep %ds on %s", p.Seconds, p.Container)+parenthesised(notes))
	}
	for _, p := range r.PreStopSkipped {
		notes := []string{string(p.Reason)}
		if r.PreStopSource == PreStopDefault {
			notes = append(notes, "default")
		}
		parts = append(parts, fmt.Sprintf("no preStop sleep on %s", p.Container)+parenthesised(notes))
	}
	if r.PreStopSource == PreStopOff {
		parts = append(parts, `preStop sleep off (prestop-delay "0")`)
	}
	return strings.Join(parts, ", ")
}

// parenthesised is " (a, b)", or "" for no notes.
func parenthesised(notes []string) string {
	if len(notes) == 0 {
		return ""
	}
	return " (" + strings.Join(notes, ", ") + ")"
}
