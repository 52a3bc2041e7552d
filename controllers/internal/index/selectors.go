package index

import (
	"context"
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

// Selectors keeps, per namespace, each BackendGroup with the selector of
// the Service it names, fed by the Service and BackendGroup informers: a
// pod event finds the groups whose Service selects the pod in memory,
// without listing groups or reading Services (and copying them) for each
// event. It follows the caches, so it is as current as they are, and a
// restart rebuilds it from them.
type Selectors struct {
	mu sync.RWMutex
	// groups: namespace -> group -> the Service it names.
	groups map[string]map[string]string
	// services: namespace -> Service -> its selector (nil: none).
	services map[string]map[string]map[string]string
}

// NewSelectors returns an empty index; Watch feeds it.
func NewSelectors() *Selectors {
	return &Selectors{groups: map[string]map[string]string{}, services: map[string]map[string]map[string]string{}}
}

// Watch feeds the index from the cache's Service and BackendGroup informers.
func (s *Selectors) Watch(ctx context.Context, c cache.Cache) error {
	for _, w := range []struct {
		obj           client.Object
		set, unset    func(obj any)
		informerOfWho string
	}{
		{&corev1.Service{}, s.setService, s.unsetService, "Services"},
		{&v1alpha1.BackendGroup{}, s.setGroup, s.unsetGroup, "BackendGroups"},
	} {
		inf, err := c.GetInformer(ctx, w.obj)
		if err != nil {
			return fmt.Errorf("watching %s for the selector index: %w", w.informerOfWho, err)
		}
		set, unset := w.set, w.unset
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { set(obj) },
			UpdateFunc: func(_, obj any) { set(obj) },
			DeleteFunc: func(obj any) {
				if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				unset(obj)
			},
		}); err != nil {
			return fmt.Errorf("watching %s for the selector index: %w", w.informerOfWho, err)
		}
	}
	return nil
}

// GroupsSelecting returns the names of the namespace's groups whose Service
// selects a pod with these labels, sorted. As with a Service, a missing or
// empty selector selects nothing.
func (s *Selectors) GroupsSelecting(namespace string, podLabels map[string]string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for group, svc := range s.groups[namespace] {
		if selects(s.services[namespace][svc], podLabels) {
			out = append(out, group)
		}
	}
	slices.Sort(out)
	return out
}

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

func (s *Selectors) setService(obj any) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.services[svc.Namespace]
	if ns == nil {
		ns = map[string]map[string]string{}
		s.services[svc.Namespace] = ns
	}
	ns[svc.Name] = svc.Spec.Selector
}

func (s *Selectors) unsetService(obj any) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.services[svc.Namespace], svc.Name)
	if len(s.services[svc.Namespace]) == 0 {
		delete(s.services, svc.Namespace)
	}
}

func (s *Selectors) setGroup(obj any) {
	bg, ok := obj.(*v1alpha1.BackendGroup)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.groups[bg.Namespace]
	if ns == nil {
		ns = map[string]string{}
		s.groups[bg.Namespace] = ns
	}
	ns[bg.Name] = bg.Spec.ServiceName
}

func (s *Selectors) unsetGroup(obj any) {
	bg, ok := obj.(*v1alpha1.BackendGroup)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.groups[bg.Namespace], bg.Name)
	if len(s.groups[bg.Namespace]) == 0 {
		delete(s.groups, bg.Namespace)
	}
}
