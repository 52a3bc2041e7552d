package webhookcfg

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lbgate/lbgate/api/annotations"
	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/controllers/internal/events"
	"github.com/lbgate/lbgate/controllers/internal/index"
	"github.com/lbgate/lbgate/controllers/internal/targets"
	"github.com/lbgate/lbgate/webhook"
)

// DefaultLiveReadTimeout bounds the live read of a namespace's Services at
// admission; past it the webhook answers from its cache.
const DefaultLiveReadTimeout = time.Second

// CachedGroups is the webhook.GroupLister behind the pod webhook.
//
// The groups a pod may get a gate of are decided from the Services of its
// namespace, not only from the BackendGroups already made: an opted-in
// Service's own group is named after it, so its gate is known as soon as the
// Service exists, before the Service controller has made the group. That is
// what gates the pods of a Service and a Deployment applied together (one
// manifest, Helm, Argo CD), whose first pods are created before the group.
//
// Everything is read from the informer cache, except in one case: when no
// Service of the cache selects the pod, the namespace's Services are read
// live (Live, the manager's APIReader) and the decision is made on those. The
// rule, and why it is sound and cheap:
//
//   - The cache can lag the apiserver by an unknown time, and nothing in an
//     admission request says how far; a Service created just before the pod
//     may be missing from it. A pod whose Service is missing looks, in the
//     cache, like a pod that no Service selects: that is the only case in
//     which the live read can find a gate the cache does not give.
//   - A consistent LIST is not free: the apiserver serves it from its watch
//     cache once that has caught up with etcd, which on a quiet apiserver
//     takes up to ~100 ms (it waits for etcd's progress notification). So it
//     is done only in that case: pods behind a Service the cache knows (every
//     rollout of an existing app) are answered from memory; pods that no
//     Service selects (jobs, workers) and pods of a brand-new Service pay one
//     LIST, bounded by LiveReadTimeout, after which (or on any error) the
//     cached Services are used.
//   - What it does not cover: a pod that a cached Service selects, admitted
//     while a second Service selecting it is created or opted in within the
//     cache's lag. That pod keeps the gate of the first group (it is not Ready
//     before that load balancer checked it); the second group counts it as a
//     pod without its gate and warns, as for a pod created before opt-in.
//
// BackendGroups (hand-made ones, the Accepted condition and the target
// conflict check) always come from the cache: a group the cache does not have
// yet is predicted from its Service's annotations. An admission reads only
// the groups its namespace concerns, however many the cluster has (issue 11,
// item 1): the namespace's groups (one list by namespace) and, for the target
// conflict checks, the groups of any namespace on the targets that those
// groups name or that the opted-in Services' groups would name (one
// index.GroupTargets lookup per target, see checkedTargets). The Services
// behind those targets are the ones the decision is made on: the live ones
// when they were read.
type CachedGroups struct {
	// Reader must be cache-backed (the manager's client), with the
	// index.GroupTargets index (Setup adds it).
	Reader client.Reader
	// Live reads Services past the cache (the manager's APIReader); nil
	// means cache only.
	Live client.Reader
	// LiveReadTimeout bounds the live read; 0 means DefaultLiveReadTimeout.
	LiveReadTimeout time.Duration
	// now is time.Now; tests may set it.
	now func() time.Time
}

var _ webhook.GroupLister = CachedGroups{}

// GroupsFor returns the groups whose gate a new pod of namespace gets when
// their selector picks it (see admissionGroups).
func (g CachedGroups) GroupsFor(ctx context.Context, namespace string, podLabels map[string]string) ([]webhook.Group, error) {
	services := &corev1.ServiceList{}
	// Read only: the cached objects are not copied.
	if err := g.Reader.List(ctx, services, client.InNamespace(namespace), client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing Services: %w", err)
	}
	inNS := &v1alpha1.BackendGroupList{}
	if err := g.Reader.List(ctx, inNS, client.InNamespace(namespace), client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing BackendGroups: %w", err)
	}
	now := time.Now
	if g.now != nil {
		now = g.now
	}
	items := services.Items
	if g.Live != nil && mayMissAService(items, podLabels) {
		if live, ok := g.liveServices(ctx, namespace); ok {
			items = live
		}
	}
	// The conflict checks (yields, predictedGroup) compare a group only with
	// the groups that name or hold one of the targets its spec names
	// (targets.Conflict skips every other group), so the namespace's groups
	// and the groups on those targets decide exactly as every group of the
	// cluster would.
	onTargets, err := index.GroupsOnTargets(ctx, g.Reader, checkedTargets(items, inNS.Items))
	if err != nil {
		return nil, err
	}
	all := inNS.Items
	for _, bg := range onTargets {
		if bg.Namespace != namespace { // the namespace's own come from its list
			all = append(all, bg)
		}
	}
	return admissionGroups(namespace, items, all, now()), nil
}

