// Package controllers wires lbgate's controllers into a manager. Each
// controller lives in its own folder: service/ turns annotated Services into
// BackendGroups, backendgroup/ binds pods to the load balancer and flips
// their gates.
package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/controllers/backendgroup"
	"github.com/lbgate/lbgate/controllers/internal/events"
	"github.com/lbgate/lbgate/controllers/internal/index"
	"github.com/lbgate/lbgate/controllers/service"
	"github.com/lbgate/lbgate/providers"
)

// EventSource is the reporting controller name on lbgate's events.
const EventSource = "lbgate"

// Config is what the controllers need from the binary.
type Config struct {
	Provider     providers.Provider
	BackendGroup backendgroup.Options
}

// NewScheme returns a scheme with the Kubernetes types and lbgate's API.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// CacheOptions trims cached pods to the fields lbgate reads, so the cache of
// a large cluster stays small. Nothing updates a cached pod (gates are written
// by patch), so the trimmed copy is never written back.
func CacheOptions() ctrlcache.Options {
	return ctrlcache.Options{
		ByObject: map[client.Object]ctrlcache.ByObject{
			&corev1.Pod{}: {Transform: TrimPod},
		},
		DefaultTransform: ctrlcache.TransformStripManagedFields(),
	}
}

// TrimPod keeps what the controllers read: labels, owner-free metadata, ports, gates, IPs and conditions.
func TrimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	trimmed := &corev1.Pod{
		TypeMeta:   pod.TypeMeta,
		ObjectMeta: metaOf(pod),
		Spec: corev1.PodSpec{
			NodeName:       pod.Spec.NodeName,
			HostNetwork:    pod.Spec.HostNetwork,
			ReadinessGates: pod.Spec.ReadinessGates,
		},
		Status: corev1.PodStatus{
			Phase:      pod.Status.Phase,
			Conditions: pod.Status.Conditions,
			PodIP:      pod.Status.PodIP,
			PodIPs:     pod.Status.PodIPs,
		},
	}
	trimmed.Spec.Containers = trimContainers(pod.Spec.Containers)
	trimmed.Spec.InitContainers = trimContainers(pod.Spec.InitContainers)
	return trimmed, nil
}

func metaOf(pod *corev1.Pod) (m metav1.ObjectMeta) {
	m = pod.ObjectMeta
	m.ManagedFields = nil
	m.Annotations = nil
	m.OwnerReferences = nil
	return m
}

func trimContainers(cs []corev1.Container) []corev1.Container {
	if len(cs) == 0 {
		return nil
	}
	out := make([]corev1.Container, len(cs))
	for i, c := range cs {
		out[i] = corev1.Container{Name: c.Name, Ports: c.Ports, RestartPolicy: c.RestartPolicy}
	}
	return out
}

// Setup registers every controller with the manager, and the cache
// indexes they look objects up by (controllers/internal/index).
func Setup(ctx context.Context, mgr ctrl.Manager, cfg Config) error {
	if err := index.Register(ctx, mgr.GetCache()); err != nil {
		return err
	}
	selectors := index.NewSelectors()
	if err := selectors.Watch(ctx, mgr.GetCache()); err != nil {
		return err
	}
	rec := events.NewRecorder(mgr.GetEventRecorder(EventSource))
	if err := (&service.Reconciler{Client: mgr.GetClient(), Events: rec, Provider: cfg.Provider}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the Service controller: %w", err)
	}
	bg := &backendgroup.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Provider: cfg.Provider, Events: rec, Options: cfg.BackendGroup,
		Selectors: selectors}
	if err := bg.SetupWithManager(ctx, mgr); err != nil {
		return fmt.Errorf("setting up the BackendGroup controller: %w", err)
	}
	return nil
}
