package webhook

import (
	"context"
	"time"
)

// Group is what the webhook needs to know of one BackendGroup.
type Group struct {
	// Name is the BackendGroup's name; the gate is backend.lbgate.dev/<Name>.
	Name string
	// Selector is the spec.selector of the group's Service. Like a Service's,
	// a nil or empty selector selects no pod.
	Selector map[string]string
	// PreStopDelay is the lbgate.dev/prestop-delay of the group's Service
	// when it sets one; 0 means the Service turns the preStop sleep off.
	// Nil means it sets none: then v1alpha1.DefaultPreStopDelay applies,
	// unless another group that selects the pod sets one (see Mutate).
	PreStopDelay *time.Duration
}

// Selects reports whether the group's selector picks a pod with these labels.
func (g Group) Selects(podLabels map[string]string) bool {
	return selects(g.Selector, podLabels)
}

// selects is Service selector semantics: every pair present, empty matches nothing.
func selects(selector, podLabels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if got, ok := podLabels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// GroupLister finds the groups whose gate a new pod of a namespace gets: the
// groups of the opted-in Services (whether or not the BackendGroup is made
// yet) and the hand-made BackendGroups, each with its Service's selector and
// prestop delay, leaving out groups that yield a target to another group.
// podLabels are the labels of the pod being admitted, for an implementation
// that reads more when no Service it knows selects the pod. The operator
// implements it from its informer cache, with a live read of the namespace's
// Services when its cache may be behind (controllers/webhookcfg.CachedGroups).
// It must be fast and safe for concurrent use.
type GroupLister interface {
	GroupsFor(ctx context.Context, namespace string, podLabels map[string]string) ([]Group, error)
}

// GroupListerFunc adapts a function to GroupLister.
type GroupListerFunc func(ctx context.Context, namespace string, podLabels map[string]string) ([]Group, error)

// GroupsFor calls f.
func (f GroupListerFunc) GroupsFor(ctx context.Context, namespace string, podLabels map[string]string) ([]Group, error) {
	return f(ctx, namespace, podLabels)
}
