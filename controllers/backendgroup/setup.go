package backendgroup

import (
	"context"
	"errors"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

// ServiceNameIndex indexes BackendGroups by spec.serviceName.
const ServiceNameIndex = "spec.serviceName"

// SetupWithManager registers the controller, its index and its watches:
// BackendGroups, the pods their Services select, and the Services themselves.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if r.Selectors == nil {
		return errors.New("the BackendGroup controller needs the selector index (Reconciler.Selectors)")
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.BackendGroup{}, ServiceNameIndex, func(o client.Object) []string {
		return []string{o.(*v1alpha1.BackendGroup).Spec.ServiceName}
	}); err != nil {
		return err
	}
	lost, err := r.setupStateLoss(ctx, mgr) // lbrestart.go
	if err != nil {
		return err
	}
	opts := r.Options.withDefaults()
	return ctrl.NewControllerManagedBy(mgr).
		Named("backendgroup").
		For(&v1alpha1.BackendGroup{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, deletionPredicate()))).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(r.groupsForPod)).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.groupsForService)).
		WatchesRawSource(lost).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: opts.MaxConcurrentReconciles,
			// Only errors back off; a gate waiting for the load balancer is
			// polled at PendingInterval through RequeueAfter, never backed off.
			RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](250*time.Millisecond, 30*time.Second),
		}).
		Complete(r)
}

// groupsForPod maps a pod to the groups whose Service selects it or whose
// gate it carries, from the pod and the selector index alone: nothing is
// listed or read per pod event.
func (r *Reconciler) groupsForPod(_ context.Context, o client.Object) []reconcile.Request {
	pod := o.(*corev1.Pod)
	var reqs []reconcile.Request
	seen := map[string]bool{}
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: pod.Namespace, Name: name}})
		}
	}
	for _, g := range pod.Spec.ReadinessGates {
		if name, ok := strings.CutPrefix(string(g.ConditionType), v1alpha1.GateConditionPrefix); ok {
			add(name)
		}
	}
	for _, name := range r.Selectors.GroupsSelecting(pod.Namespace, pod.Labels) {
		add(name)
	}
	return reqs
}

// groupsForService maps a Service to the groups that name it.
func (r *Reconciler) groupsForService(ctx context.Context, o client.Object) []reconcile.Request {
	groups := &v1alpha1.BackendGroupList{}
	if err := r.Client.List(ctx, groups, client.InNamespace(o.GetNamespace()), client.MatchingFields{ServiceNameIndex: o.GetName()}); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(groups.Items))
	for _, bg := range groups.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&bg)})
	}
	return reqs
}

// deletionPredicate passes updates that start a deletion (the finalizer must run).
func deletionPredicate() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectNew.GetDeletionTimestamp() != nil
	}}
}
