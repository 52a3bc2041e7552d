package backendgroup

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/controllers/internal/events"
	"github.com/lbgate/lbgate/controllers/internal/index"
	"github.com/lbgate/lbgate/controllers/internal/patch"
	"github.com/lbgate/lbgate/providers"
)

// gateSummary is what syncGates found out on the way.
type gateSummary struct {
	// timedOut counts the gates that stand released by the readiness timeout.
	timedOut int
	// nextTimeout is the earliest readiness timeout still to come (zero: none).
	nextTimeout time.Time
}

// syncGates writes each pod's gate condition where it differs from what the
// plan and the load balancer say (and the readiness timeout, when the group
// has one). Pods that no longer match the Service but still carry the gate
// are released. Nothing is written when nothing changed.
func (r *Reconciler) syncGates(ctx context.Context, bg *v1alpha1.BackendGroup, svc *corev1.Service, plan Plan, lb map[TargetBackend]providers.BackendStatus, records map[TargetBackend]v1alpha1.BackendRecord, others []*corev1.Pod, provErr error) (gateSummary, error) {
	condType := v1alpha1.GateConditionType(bg.Name)
	ts := now(r.Options)
	var timeout time.Duration
	if bg.Spec.ReadinessTimeout != nil {
		timeout = bg.Spec.ReadinessTimeout.Duration
	}
	refused := notRegistered(bg, provErr)
	var sum gateSummary
	var writes []func() error
	for _, pp := range plan.Pods {
		if !HasGate(pp.Pod, condType) {
			continue
		}
		v, ok := Verdict(pp, lb, records)
		if !ok {
			continue
		}
		v = withRefusal(v, refused)
		cur := r.gates.current(pp.Pod, condType)
		if !isTrue(cur) {
			var due time.Time
			v, due = withReadinessTimeout(v, pp, records, timeout, ts.Time)
			if !due.IsZero() && (sum.nextTimeout.IsZero() || due.Before(sum.nextTimeout)) {
				sum.nextTimeout = due
			}
		}
		if timedOut(cur, v) {
			sum.timedOut++
		}
		if _, changed := NextGate(cur, condType, v, ts); !changed {
			continue
		}
		writes = append(writes, func() error {
			if err := r.writeGate(ctx, pp.Pod, condType, v, ts); err != nil {
				return err
			}
			r.reportGateTurn(ctx, bg, svc, pp, lb, records, cur, v)
			return nil
		})
	}
	return sum, errors.Join(
		writeAll(writes),
		r.releaseOthers(ctx, bg, others, "the pod no longer matches the selector of Service "+bg.Spec.ServiceName))
}

// reportGateTurn tells, once, of a gate that turned ReadinessTimeout or
// Unhealthy with the write just made (cur is the condition before it).
func (r *Reconciler) reportGateTurn(ctx context.Context, bg *v1alpha1.BackendGroup, svc *corev1.Service, pp PodPlan, lb map[TargetBackend]providers.BackendStatus, records map[TargetBackend]v1alpha1.BackendRecord, cur *corev1.PodCondition, v GateVerdict) {
	condType := v1alpha1.GateConditionType(bg.Name)
	switch {
	case v.Reason == v1alpha1.GateReasonReadinessTimeout && !isTrue(cur) && isTrue(r.gates.current(pp.Pod, condType)):
		r.reportReadinessTimeout(ctx, bg, svc, pp.Pod, v)
	case v.Reason == v1alpha1.GateReasonUnhealthy && !isUnhealthy(cur) && isUnhealthy(r.gates.current(pp.Pod, condType)):
		r.Events.Warning(pp.Pod, events.BackendUnhealthy, "HealthCheck", "BackendGroup %s: load balancer reports unhealthy: %s",
			bg.Name, UnhealthyDetail(pp, lb, records))
	}
}

// gateWriters bounds the gate writes of one reconcile in flight at once.
// Pods the load balancer approves together (a batch of a rollout, a
// Deployment scaled up) are told together, not one API round trip after
// the other: with 100 pods turning healthy in one poll, writing them in
// turn put the last one a whole second behind the first.
const gateWriters = 8

