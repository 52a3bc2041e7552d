// Package service holds the Service controller: an opted-in Service gets a
// BackendGroup of the same name, owned by it and kept in line with its
// annotations; opting out or deleting the Service removes the group (whose
// finalizer then deregisters the backends and releases the gates).
package service

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/lbgate/lbgate/api/annotations"
	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/controllers/internal/capability"
	"github.com/lbgate/lbgate/controllers/internal/conditions"
	"github.com/lbgate/lbgate/controllers/internal/events"
	"github.com/lbgate/lbgate/controllers/internal/index"
	"github.com/lbgate/lbgate/controllers/internal/result"
	"github.com/lbgate/lbgate/controllers/internal/targets"
	"github.com/lbgate/lbgate/providers"
)

// ServiceLabel on a BackendGroup names the Service it was made for.
const ServiceLabel = "lbgate.dev/service"

// Reconciler reconciles Services into BackendGroups.
type Reconciler struct {
	Client client.Client
	Events *events.Recorder
	// Provider is asked, before a group's spec changes, whether its
	// targets take the group's health check and slow start; nil skips
	// that check (the BackendGroup controller makes it anyway).
	Provider providers.Provider
}

// +kubebuilder:rbac:groups="",resources=services,verbs=list;watch
// +kubebuilder:rbac:groups=lbgate.dev,resources=backendgroups,verbs=list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=lbgate.dev,resources=backendgroups/status,verbs=patch

// Reconcile keeps a Service's BackendGroup in line with its annotations.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return result.OnConflictRetry(ctrl.Result{}, r.reconcile(ctx, req))
}

func (r *Reconciler) reconcile(ctx context.Context, req ctrl.Request) error {
	svc := &corev1.Service{}
	err := r.Client.Get(ctx, req.NamespacedName, svc)
	if apierrors.IsNotFound(err) {
		return r.removeGroup(ctx, req.NamespacedName, nil)
	}
	if err != nil {
		return err
	}
	ctx = logf.IntoContext(ctx, logf.FromContext(ctx).WithValues("service", klog.KObj(svc)))
	if !svc.DeletionTimestamp.IsZero() {
		return r.removeGroup(ctx, req.NamespacedName, svc)
	}
	optedIn, err := annotations.OptedIn(svc)
	if err != nil {
		return r.rejectAnnotations(ctx, svc, err)
	}
	if !optedIn {
		return r.removeGroup(ctx, req.NamespacedName, svc)
	}
	spec, err := annotations.Parse(svc)
	if err != nil {
		return r.rejectAnnotations(ctx, svc, err)
	}
	return r.ensureGroup(ctx, svc, spec)
}

// ensureGroup creates or updates the Service's BackendGroup and marks it
// Accepted. A change that asks a target for a setting it does not take is
// refused (refuseAnnotations) and the group's spec stays as it is; a new
// group is created as asked, and the BackendGroup controller refuses it.
func (r *Reconciler) ensureGroup(ctx context.Context, svc *corev1.Service, spec v1alpha1.BackendGroupSpec) error {
	r.Events.Resolved(svc, events.InvalidAnnotation)
	bg := &v1alpha1.BackendGroup{}
	err := r.Client.Get(ctx, client.ObjectKeyFromObject(svc), bg)
	switch {
	case apierrors.IsNotFound(err):
		bg = &v1alpha1.BackendGroup{ObjectMeta: metav1.ObjectMeta{
			Name: svc.Name, Namespace: svc.Namespace, Labels: map[string]string{ServiceLabel: svc.Name},
		}, Spec: spec}
		setPreStopDelay(bg, svc)
		if err := controllerutil.SetControllerReference(svc, bg, r.Client.Scheme()); err != nil {
			return err
		}
		if err := r.Client.Create(ctx, bg); err != nil {
			return fmt.Errorf("creating BackendGroup: %w", err)
		}
		logf.FromContext(ctx).Info("created backend group", "targets", bindings(spec))
		r.Events.Normal(svc, events.BackendGroupCreated, "Create", "created BackendGroup %s binding %s", bg.Name, bindings(spec))
	case err != nil:
		return err
	case !metav1.IsControlledBy(bg, svc):
		r.Events.Warning(svc, events.BackendGroupConflict, "Create",
			"BackendGroup %s exists and is not owned by this Service; delete it or rename the Service to bind it", bg.Name)
		return nil
	case !bg.DeletionTimestamp.IsZero():
		return nil // being removed (opt-out and back): the next event recreates it
	case !equality.Semantic.DeepEqual(bg.Spec, spec) || bg.Annotations[v1alpha1.AnnotationPreStopDelay] != preStopDelay(svc):
		if !equality.Semantic.DeepEqual(bg.Spec, spec) {
			if msg := r.unsupported(ctx, svc, spec); msg != "" {
				return r.refuseAnnotations(ctx, svc, bg, msg)
			}
		}
		before := bg.DeepCopy()
		bg.Spec = spec
		setPreStopDelay(bg, svc)
		if err := r.Client.Patch(ctx, bg, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
			return fmt.Errorf("updating BackendGroup: %w", err)
		}
		logf.FromContext(ctx).Info("updated backend group from annotations", "targets", bindings(spec))
		r.Events.Normal(svc, events.BackendGroupUpdated, "Update", "updated BackendGroup %s: binding %s", bg.Name, bindings(spec))
	}
	return r.acceptUnlessConflict(ctx, svc, bg)
}

