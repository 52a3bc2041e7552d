package backendgroup

// Quota deadlock: with maxUnavailable 0 and replicas >= max-backends, a
// surge pod never gets a place and no old pod ever leaves to free one, so
// the rollout stalls for good. The group says so, and says what to change.

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

// DefaultRolloutBlockedAfter is how long pods must have waited for a place,
// with no bound pod leaving, before the group reports the rollout blocked.
const DefaultRolloutBlockedAfter = 30 * time.Second

// ReasonRolloutBlocked is the QuotaExceeded condition's reason when no pod
// will ever free a place for the waiting ones.
const ReasonRolloutBlocked = "RolloutBlocked"

// rolloutBlocked says whether the waiting pods wait for a place nothing
// will free: pods wait, no bound pod leaves, drains or hands over, and the
// quota has been exceeded since at least after ago (waitingSince is when
// the QuotaExceeded condition turned True; zero: not yet).
func rolloutBlocked(plan Plan, c podCounts, waitingSince, now time.Time, after time.Duration) bool {
	if c.waiting == 0 || waitingSince.IsZero() || now.Sub(waitingSince) < after {
		return false
	}
	if len(plan.Drain) > 0 || len(plan.Deregister) > 0 || len(plan.Held) > 0 || !plan.NextDeregistration.IsZero() {
		return false
	}
	for _, pp := range plan.Pods {
		if pp.State == StateLeaving {
			return false
		}
	}
	return true
}

// workload is what the group could learn of the waiting pods' owner.
type workload struct {
	kind, name string
	replicas   int32
	// surge and unavailable are the Deployment's rolling-update bounds, resolved against replicas.
	surge, unavailable int32
	deployment         bool
}

// blockedMessage says why the rollout is blocked and what to change.
func blockedMessage(waiting int, maxBackends int32, w *workload) string {
	head := fmt.Sprintf("rollout blocked: %d pods wait for a place under max-backends %d and no bound pod leaves to free one", waiting, maxBackends)
	switch {
	case w == nil:
		return head + "; raise " + v1alpha1.AnnotationMaxBackends + " above the workload's replicas plus its surge, or let the rollout take a pod down first (maxUnavailable of at least 1)"
	case w.deployment:
		return fmt.Sprintf("%s; Deployment %s has %d replicas, maxSurge %d and maxUnavailable %d: raise %s to at least %d (replicas + maxSurge), or set maxUnavailable to at least 1",
			head, w.name, w.replicas, w.surge, w.unavailable, v1alpha1.AnnotationMaxBackends, w.replicas+w.surge)
	default:
		return fmt.Sprintf("%s; %s %s has %d replicas: raise %s above %d, or scale it down",
			head, w.kind, w.name, w.replicas, v1alpha1.AnnotationMaxBackends, w.replicas)
	}
}

// ownerOf reads, around the cache (this happens only when a rollout is
// blocked), the Deployment or StatefulSet that owns the first waiting pod.
// nil when the pod has no such owner or it cannot be read.
func (r *Reconciler) ownerOf(ctx context.Context, plan Plan) *workload {
	var pod *corev1.Pod
	for _, pp := range plan.Pods {
		if pp.State == StateQuotaWait {
			pod = pp.Pod
			break
		}
	}
	if pod == nil {
		return nil
	}
	logger := logf.FromContext(ctx).WithValues("pod", pod.Name)
	live := &corev1.Pod{} // the cached pod has no owner references (TrimPod)
	if err := r.reader().Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}, live); err != nil {
		logger.V(1).Info("cannot read a waiting pod", "err", err.Error())
		return nil
	}
	ref := metav1.GetControllerOf(live)
	if ref == nil {
		return nil
	}
	switch ref.Kind {
	case "StatefulSet":
		sts := &appsv1.StatefulSet{}
		if err := r.reader().Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: ref.Name}, sts); err != nil {
			logger.V(1).Info("cannot read the owner of a waiting pod", "err", err.Error())
			return nil
		}
		return &workload{kind: "StatefulSet", name: sts.Name, replicas: ptrOr(sts.Spec.Replicas, 1)}
	case "ReplicaSet":
		rs := &appsv1.ReplicaSet{}
		if err := r.reader().Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: ref.Name}, rs); err != nil {
			logger.V(1).Info("cannot read the owner of a waiting pod", "err", err.Error())
			return nil
		}
		dref := metav1.GetControllerOf(rs)
		if dref == nil || dref.Kind != "Deployment" {
			return &workload{kind: "ReplicaSet", name: rs.Name, replicas: ptrOr(rs.Spec.Replicas, 1)}
		}
		d := &appsv1.Deployment{}
		if err := r.reader().Get(ctx, types.NamespacedName{Namespace: pod.Namespace, Name: dref.Name}, d); err != nil {
			logger.V(1).Info("cannot read the owner of a waiting pod", "err", err.Error())
			return nil
		}
		return deploymentWorkload(d)
	}
	return nil
}

// deploymentWorkload resolves a Deployment's rolling-update bounds as the
// deployment controller does: surge rounds up, unavailability down, and
// both 25% when unset.
func deploymentWorkload(d *appsv1.Deployment) *workload {
	w := &workload{kind: "Deployment", name: d.Name, replicas: ptrOr(d.Spec.Replicas, 1), deployment: true}
	quarter := intstr.FromString("25%")
	surge, unavailable := &quarter, &quarter
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		if ru.MaxSurge != nil {
			surge = ru.MaxSurge
		}
		if ru.MaxUnavailable != nil {
			unavailable = ru.MaxUnavailable
		}
	}
	s, err1 := intstr.GetScaledValueFromIntOrPercent(surge, int(w.replicas), true)
	u, err2 := intstr.GetScaledValueFromIntOrPercent(unavailable, int(w.replicas), false)
	if err1 == nil && err2 == nil {
		w.surge, w.unavailable = int32(s), int32(u)
	}
	return w
}
