package index

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

// newCache is an informer cache like the manager's, never started (so it
// needs no apiserver).
func newCache(t *testing.T) cache.Cache {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	mapper := meta.NewDefaultRESTMapper(nil)
	for _, obj := range []runtime.Object{&v1alpha1.BackendGroup{}, &corev1.Pod{}} {
		gvk, err := apiutil.GVKForObject(obj, scheme)
		if err != nil {
			t.Fatal(err)
		}
		mapper.Add(gvk, meta.RESTScopeNamespace)
	}
	c, err := cache.New(&rest.Config{Host: "http://127.0.0.1:1"}, cache.Options{Scheme: scheme, Mapper: mapper})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRegisterTwice: the controllers and the pod webhook both register the
// indexes they read on the manager's one cache, in either order; each index
// is added once, where adding it twice fails.
func TestRegisterTwice(t *testing.T) {
	ctx := context.Background()
	all := []string{GroupTargets, PodGates, PodLabels}
	for _, tt := range []struct {
		name  string
		calls []func(context.Context, cache.Cache) error
		want  []string
	}{
		{"controllers, then webhook", []func(context.Context, cache.Cache) error{Register, RegisterGroupTargets}, all},
		{"webhook, then controllers", []func(context.Context, cache.Cache) error{RegisterGroupTargets, Register}, all},
		{"webhook alone", []func(context.Context, cache.Cache) error{RegisterGroupTargets}, []string{GroupTargets}},
		{"twice the same", []func(context.Context, cache.Cache) error{Register, Register}, all},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t)
			for i, register := range tt.calls {
				if err := register(ctx, c); err != nil {
					t.Fatalf("registration %d: %v", i+1, err)
				}
			}
			for _, f := range Fields() {
				has, err := hasIndex(ctx, c, f)
				if err != nil {
					t.Fatal(err)
				}
				if want := slices.Contains(tt.want, f.Name); has != want {
					t.Errorf("index %s: present %v, want %v", f.Name, has, want)
				}
			}
		})
	}
	// What the check guards against: the same index twice fails.
	c := newCache(t)
	if err := RegisterGroupTargets(ctx, c); err != nil {
		t.Fatal(err)
	}
	f := Fields()[0]
	if err := c.IndexField(ctx, f.Object, f.Name, f.Extract); err == nil {
		t.Fatalf("adding %s a second time succeeded", f.Name)
	}
}
