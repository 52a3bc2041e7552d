package backendgroup

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/controllers/internal/conditions"
	"github.com/lbgate/lbgate/controllers/internal/events"
	"github.com/lbgate/lbgate/providers"
)

// podCounts summarises a plan against the load balancer's view.
type podCounts struct {
	desired, registered, healthy, waiting int
	// waitingOnLB: bound pods, gated or not, whose gate is not True and
	// that the load balancer does not report healthy yet.
	waitingOnLB int
	// lastRegistered is the latest registration of the pods counted in
	// waitingOnLB, and justRegistered says one was registered by this
	// pass: how soon a check is due.
	lastRegistered time.Time
	justRegistered bool
	// drifted: bound pods whose gate is True but that the load balancer does not report healthy now.
	drifted      int
	modeMismatch []string
	hostNetwork  []string
	withoutGate  []string
}

func countPods(plan Plan, lb map[TargetBackend]providers.BackendStatus, records map[TargetBackend]v1alpha1.BackendRecord, condType string) podCounts {
	var c podCounts
	for _, pp := range plan.Pods {
		switch pp.State {
		case StateQuotaWait:
			c.desired++
			c.waiting++
		case StateModeMismatch:
			c.modeMismatch = append(c.modeMismatch, pp.Pod.Name)
		case StateHostNetwork:
			c.hostNetwork = append(c.hostNetwork, pp.Pod.Name)
		case StateBound:
			c.countBound(pp, lb, records, condType)
		}
		if pp.State != StateLeaving && pp.State != StateHostNetwork && !HasGate(pp.Pod, condType) {
			c.withoutGate = append(c.withoutGate, pp.Pod.Name)
		}
	}
	return c
}

// countBound counts a bound pod: desired; registered when the load
// balancer holds all its backends as its own; healthy when it reports them
// all healthy; otherwise drifted or waiting on the load balancer.
func (c *podCounts) countBound(pp PodPlan, lb map[TargetBackend]providers.BackendStatus, records map[TargetBackend]v1alpha1.BackendRecord, condType string) {
	c.desired++
	all, healthy := registeredAndHealthy(pp, lb, records)
	if all {
		c.registered++
	}
	if healthy {
		c.healthy++
		return
	}
	// A pod without the gate waits like one with it: no gate waits on
	// it, but a provider may finish a registration only when it is
	// listed (HAProxy puts a slot in traffic once its check passed),
	// so it is polled on the same backing-off schedule.
	switch cur := GateCondition(pp.Pod, condType); {
	case cur != nil && cur.Status == corev1.ConditionTrue:
		c.drifted++
	default:
		c.countWaitingOnLB(pp, records)
	}
}

// registeredAndHealthy says whether the load balancer holds every backend
// of the pod, recorded as the pod's, and whether it reports every one of
// them healthy as well.
func registeredAndHealthy(pp PodPlan, lb map[TargetBackend]providers.BackendStatus, records map[TargetBackend]v1alpha1.BackendRecord) (all, healthy bool) {
	all, healthy = true, true
	for _, tb := range pp.Backends {
		b, ok := lb[tb]
		ok = ok && ownedBy(records, tb, pp.Pod)
		all = all && ok
		healthy = healthy && ok && b.Health == providers.HealthHealthy
	}
	return all, healthy
}

// countWaitingOnLB counts a bound pod the load balancer does not report
// healthy yet, and keeps when the latest of such pods was registered.
func (c *podCounts) countWaitingOnLB(pp PodPlan, records map[TargetBackend]v1alpha1.BackendRecord) {
	c.waitingOnLB++
	if t, ok := registeredAt(pp, records); !ok {
		c.justRegistered = true
	} else if t.After(c.lastRegistered) {
		c.lastRegistered = t
	}
}

// registeredAt is the latest registration of the pod's backends, false
// when one has no registration time (registered by this very pass).
func registeredAt(pp PodPlan, records map[TargetBackend]v1alpha1.BackendRecord) (time.Time, bool) {
	var latest time.Time
	for _, tb := range pp.Backends {
		rec, ok := records[tb]
		if !ok || rec.RegisteredAt == nil {
			return time.Time{}, false
		}
		if rec.RegisteredAt.After(latest) {
			latest = rec.RegisteredAt.Time
		}
	}
	return latest, true
}