// checkedTargets lists, once each, the targets the conflict checks of
// admissionGroups look up: those the spec of each of the namespace's groups
// names (yields), and those the group each opted-in Service would get names
// (predictedGroup; a Service whose annotations do not parse gets no group).
// It may list more than the checks look up (the Services whose group is in
// force are checked through that group): the groups on those change nothing.
// Only spec targets: targets.Conflict compares what the checked group names
// with what the others name or hold, and the index has the latter.
func checkedTargets(services []corev1.Service, groups []v1alpha1.BackendGroup) []string {
	var out []string
	seen := map[string]bool{}
	add := func(ts []string) {
		for _, t := range ts {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	for i := range groups {
		add(targets.Of(&groups[i]))
	}
	for i := range services {
		if optedIn, _ := annotations.OptedIn(&services[i]); !optedIn {
			continue
		}
		if spec, err := annotations.Parse(&services[i]); err == nil {
			add(targets.Of(&v1alpha1.BackendGroup{Spec: spec}))
		}
	}
	return out
}

// mayMissAService reports whether the cache's view could lack a Service that
// selects the pod: no Service it has selects it (a pod without labels cannot
// be selected by any Service).
func mayMissAService(cached []corev1.Service, podLabels map[string]string) bool {
	if len(podLabels) == 0 {
		return false
	}
	for i := range cached {
		if (webhook.Group{Selector: cached[i].Spec.Selector}).Selects(podLabels) {
			return false
		}
	}
	return true
}

// liveServices lists the namespace's Services from the apiserver; ok is false
// when that failed or took longer than LiveReadTimeout.
func (g CachedGroups) liveServices(ctx context.Context, namespace string) ([]corev1.Service, bool) {
	timeout := g.LiveReadTimeout
	if timeout <= 0 {
		timeout = DefaultLiveReadTimeout
	}
	liveCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	list := &corev1.ServiceList{}
	liveReads.Inc()
	if err := g.Live.List(liveCtx, list, client.InNamespace(namespace)); err != nil {
		liveReadFailures.Inc()
		logf.FromContext(ctx).Info("live read of Services failed; deciding from the cache", "namespace", namespace, "error", err.Error())
		return nil, false
	}
	return list.Items, true
}

// admissionGroups is the pure decision behind GroupsFor: the groups of
// namespace whose gate a new pod gets when their selector picks it, given
// the namespace's Services and the BackendGroups of the cluster: all of the
// namespace's, and of the others at least those on the targets that
// checkedTargets lists (any further group changes nothing).
//
//   - An opted-in Service gates with its own group, named after it, with the
//     Service's selector: the group in force (owned by the Service) or, when
//     the cache has none yet, the one the Service controller is about to
//     make (only if its annotations parse: no group is made otherwise).
//   - A hand-made group (no Service controls it) gates with the selector of
//     the Service its spec names, as long as that Service exists.
//   - A group that yields a target to another group (Accepted=False with
//     reason TargetConflict, or targets.Conflict says so against the cached
//     groups, in case the condition lags) gates nothing: nothing would ever
//     set its gate True. Accepted=False for InvalidAnnotation still gates:
//     the last good binding is in force.
//   - A group being deleted, and an owned group whose Service opted out,
//     gate nothing.
func admissionGroups(namespace string, services []corev1.Service, all []v1alpha1.BackendGroup, now time.Time) []webhook.Group {
	inNS := map[string]*v1alpha1.BackendGroup{}
	for i := range all {
		if all[i].Namespace == namespace {
			inNS[all[i].Name] = &all[i]
		}
	}
	byName := make(map[string]*corev1.Service, len(services))
	var out []webhook.Group
	for i := range services {
		svc := &services[i]
		byName[svc.Name] = svc
		if g, ok := serviceGroup(svc, inNS[svc.Name], all, now); ok {
			out = append(out, g)
		}
	}
	for _, bg := range inNS {
		if serviceController(bg) != nil || !bg.DeletionTimestamp.IsZero() || yields(bg, all) {
			continue // a Service's group is decided above, from the Service
		}
		svc, ok := byName[bg.Spec.ServiceName]
		if !ok || !gateNameValid(bg.Name) {
			continue
		}
		out = append(out, webhook.Group{Name: bg.Name, Selector: svc.Spec.Selector, PreStopDelay: preStopDelay(svc, nil)})
	}
	return out
}

// serviceGroup is the Service's own group as the webhook gates with it, if any.
func serviceGroup(svc *corev1.Service, bg *v1alpha1.BackendGroup, all []v1alpha1.BackendGroup, now time.Time) (webhook.Group, bool) {
	if !gateNameValid(svc.Name) {
		return webhook.Group{}, false
	}
	optedIn, optErr := annotations.OptedIn(svc)
	owner := (*metav1.OwnerReference)(nil)
	if bg != nil {
		owner = serviceController(bg)
	}
	switch {
	case bg != nil && owner != nil && owner.UID == svc.UID:
		// The group in force. A malformed direct-access keeps it (the last
		// good binding); a clear opt-out is about to remove it.
		if !bg.DeletionTimestamp.IsZero() || (!optedIn && optErr == nil) || yields(bg, all) {
			return webhook.Group{}, false
		}
		return webhook.Group{Name: bg.Name, Selector: svc.Spec.Selector, PreStopDelay: preStopDelay(svc, bg)}, true
	case bg != nil && (owner == nil || owner.Name != svc.Name):
		return webhook.Group{}, false // a group of that name belongs to something else (BackendGroupConflict)
	}
	// No group yet, or the group of an earlier Service of this name, which
	// the garbage collector removes: predict the one the controller makes.
	if !optedIn {
		return webhook.Group{}, false
	}
	return predictedGroup(svc, bg, all, now)
}

// predictedGroup is the group the Service controller is about to make for
// the opted-in svc, if its annotations parse and it would not conflict;
// bg is a stale group of that name the new one replaces, or nil.
func predictedGroup(svc *corev1.Service, bg *v1alpha1.BackendGroup, all []v1alpha1.BackendGroup, now time.Time) (webhook.Group, bool) {
	spec, err := annotations.Parse(svc)
	if err != nil {
		return webhook.Group{}, false
	}
	predicted := &v1alpha1.BackendGroup{
		ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: svc.Name, CreationTimestamp: metav1.NewTime(now)},
		Spec:       spec,
	}
	if bg != nil {
		predicted.UID = bg.UID // it takes the stale group's place: no conflict with it
	}
	if targets.Conflict(predicted, all) != "" {
		return webhook.Group{}, false
	}
	return webhook.Group{Name: svc.Name, Selector: svc.Spec.Selector, PreStopDelay: preStopDelay(svc, nil)}, true
}

// yields reports whether bg gives up one of its targets to another group.
func yields(bg *v1alpha1.BackendGroup, all []v1alpha1.BackendGroup) bool {
	if c := meta.FindStatusCondition(bg.Status.Conditions, v1alpha1.ConditionAccepted); c != nil &&
		c.Status == metav1.ConditionFalse && c.Reason == events.TargetConflict {
		return true
	}
	return targets.Conflict(bg, all) != ""
}

// preStopDelay is the Service's lbgate.dev/prestop-delay (0: off), or nil
// when it sets none, so that the webhook's default applies. While it is
// malformed, it is the last good one the Service controller recorded on
// the Service's group bg, or nil when there is none.
func preStopDelay(svc *corev1.Service, bg *v1alpha1.BackendGroup) *time.Duration {
	d, ok, err := annotations.PreStopDelay(svc.Annotations)
	switch {
	case ok:
		return &d
	case err == nil || bg == nil:
		return nil
	}
	if d, ok, _ := annotations.PreStopDelay(bg.Annotations); ok {
		return &d
	}
	return nil
}

// serviceController is the group's controller reference when it is a Service.
func serviceController(bg *v1alpha1.BackendGroup) *metav1.OwnerReference {
	ref := metav1.GetControllerOf(bg)
	if ref == nil || ref.Kind != "Service" || ref.APIVersion != "v1" {
		return nil
	}
	return ref
}

// gateNameValid: a gate the apiserver would reject would block the pod's creation.
func gateNameValid(name string) bool {
	return len(validation.IsQualifiedName(v1alpha1.GateConditionType(name))) == 0
}
