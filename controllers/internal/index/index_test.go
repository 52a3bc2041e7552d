package index

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

func svc(ns, name string, sel map[string]string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{Selector: sel}}
}

func group(ns, name, service string) *v1alpha1.BackendGroup {
	return &v1alpha1.BackendGroup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: v1alpha1.BackendGroupSpec{ServiceName: service}}
}

func TestSelectors(t *testing.T) {
	s := NewSelectors()
	s.setService(svc("a", "web", map[string]string{"app": "web"}))
	s.setService(svc("a", "none", nil))
	s.setService(svc("b", "web", map[string]string{"app": "web"}))
	s.setGroup(group("a", "web", "web"))
	s.setGroup(group("a", "by-hand", "web"))
	s.setGroup(group("a", "empty", "none"))
	s.setGroup(group("a", "lost", "missing"))

	web := map[string]string{"app": "web", "pod-template-hash": "x"}
	steps := []struct {
		name   string
		change func()
		ns     string
		labels map[string]string
		want   []string
	}{
		{"both groups naming the Service", nil, "a", web, []string{"by-hand", "web"}},
		{"another namespace has no group", nil, "b", web, nil},
		{"labels no Service selects", nil, "a", map[string]string{"app": "api"}, nil},
		{"no labels", nil, "a", nil, nil},
		{"the Service's selector changes", func() { s.setService(svc("a", "web", map[string]string{"app": "web", "tier": "front"})) }, "a", web, nil},
		{"and back", func() { s.setService(svc("a", "web", map[string]string{"app": "web"})) }, "a", web, []string{"by-hand", "web"}},
		{"a group is deleted", func() { s.unsetGroup(group("a", "by-hand", "web")) }, "a", web, []string{"web"}},
		{"the Service is deleted (tombstone)", func() {
			s.unsetService(toolscache.DeletedFinalStateUnknown{Obj: svc("a", "web", nil)}.Obj)
		}, "a", web, nil},
		{"the missing Service comes", func() { s.setService(svc("a", "missing", map[string]string{"app": "web"})) }, "a", web, []string{"lost"}},
	}
	for _, st := range steps {
		if st.change != nil {
			st.change()
		}
		if got := s.GroupsSelecting(st.ns, st.labels); !slices.Equal(got, st.want) {
			t.Errorf("%s: got %v, want %v", st.name, got, st.want)
		}
	}
}

func TestIndexFunctions(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}}
	pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "backend.lbgate.dev/web"}, {ConditionType: "example.com/other"}}
	if got := gatesOf(pod); !slices.Equal(got, []string{"backend.lbgate.dev/web"}) {
		t.Errorf("gatesOf = %v", got)
	}
	if got := labelsOf(pod); !slices.Equal(got, []string{"app=web"}) {
		t.Errorf("labelsOf = %v", got)
	}
	if opts := SelectedPods("a", nil); opts != nil {
		t.Errorf("an empty selector lists pods: %v", opts)
	}
}