// report sets the group's counts and conditions and emits events for what users must act on.
// blocked, when not empty, says why the waiting pods can never get a place.
func (r *Reconciler) report(bg *v1alpha1.BackendGroup, svc *corev1.Service, plan Plan, c podCounts, blocked string, provErr error) {
	st := &bg.Status
	gen := bg.Generation
	st.Desired, st.Registered, st.Healthy, st.Waiting = int32(c.desired), int32(c.registered), int32(c.healthy), int32(c.waiting)
	recordCounts(bg)

	switch {
	case len(plan.Problems) > 0:
		msg := strings.Join(plan.Problems, "; ")
		conditions.Set(&st.Conditions, gen, v1alpha1.ConditionReady, false, "InvalidPortBinding", msg)
		r.Events.Warning(bg, "InvalidPortBinding", "Bind", "%s", msg)
	case provErr != nil:
		// reportProviderError below sets Ready with the error.
	case c.healthy == c.desired:
		conditions.Set(&st.Conditions, gen, v1alpha1.ConditionReady, true, "BackendsHealthy",
			fmt.Sprintf("%d of %d backends registered and healthy", c.healthy, c.desired))
	default:
		conditions.Set(&st.Conditions, gen, v1alpha1.ConditionReady, false, "BackendsPending",
			fmt.Sprintf("%d of %d backends healthy, %d registered, %d waiting for quota", c.healthy, c.desired, c.registered, c.waiting))
	}
	r.reportQuota(bg, svc, c, blocked)
	if provErr != nil {
		r.reportProviderError(bg, svc, provErr)
	} else {
		conditions.Set(&st.Conditions, gen, v1alpha1.ConditionDegraded, false, "ProviderHealthy", "load balancer calls succeed")
		r.Events.Resolved(bg, events.ProviderError)
		r.Events.Resolved(svc, events.ProviderError)
		r.Events.Resolved(bg, events.TargetNotFound)
		st.ObservedGeneration = gen
	}
	warnPods(r.Events, svc, events.NetworkModeMismatch, c.modeMismatch,
		fmt.Sprintf("not bound: pod IP outside the %s ranges", bg.Status.NetworkMode))
	warnPods(r.Events, svc, events.HostNetworkPod, c.hostNetwork, "not bound: hostNetwork pods are never bound to the load balancer")
	r.reportUngated(bg, c.withoutGate)
}

// reportQuota sets QuotaExceeded: True while pods wait for a place (reason
// PodsWaiting, or RolloutBlocked when nothing will free one, with one
// Warning event on the Service that says what to change).
func (r *Reconciler) reportQuota(bg *v1alpha1.BackendGroup, svc *corev1.Service, c podCounts, blocked string) {
	st, gen := &bg.Status, bg.Generation
	switch {
	case c.waiting == 0:
		conditions.Set(&st.Conditions, gen, v1alpha1.ConditionQuotaExceeded, false, "WithinQuota", "every eligible pod has a place")
		r.Events.Resolved(bg, events.QuotaExceeded)
		r.Events.Resolved(svc, events.RolloutBlocked)
	case blocked != "":
		conditions.Set(&st.Conditions, gen, v1alpha1.ConditionQuotaExceeded, true, ReasonRolloutBlocked, blocked)
		r.Events.Warning(svc, events.RolloutBlocked, "Bind", "BackendGroup %s: %s", bg.Name, blocked)
	default:
		msg := fmt.Sprintf("%d pods wait for a place: max-backends is %d", c.waiting, ptrOr(bg.Spec.MaxBackends, v1alpha1.DefaultMaxBackends))
		conditions.Set(&st.Conditions, gen, v1alpha1.ConditionQuotaExceeded, true, "PodsWaiting", msg)
		r.Events.Warning(bg, events.QuotaExceeded, "Bind", "%s", msg)
		r.Events.Resolved(svc, events.RolloutBlocked)
	}
}

