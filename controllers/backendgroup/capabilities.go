package backendgroup

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/controllers/internal/capability"
	"github.com/lbgate/lbgate/controllers/internal/conditions"
	"github.com/lbgate/lbgate/controllers/internal/events"
	"github.com/lbgate/lbgate/providers"
)

// ReasonSettingsHonoured is the Accepted reason once the provider honours a
// group's settings again that it had refused (reason UnsupportedSetting).
const ReasonSettingsHonoured = "SettingsHonoured"

// refusedSuffix ends the message of a refused group.
const refusedSuffix = "; the group registers nothing new until this changes"

// checkSettings compares the group's per-backend settings (health check,
// slow start) with what each of its targets takes, as the provider's
// limits say (capability.Check), and reports the outcome: the Accepted
// condition (see acceptance), a Warning event UnsupportedSetting, and, for
// settings that are honoured, the health check in force
// (status.healthCheck). It returns whether the group is refused: apply
// then registers nothing new (see registrations).
func (r *Reconciler) checkSettings(bg *v1alpha1.BackendGroup, limits map[string]providers.Limits) bool {
	targets := targetsOf(bg)
	caps := map[string]providers.Capabilities{}
	for _, t := range targets {
		if l, ok := limits[t]; ok {
			caps[t] = l.Capabilities
		}
	}
	naming := capability.Fields
	if ownedByService(bg) {
		naming = capability.Annotations
	}
	msg := ""
	if refusals := capability.Check(bg.Spec, targets, caps, naming); len(refusals) > 0 {
		msg = capability.Message(r.Provider.Name(), refusals) + refusedSuffix
	}
	if set, ok, reason, text := acceptance(meta.FindStatusCondition(bg.Status.Conditions, v1alpha1.ConditionAccepted), msg); set {
		conditions.Set(&bg.Status.Conditions, bg.Generation, v1alpha1.ConditionAccepted, ok, reason, text)
	}
	if msg != "" {
		r.Events.Warning(bg, events.UnsupportedSetting, "Bind", "%s", msg)
		return true
	}
	r.Events.Resolved(bg, events.UnsupportedSetting)
	if hc, ok := capability.Effective(bg.Spec, targets, caps); ok {
		bg.Status.HealthCheck = hc
	}
	return false
}

// acceptance decides what the BackendGroup controller writes to the
// group's Accepted condition, given the current one and the refusal
// message ("" when every setting is honoured). Each reason has one owner:
// this controller sets only UnsupportedSetting, and lifts only its own; a
// False condition of another reason (the Service controller's
// InvalidAnnotation, UnsupportedAnnotation or TargetConflict) says the
// group does not move already, and stands. A group that was never refused
// gets no condition from here (the Service controller accepts the groups
// it makes).
func acceptance(cur *metav1.Condition, refused string) (set, ok bool, reason, msg string) {
	ownFalse := cur != nil && cur.Status == metav1.ConditionFalse && cur.Reason == events.UnsupportedSetting
	otherFalse := cur != nil && cur.Status == metav1.ConditionFalse && !ownFalse
	switch {
	case refused != "" && !otherFalse:
		return true, false, events.UnsupportedSetting, refused
	case refused == "" && ownFalse:
		return true, true, ReasonSettingsHonoured, "the provider honours the group's health check and slow start on every target"
	}
	return false, false, "", ""
}

// registrations are the Register calls apply makes on a target: the plan's,
// or, for a refused group, only those with Recheck (an address that
// changed owner must be checked again whatever else happens), at the
// weight the load balancer has now. Nothing new is registered, so no
// backend gets settings the target does not honour and nothing of a
// refused change is half applied; drains and removals of leaving pods go on.
func registrations(planned []providers.Backend, refused bool, lb map[TargetBackend]providers.BackendStatus, target string) []providers.Backend {
	if !refused {
		return planned
	}
	var out []providers.Backend
	for _, b := range planned {
		if cur, ok := lb[TargetBackend{target, b.Addr}]; ok && b.Recheck {
			b.Weight = cur.Weight
			out = append(out, b)
		}
	}
	return out
}

// ownedByService reports whether a Service controls the group (it was
// made from the Service's annotations).
func ownedByService(bg *v1alpha1.BackendGroup) bool {
	owner := metav1.GetControllerOf(bg)
	return owner != nil && owner.Kind == "Service"
}