// acceptUnlessConflict sets Accepted on a group whose annotations are valid:
// False with reason TargetConflict when it yields a target to another group
// (targets.Conflict, the rule the BackendGroup controller applies), so the
// webhook stops giving new pods its gate; else True.
func (r *Reconciler) acceptUnlessConflict(ctx context.Context, svc *corev1.Service, bg *v1alpha1.BackendGroup) error {
	others, err := index.GroupsOnTargets(ctx, r.Client, targets.Of(bg))
	if err != nil {
		return err
	}
	if conflict := targets.Conflict(bg, others); conflict != "" {
		r.Events.Warning(svc, events.TargetConflict, "Bind",
			"BackendGroup %s binds nothing and new pods get no gate of it: %s", bg.Name, conflict)
		logf.FromContext(ctx).Info("backend group yields a target", "backendGroup", klog.KObj(bg), "conflict", conflict)
		return r.setAccepted(ctx, bg, false, events.TargetConflict, conflict)
	}
	r.Events.Resolved(svc, events.TargetConflict)
	if c := meta.FindStatusCondition(bg.Status.Conditions, v1alpha1.ConditionAccepted); c != nil && c.Status == metav1.ConditionFalse &&
		c.Reason == events.UnsupportedSetting && c.ObservedGeneration == bg.Generation {
		// The BackendGroup controller found that a target does not take
		// the group's settings as they are now (a target that changed
		// since, or a group created so): its verdict stands, and the
		// Service's owners hear of it.
		r.Events.Warning(svc, events.UnsupportedAnnotation, "Bind", "BackendGroup %s: %s", bg.Name, c.Message)
		return nil
	}
	r.Events.Resolved(svc, events.UnsupportedAnnotation)
	return r.setAccepted(ctx, bg, true, "AnnotationsValid", "the Service's lbgate.dev annotations are valid")
}

// unsupported checks the settings spec asks for (health check, slow start)
// against what its targets take, and says which annotations a target
// does not honour, with where to configure them instead ("" when all are
// honoured). A target whose limits cannot be read is not judged here: the
// BackendGroup controller checks every pass.
func (r *Reconciler) unsupported(ctx context.Context, svc *corev1.Service, spec v1alpha1.BackendGroupSpec) string {
	if r.Provider == nil {
		return ""
	}
	ids := targets.Of(&v1alpha1.BackendGroup{Spec: spec})
	caps := map[string]providers.Capabilities{}
	for _, t := range ids {
		l, err := r.Provider.Limits(ctx, t)
		if err != nil {
			logf.FromContext(ctx).V(1).Info("cannot read a target's limits; its settings are checked by the BackendGroup controller", "target", t, "err", err.Error())
			continue
		}
		caps[t] = l.Capabilities
	}
	refusals := capability.Check(spec, ids, caps, capability.Annotations)
	if len(refusals) == 0 {
		return ""
	}
	for i := range refusals {
		if raw, ok := svc.Annotations[refusals[i].Name]; ok {
			refusals[i].Value = raw
		}
	}
	return capability.Message(r.Provider.Name(), refusals)
}

