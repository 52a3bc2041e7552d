package webhookcfg

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/annotations"
	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/webhook"
)

// CachedGroups is the webhook.GroupLister behind the pod webhook: it reads
// BackendGroups and their Services from the manager's informer cache, so an
// admission request makes no API round trip.
type CachedGroups struct {
	// Reader must be cache-backed (the manager's client).
	Reader client.Reader
}

var _ webhook.GroupLister = CachedGroups{}

// GroupsFor returns the BackendGroups of namespace that are not being
// deleted, each with its Service's selector and prestop delay. A group whose
// Service is gone selects nothing and is left out; an invalid prestop delay
// counts as none (the Service controller reports it).
func (g CachedGroups) GroupsFor(ctx context.Context, namespace string) ([]webhook.Group, error) {
	list := &v1alpha1.BackendGroupList{}
	if err := g.Reader.List(ctx, list, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("listing BackendGroups: %w", err)
	}
	groups := make([]webhook.Group, 0, len(list.Items))
	for i := range list.Items {
		bg := &list.Items[i]
		if bg.DeletionTimestamp != nil {
			continue
		}
		if len(validation.IsQualifiedName(v1alpha1.GateConditionType(bg.Name))) > 0 {
			continue // a gate the apiserver would reject would block the pod's creation
		}
		svc := &corev1.Service{}
		if err := g.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: bg.Spec.ServiceName}, svc); err != nil {
			if client.IgnoreNotFound(err) == nil {
				continue
			}
			return nil, fmt.Errorf("reading Service %s of BackendGroup %s: %w", bg.Spec.ServiceName, bg.Name, err)
		}
		delay, _, _ := annotations.PreStopDelay(svc.Annotations)
		groups = append(groups, webhook.Group{Name: bg.Name, Selector: svc.Spec.Selector, PreStopDelay: delay})
	}
	return groups, nil
}