// writeAll runs the writes, at most gateWriters at once, and returns
// their errors joined.
func writeAll(writes []func() error) error {
	errs := make([]error, len(writes))
	sem := make(chan struct{}, gateWriters)
	var wg sync.WaitGroup
	for i, w := range writes {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = w()
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// notRegistered says why the group's pods that are not registered wait
// for a person, or "" when nothing but time is needed: the group's
// settings are refused (Accepted is False with reason UnsupportedSetting,
// see checkSettings), or the load balancer refused the registration for a
// reason that retrying does not fix (the target does not exist, cannot
// reach the group's network mode, refuses the call, or is full). A pod on
// its way gets no False (NextGate); one that waits for a person does.
func notRegistered(bg *v1alpha1.BackendGroup, provErr error) string {
	if c := meta.FindStatusCondition(bg.Status.Conditions, v1alpha1.ConditionAccepted); c != nil && c.Status == metav1.ConditionFalse && c.Reason == events.UnsupportedSetting {
		return c.Message
	}
	if provErr != nil && (providers.IsNotFound(provErr) || providers.IsUnreachable(provErr) || providers.IsPermission(provErr) || providers.IsQuota(provErr)) {
		return provErr.Error()
	}
	return ""
}

// withRefusal says why a pod of a group whose registrations wait for a
// person (notRegistered) is not registered.
func withRefusal(v GateVerdict, refused string) GateVerdict {
	if refused != "" && v.Status != corev1.ConditionTrue && v.Reason == v1alpha1.GateReasonRegistering {
		v.Message = refusedPrefix + refused
	}
	return v
}

// reportReadinessTimeout tells the pod's and the Service's owners that a
// gate was released without the load balancer's approval.
func (r *Reconciler) reportReadinessTimeout(ctx context.Context, bg *v1alpha1.BackendGroup, svc *corev1.Service, pod *corev1.Pod, v GateVerdict) {
	logf.FromContext(ctx).Info("gate released by the readiness timeout", "pod", klog.KObj(pod), "message", v.Message)
	r.Events.Warning(pod, events.ReadinessTimeout, "ReleaseGate", "BackendGroup %s: %s", bg.Name, v.Message)
	if svc != nil {
		r.Events.Warning(svc, events.ReadinessTimeout, "ReleaseGate", "pod %s: %s", pod.Name, v.Message)
	}
}

// releaseOthers sets the group's gate True, reason NotSelected, on pods that
// carry it but are not selected by the group's Service; why says why.
func (r *Reconciler) releaseOthers(ctx context.Context, bg *v1alpha1.BackendGroup, others []*corev1.Pod, why string) error {
	// writeGate leaves True gates as they are: only pods still held are released.
	condType := v1alpha1.GateConditionType(bg.Name)
	ts := now(r.Options)
	v := GateVerdict{Status: corev1.ConditionTrue, Reason: v1alpha1.GateReasonNotSelected, Message: why}
	var writes []func() error
	for _, pod := range others {
		if pod.DeletionTimestamp != nil {
			continue
		}
		writes = append(writes, func() error { return r.writeGate(ctx, pod, condType, v, ts) })
	}
	return writeAll(writes)
}

// releaseGates sets the group's gate True on every pod of the namespace that carries it.
func (r *Reconciler) releaseGates(ctx context.Context, bg *v1alpha1.BackendGroup) (int, error) {
	condType := v1alpha1.GateConditionType(bg.Name)
	list := &corev1.PodList{}
	if err := r.Client.List(ctx, list, index.GatedPods(bg.Namespace, bg.Name)...); err != nil {
		return 0, fmt.Errorf("listing the pods with the gate of BackendGroup %s: %w", bg.Name, err)
	}
	ts := now(r.Options)
	v := GateVerdict{Status: corev1.ConditionTrue, Reason: v1alpha1.GateReasonBackendGroupRemoved,
		Message: "BackendGroup " + bg.Name + " was removed; the load balancer no longer gates this pod"}
	released := 0
	var errs []error
	for i := range list.Items {
		pod := &list.Items[i]
		if !HasGate(pod, condType) || pod.DeletionTimestamp != nil || isTrue(r.gates.current(pod, condType)) {
			continue // a True gate is never written again
		}
		if err := r.writeGate(ctx, pod, condType, v, ts); err != nil {
			errs = append(errs, err)
			continue
		}
		released++
	}
	return released, errors.Join(errs...)
}

// writeGate writes the gate condition a verdict asks for, when it differs
// from the pod's. The informer cache can lag behind this process's own
// writes, so the pod's condition is read through what this process last
// wrote (gateExpectations): a True is not written twice, and a True the
// cache has not seen yet is never overwritten. A False is written with the
// cached resourceVersion as precondition: if anything changed the pod
// since (a True written by another replica), the write fails with a
// conflict and the pod's next event brings the group back.
func (r *Reconciler) writeGate(ctx context.Context, pod *corev1.Pod, condType string, v GateVerdict, ts metav1.Time) error {
	cur := r.gates.current(pod, condType)
	next, changed := NextGate(cur, condType, v, ts)
	if !changed {
		return nil
	}
	guard := next.Status != corev1.ConditionTrue
	err := patch.PodCondition(ctx, r.Client, pod, next, guard)
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) || apierrors.IsInvalid(err) {
		// The pod is gone, was replaced under the same name, or changed
		// since the cache saw it; its next event brings us back.
		logf.FromContext(ctx).V(1).Info("pod changed under the gate patch", "pod", klog.KObj(pod), "err", err.Error())
		return nil
	}
	if err != nil {
		return err
	}
	r.gates.wrote(pod, next)
	recordGateWrite(pod, next)
	logf.FromContext(ctx).V(1).Info("gate updated", "pod", klog.KObj(pod), "status", next.Status, "reason", next.Reason)
	return nil
}