// refuseAnnotations reports annotations a target does not honour, as
// rejectAnnotations does malformed ones: the group's spec is not touched,
// so the last good binding stays in force.
func (r *Reconciler) refuseAnnotations(ctx context.Context, svc *corev1.Service, bg *v1alpha1.BackendGroup, msg string) error {
	msg += "; the last good binding stays in force"
	r.Events.Warning(svc, events.UnsupportedAnnotation, "Bind", "%s", msg)
	logf.FromContext(ctx).Info("annotations ask for settings a target does not take", "problems", msg)
	return r.setAccepted(ctx, bg, false, events.UnsupportedAnnotation, msg)
}

// preStopDelay is the Service's lbgate.dev/prestop-delay as the group
// records it: the parsed duration ("20s"), or "" when absent or invalid.
func preStopDelay(svc *corev1.Service) string {
	d, ok, err := annotations.PreStopDelay(svc.Annotations)
	if !ok || err != nil {
		return ""
	}
	return d.String()
}

// setPreStopDelay records the Service's valid lbgate.dev/prestop-delay on its
// group, where the webhook finds the last good value while the Service's is
// malformed (the spec has no field for it; only the webhook applies it).
func setPreStopDelay(bg *v1alpha1.BackendGroup, svc *corev1.Service) {
	d := preStopDelay(svc)
	if d == "" {
		delete(bg.Annotations, v1alpha1.AnnotationPreStopDelay)
		return
	}
	if bg.Annotations == nil {
		bg.Annotations = map[string]string{}
	}
	bg.Annotations[v1alpha1.AnnotationPreStopDelay] = d
}

// rejectAnnotations reports bad annotations on the Service and, if the group
// exists, on its Accepted condition. The group's spec is not touched: the
// last good binding stays in force.
func (r *Reconciler) rejectAnnotations(ctx context.Context, svc *corev1.Service, err error) error {
	var msgs []string
	for _, e := range annotations.Errors(err) {
		msgs = append(msgs, e.Error())
	}
	if len(msgs) == 0 {
		msgs = []string{err.Error()}
	}
	msg := strings.Join(msgs, "; ")
	r.Events.Warning(svc, events.InvalidAnnotation, "Bind", "%s; the last good binding stays in force", msg)
	logf.FromContext(ctx).Info("invalid annotations", "problems", msgs)
	bg := &v1alpha1.BackendGroup{}
	if err := r.Client.Get(ctx, client.ObjectKeyFromObject(svc), bg); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(bg, svc) {
		return nil
	}
	return r.setAccepted(ctx, bg, false, events.InvalidAnnotation, msg)
}

// removeGroup deletes the BackendGroup the Service owns, if any.
func (r *Reconciler) removeGroup(ctx context.Context, key types.NamespacedName, svc *corev1.Service) error {
	bg := &v1alpha1.BackendGroup{}
	if err := r.Client.Get(ctx, key, bg); err != nil {
		return client.IgnoreNotFound(err)
	}
	owned := bg.Labels[ServiceLabel] == key.Name && hasServiceOwner(bg, key.Name)
	if svc != nil {
		owned = metav1.IsControlledBy(bg, svc)
	}
	if !owned || !bg.DeletionTimestamp.IsZero() {
		return nil
	}
	if err := r.Client.Delete(ctx, bg); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting BackendGroup: %w", err)
	}
	logf.FromContext(ctx).Info("deleted backend group", "backendGroup", klog.KObj(bg))
	if svc != nil {
		r.Events.Normal(svc, events.BackendGroupDeleted, "Delete", "deleted BackendGroup %s: the Service opted out", bg.Name)
	}
	return nil
}

