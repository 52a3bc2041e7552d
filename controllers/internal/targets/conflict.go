// Package targets holds the rules about load-balancer targets that more than
// one controller applies: which targets a group names, and which of two
// groups naming one target keeps it.
package targets

import (
	"fmt"
	"slices"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

// Of lists the group's distinct targets in spec order.
func Of(bg *v1alpha1.BackendGroup) []string {
	var out []string
	for _, pb := range bg.Spec.Ports {
		if !slices.Contains(out, pb.Target) {
			out = append(out, pb.Target)
		}
	}
	return out
}

// Known lists the spec's targets and the former ones the status still records.
func Known(bg *v1alpha1.BackendGroup) []string {
	out := Of(bg)
	for _, t := range bg.Status.Targets {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// Conflict says which of others makes bg yield one of its targets, as a
// message, or "" when bg yields nothing. A target belongs to one group: each
// group removes from its targets whatever its own pods do not claim, so two
// groups on one target would remove each other's backends. The group that
// already holds the target (its status records it) keeps it; if neither or
// both do, the older one. others may include bg itself.
func Conflict(bg *v1alpha1.BackendGroup, others []v1alpha1.BackendGroup) string {
	for i := range others {
		other := &others[i]
		if other.UID == bg.UID || !other.DeletionTimestamp.IsZero() {
			continue
		}
		for _, t := range Of(bg) {
			if !slices.Contains(Known(other), t) {
				continue
			}
			iHold, theyHold := slices.Contains(bg.Status.Targets, t), slices.Contains(other.Status.Targets, t)
			if (theyHold && !iHold) || (theyHold == iHold && olderThan(other, bg)) {
				return fmt.Sprintf("target %s is bound by BackendGroup %s/%s; a target belongs to one group", t, other.Namespace, other.Name)
			}
		}
	}
	return ""
}

// olderThan orders groups by creation, then namespace and name, so exactly one of two conflicting groups yields.
func olderThan(a, b *v1alpha1.BackendGroup) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
}