// reportProviderError marks the group Degraded and tells the Service's owners.
func (r *Reconciler) reportProviderError(bg *v1alpha1.BackendGroup, svc *corev1.Service, err error) {
	reason := events.ProviderError
	switch {
	case providers.IsNotFound(err):
		reason = events.TargetNotFound
	case providers.IsUnreachable(err):
		reason = events.NetworkModeMismatch
	}
	conditions.Set(&bg.Status.Conditions, bg.Generation, v1alpha1.ConditionDegraded, true, reason, err.Error())
	conditions.Set(&bg.Status.Conditions, bg.Generation, v1alpha1.ConditionReady, false, reason, err.Error())
	r.Events.Warning(bg, reason, "Bind", "%s", err.Error())
	if svc != nil {
		r.Events.Warning(svc, reason, "Bind", "BackendGroup %s: %s", bg.Name, err.Error())
	}
}

// reportConflict marks a group that yields a target to an older group.
func (r *Reconciler) reportConflict(bg *v1alpha1.BackendGroup, msg string) {
	conditions.Set(&bg.Status.Conditions, bg.Generation, v1alpha1.ConditionReady, false, events.TargetConflict, msg)
	conditions.Set(&bg.Status.Conditions, bg.Generation, v1alpha1.ConditionDegraded, true, events.TargetConflict, msg)
	r.Events.Warning(bg, events.TargetConflict, "Bind", "%s; nothing is registered", msg)
}

// reportNoService marks a group whose Service is missing or selects
// nothing; the event waits for the grace to pass (a Service deleted with its
// group, or recreated, is no problem to report).
func (r *Reconciler) reportNoService(bg *v1alpha1.BackendGroup, grace time.Duration, graceOver bool) {
	msg := fmt.Sprintf("Service %s does not exist or has no selector: the load balancer is left as it is, and pods that carry the gate are released once it has been so for %s",
		bg.Spec.ServiceName, grace)
	conditions.Set(&bg.Status.Conditions, bg.Generation, v1alpha1.ConditionReady, false, "ServiceNotFound", msg)
	if graceOver {
		r.Events.Warning(bg, events.ServiceNotFound, "Bind", "%s", msg)
	}
}

// warnPods emits one event for a set of pods with the same problem, and
// clears it when the set is empty. The message changes only with the set.
func warnPods(rec *events.Recorder, obj client.Object, reason string, pods []string, msg string) {
	if len(pods) == 0 {
		rec.Resolved(obj, reason)
		return
	}
	slices.Sort(pods)
	shown := pods
	if len(shown) > 10 {
		shown = shown[:10]
	}
	more := ""
	if len(pods) > len(shown) {
		more = fmt.Sprintf(" and %d more", len(pods)-len(shown))
	}
	rec.Warning(obj, reason, "Bind", "%s %d pods: %s%s", msg, len(pods), strings.Join(shown, ", "), more)
}

func equalStatus(a, b v1alpha1.BackendGroupStatus) bool { return equality.Semantic.DeepEqual(a, b) }

// reportHandover tells the Service's owners when retired backends are kept
// in traffic for their replacements, and when a handover timed out.
func (r *Reconciler) reportHandover(bg *v1alpha1.BackendGroup, plan Plan) {
	if len(plan.Held) > 0 {
		r.Events.Normal(bg, events.HandoverWaiting, "Handover",
			"keeping %d retired backends in traffic until their replacements are healthy", len(plan.Held))
	} else {
		r.Events.Resolved(bg, events.HandoverWaiting)
	}
	if len(plan.HandoverTimedOut) > 0 {
		r.Events.Warning(bg, events.HandoverTimeout, "Handover",
			"draining %d retired backends although their replacements are not healthy: the handover timed out", len(plan.HandoverTimedOut))
	}
}

// reportUngated counts the selected pods without the group's gate, and
// warns once per episode: when the count leaves zero (the status holds the
// count, so a restart does not warn again).
func (r *Reconciler) reportUngated(bg *v1alpha1.BackendGroup, pods []string) {
	prev := bg.Status.UngatedPods
	bg.Status.UngatedPods = int32(len(pods))
	if len(pods) == 0 {
		if prev > 0 {
			r.Events.Resolved(bg, events.PodWithoutGate) // the episode ended
		}
		return
	}
	if prev > 0 {
		return
	}
	// A cache that has not seen the last status write yet reads prev 0
	// again: the recorder, which remembers the last message until the
	// episode ends, keeps that from warning twice.
	warnPods(r.Events, bg, events.PodWithoutGate, pods,
		"bound without a readiness gate (created before the Service opted in, or while the webhook was unavailable): rollouts do not wait for the load balancer for")
}
