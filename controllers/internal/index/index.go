// Package index holds the cache indexes the controllers look objects up
// by, so that no reconcile and no event handler scans every group of the
// cluster or every pod of a namespace: BackendGroups by the targets they
// name or hold, pods by the lbgate gates they carry and by their labels,
// and, in memory, each namespace's groups with their Service's selector
// (Selectors). Everything here is derived from the informer caches, so a
// restarted operator rebuilds it from the API.
package index

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/controllers/internal/targets"
)

// Field index names.
const (
	// GroupTargets indexes BackendGroups by every target they name or
	// still hold (targets.Known): the groups two of which could bind one
	// target.
	GroupTargets = "lbgate.knownTargets"
	// PodGates indexes pods by the lbgate readiness gates their spec lists
	// (condition types backend.lbgate.dev/<group>).
	PodGates = "lbgate.gates"
	// PodLabels indexes pods by each of their labels as "key=value", so
	// the pods a Service selects are found without looking at the others.
	PodLabels = "lbgate.labels"
)

// Field is one cache field index: the kind it indexes, its name, and the
// keys of an object.
type Field struct {
	Object  client.Object
	Name    string
	Extract client.IndexerFunc
}

// Fields are the field indexes Register adds (tests give them to a fake
// client).
func Fields() []Field {
	return []Field{
		{&v1alpha1.BackendGroup{}, GroupTargets, func(o client.Object) []string { return targets.Known(o.(*v1alpha1.BackendGroup)) }},
		{&corev1.Pod{}, PodGates, gatesOf},
		{&corev1.Pod{}, PodLabels, labelsOf},
	}
}

// Register adds the field indexes to the manager's cache (mgr.GetCache()),
// before the controllers that use them start. It adds only the ones the
// cache does not have yet, so it may be called more than once on one cache:
// controllers.Setup calls it, and the pod webhook's setup calls
// RegisterGroupTargets, in whichever order and whether or not the other runs.
func Register(ctx context.Context, c cache.Cache) error {
	return register(ctx, c)
}

// RegisterGroupTargets adds GroupTargets to the cache, unless it has it
// already: the one index the pod webhook reads, which can run without the
// controllers (and then needs no pod index, nor a pod informer).
func RegisterGroupTargets(ctx context.Context, c cache.Cache) error {
	return register(ctx, c, GroupTargets)
}

// register adds the Fields named (all when none) that the cache lacks.
func register(ctx context.Context, c cache.Cache, names ...string) error {
	for _, f := range Fields() {
		if len(names) > 0 && !slices.Contains(names, f.Name) {
			continue
		}
		has, err := hasIndex(ctx, c, f)
		if err != nil {
			return fmt.Errorf("adding the cache index %s: %w", f.Name, err)
		}
		if has {
			continue
		}
		if err := c.IndexField(ctx, f.Object, f.Name, f.Extract); err != nil {
			return fmt.Errorf("adding the cache index %s: %w", f.Name, err)
		}
	}
	return nil
}

// hasIndex reports whether the cache's informer of f.Object already has the
// index f.Name. controller-runtime names a field index "field:<name>" in the
// informer's indexer. When the informer does not show its indexer (another
// cache implementation) the answer is false: IndexField then adds the index,
// or fails at setup if it was there already, as it does with the same name
// twice (TestRegisterTwice covers the informer cache the manager uses).
func hasIndex(ctx context.Context, c cache.Cache, f Field) (bool, error) {
	inf, err := c.GetInformer(ctx, f.Object, cache.BlockUntilSynced(false))
	if err != nil {
		return false, err
	}
	shared, ok := inf.(interface{ GetIndexer() toolscache.Indexer })
	if !ok {
		return false, nil
	}
	_, has := shared.GetIndexer().GetIndexers()["field:"+f.Name]
	return has, nil
}

func gatesOf(o client.Object) []string {
	var out []string
	for _, g := range o.(*corev1.Pod).Spec.ReadinessGates {
		if t := string(g.ConditionType); strings.HasPrefix(t, v1alpha1.GateConditionPrefix) {
			out = append(out, t)
		}
	}
	return out
}

func labelsOf(o client.Object) []string {
	out := make([]string, 0, len(o.GetLabels()))
	for k, v := range o.GetLabels() {
		out = append(out, LabelKey(k, v))
	}
	return out
}

// LabelKey is the PodLabels key of one label.
func LabelKey(k, v string) string { return k + "=" + v }

// SelectedPods returns the options that list the pods of a namespace a
// Service selector picks through the PodLabels index: only the pods with
// one of the selector's labels are looked at. An empty selector selects
// nothing (nil).
func SelectedPods(namespace string, selector map[string]string) []client.ListOption {
	if len(selector) == 0 {
		return nil
	}
	keys := make([]string, 0, len(selector))
	for k := range selector {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return []client.ListOption{
		client.InNamespace(namespace),
		client.MatchingFields{PodLabels: LabelKey(keys[0], selector[keys[0]])},
		client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(selector)},
	}
}

// GatedPods returns the options that list the pods of a namespace that
// carry the gate of a group.
func GatedPods(namespace, group string) []client.ListOption {
	return []client.ListOption{client.InNamespace(namespace), client.MatchingFields{PodGates: v1alpha1.GateConditionType(group)}}
}

// GroupsOnTargets returns the BackendGroups of the cluster that name or
// hold any of ts, each once, straight from the cache: read them, never
// change them.
func GroupsOnTargets(ctx context.Context, r client.Reader, ts []string) ([]v1alpha1.BackendGroup, error) {
	var out []v1alpha1.BackendGroup
	seen := map[client.ObjectKey]bool{}
	for _, t := range ts {
		list := &v1alpha1.BackendGroupList{}
		if err := r.List(ctx, list, client.MatchingFields{GroupTargets: t}, client.UnsafeDisableDeepCopy); err != nil {
			return nil, fmt.Errorf("listing the BackendGroups of target %s: %w", t, err)
		}
		for _, bg := range list.Items {
			if key := client.ObjectKeyFromObject(&bg); !seen[key] {
				seen[key] = true
				out = append(out, bg)
			}
		}
	}
	return out, nil
}
