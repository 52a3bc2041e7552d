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

// Register adds the field indexes to the manager's cache; call it once,
// before the controllers that use them start.
func Register(ctx context.Context, indexer client.FieldIndexer) error {
	for _, f := range Fields() {
		if err := indexer.IndexField(ctx, f.Object, f.Name, f.Extract); err != nil {
			return fmt.Errorf("adding the cache index %s: %w", f.Name, err)
		}
	}
	return nil
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