// setAccepted sets the Accepted condition, the one this controller owns.
func (r *Reconciler) setAccepted(ctx context.Context, bg *v1alpha1.BackendGroup, ok bool, reason, msg string) error {
	before := bg.DeepCopy()
	if !conditions.Set(&bg.Status.Conditions, bg.Generation, v1alpha1.ConditionAccepted, ok, reason, msg) {
		return nil
	}
	err := r.Client.Status().Patch(ctx, bg, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	if err != nil {
		return fmt.Errorf("setting condition Accepted: %w", err)
	}
	return nil
}

// SetupWithManager registers the controller: Services with lbgate annotations, and the groups they own.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("service").
		For(&corev1.Service{}, builder.WithPredicates(hasLBGateAnnotations())).
		Watches(&v1alpha1.BackendGroup{}, handler.EnqueueRequestForOwner(mgr.GetScheme(), mgr.GetRESTMapper(), &corev1.Service{}, handler.OnlyControllerOwner())).
		Watches(&v1alpha1.BackendGroup{}, handler.EnqueueRequestsFromMapFunc(r.sharingATarget),
			builder.WithPredicates(targetsChanged())).
		Complete(r)
}

// sharingATarget maps a BackendGroup to the Services whose groups name one of
// its targets, so a group that yields is accepted again once the other goes
// away or moves (an update is mapped from its old and its new object).
func (r *Reconciler) sharingATarget(ctx context.Context, obj client.Object) []reconcile.Request {
	changed, ok := obj.(*v1alpha1.BackendGroup)
	if !ok {
		return nil
	}
	mine := targets.Known(changed)
	if len(mine) == 0 {
		return nil
	}
	sharing, err := index.GroupsOnTargets(ctx, r.Client, mine)
	if err != nil {
		logf.FromContext(ctx).Error(err, "listing BackendGroups to find those sharing a target", "backendGroup", klog.KObj(changed))
		return nil
	}
	var out []reconcile.Request
	for i := range sharing {
		bg := &sharing[i]
		owner := metav1.GetControllerOf(bg)
		if bg.UID == changed.UID || owner == nil || owner.Kind != "Service" {
			continue
		}
		if slices.ContainsFunc(targets.Known(bg), func(t string) bool { return slices.Contains(mine, t) }) {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: bg.Namespace, Name: owner.Name}})
		}
	}
	return out
}

// targetsChanged passes BackendGroup events that can change who keeps a
// target: creation, deletion, the start of deletion, and a change of the
// targets the group names or holds.
func targetsChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			old, okOld := e.ObjectOld.(*v1alpha1.BackendGroup)
			cur, okNew := e.ObjectNew.(*v1alpha1.BackendGroup)
			if !okOld || !okNew {
				return false
			}
			return old.DeletionTimestamp.IsZero() != cur.DeletionTimestamp.IsZero() ||
				!slices.Equal(targets.Known(old), targets.Known(cur)) ||
				!slices.Equal(old.Status.Targets, cur.Status.Targets)
		},
	}
}

// hasLBGateAnnotations passes Services that have, or had, a lbgate.dev/ annotation.
func hasLBGateAnnotations() predicate.Predicate {
	has := func(o client.Object) bool {
		for k := range maps.Keys(o.GetAnnotations()) {
			if strings.HasPrefix(k, v1alpha1.AnnotationPrefix) {
				return true
			}
		}
		return false
	}
	return predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return has(e.Object) },
		UpdateFunc:  func(e event.UpdateEvent) bool { return has(e.ObjectOld) || has(e.ObjectNew) },
		DeleteFunc:  func(e event.DeleteEvent) bool { return has(e.Object) },
		GenericFunc: func(e event.GenericEvent) bool { return has(e.Object) },
	}
}

func hasServiceOwner(bg *v1alpha1.BackendGroup, name string) bool {
	for _, ref := range bg.OwnerReferences {
		if ref.Kind == "Service" && ref.Name == name && ref.Controller != nil && *ref.Controller {
			return true
		}
	}
	return false
}

func bindings(spec v1alpha1.BackendGroupSpec) string {
	parts := make([]string, len(spec.Ports))
	for i, p := range spec.Ports {
		parts[i] = fmt.Sprintf("port %d to %s", p.Port, p.Target)
	}
	return strings.Join(parts, ", ")
}
