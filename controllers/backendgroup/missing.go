package backendgroup

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lbgate/lbgate/api/annotations"
	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/controllers/internal/index"
)

// reconcileMissing handles a gate whose BackendGroup does not exist: pods
// created while the group was being removed (a webhook had not seen the
// deletion yet), or whose group a Service is about to get. It decides from
// the API alone, so any replica, after any restart, decides the same:
//
//   - a Service of the gate's name that is opted in is creating the group:
//     its pods wait;
//   - otherwise, once a pod has existed for ServiceGoneGrace (a Service
//     created with its pods may not be in the cache yet), its gate is
//     released: nobody else ever will.
func (r *Reconciler) reconcileMissing(ctx context.Context, key types.NamespacedName) (ctrl.Result, error) {
	opts := r.Options.withDefaults()
	condType := v1alpha1.GateConditionType(key.Name)
	waiting, err := r.waitingGates(ctx, key, condType)
	if err != nil {
		return ctrl.Result{}, err
	}
	if len(waiting) == 0 {
		return ctrl.Result{}, nil
	}
	// Read around the cache: a release is for good.
	reader := r.reader()
	if err := reader.Get(ctx, key, &v1alpha1.BackendGroup{}); !apierrors.IsNotFound(err) {
		return ctrl.Result{}, client.IgnoreNotFound(err) // it exists after all: its own event follows
	}
	coming, err := serviceCreatesGroup(ctx, reader, key)
	if err != nil {
		return ctrl.Result{}, err
	}
	if coming {
		logf.FromContext(ctx).V(1).Info("gate waits for its group to be created", "backendGroup", key, "pods", len(waiting))
		return ctrl.Result{RequeueAfter: opts.ServiceGoneGrace}, nil
	}
	return r.releaseMissing(ctx, key, condType, waiting, opts)
}

// waitingGates lists the pods that carry the gate of the group key, are
// not being deleted, and whose gate is not True yet.
func (r *Reconciler) waitingGates(ctx context.Context, key types.NamespacedName, condType string) ([]*corev1.Pod, error) {
	list := &corev1.PodList{}
	if err := r.Client.List(ctx, list, index.GatedPods(key.Namespace, key.Name)...); err != nil {
		return nil, fmt.Errorf("listing the pods with the gate of BackendGroup %s: %w", key.Name, err)
	}
	var waiting []*corev1.Pod
	for i := range list.Items {
		pod := &list.Items[i]
		if HasGate(pod, condType) && pod.DeletionTimestamp == nil && !gateTrue(pod, condType) {
			waiting = append(waiting, pod)
		}
	}
	return waiting, nil
}

// serviceCreatesGroup says whether a Service of the group's name exists,
// is opted in and is not being deleted: it is creating the group.
func serviceCreatesGroup(ctx context.Context, reader client.Reader, key types.NamespacedName) (bool, error) {
	svc := &corev1.Service{}
	err := reader.Get(ctx, key, svc)
	if client.IgnoreNotFound(err) != nil {
		return false, fmt.Errorf("reading Service %s: %w", key.Name, err)
	}
	if err != nil {
		return false, nil // no such Service
	}
	in, perr := annotations.OptedIn(svc)
	return perr == nil && in && svc.DeletionTimestamp.IsZero(), nil
}

// releaseMissing releases the gate of each waiting pod that has existed
// for ServiceGoneGrace, and asks to come back when the next one has.
func (r *Reconciler) releaseMissing(ctx context.Context, key types.NamespacedName, condType string, waiting []*corev1.Pod, opts Options) (ctrl.Result, error) {
	now := opts.Now()
	v := GateVerdict{Status: corev1.ConditionTrue, Reason: v1alpha1.GateReasonBackendGroupRemoved,
		Message: "BackendGroup " + key.Name + " does not exist and no opted-in Service will create it; the load balancer does not gate this pod"}
	var next time.Duration
	released := 0
	for _, pod := range waiting {
		if wait := pod.CreationTimestamp.Add(opts.ServiceGoneGrace).Sub(now); wait > 0 {
			next = minPositive(next, wait)
			continue
		}
		if err := r.writeGate(ctx, pod, condType, v, metav1.NewTime(now)); err != nil {
			return ctrl.Result{}, err
		}
		released++
	}
	if released > 0 {
		logf.FromContext(ctx).Info("released gates of a group that does not exist", "backendGroup", key, "pods", released)
	}
	return ctrl.Result{RequeueAfter: next}, nil
}

func (r *Reconciler) reader() client.Reader {
	if r.APIReader != nil {
		return r.APIReader
	}
	return r.Client
}

func minPositive(a, b time.Duration) time.Duration {
	if a <= 0 || b < a {
		return b
	}
	return a
}
