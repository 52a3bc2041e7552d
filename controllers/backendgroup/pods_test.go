package backendgroup

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/controllers/internal/index"
)

// gatedPod is a pod of namespace shop with labels and the gate of group web.
func gatedPod(name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID("uid-" + name), Labels: labels},
		Spec:       corev1.PodSpec{ReadinessGates: []corev1.PodReadinessGate{{ConditionType: corev1.PodConditionType(v1alpha1.GateConditionType("web"))}}},
	}
}

// The pods a reconcile works with are read in more than one list (the
// selected ones, the gated ones). A pod created between two of those lists
// is in the second only; it must not be taken for a pod the Service no
// longer selects, whose gate is released True for good (seen in the
// envtest suite while 50 pods were created: "True/NotSelected").
func TestPodsCreatedBetweenTheListsAreNotReleased(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme() // not client-go's global one: this test adds to it
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	bg := &v1alpha1.BackendGroup{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: v1alpha1.BackendGroupSpec{ServiceName: "web"}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}}
	early := gatedPod("web-1", map[string]string{"app": "web"})
	late := gatedPod("web-2", map[string]string{"app": "web"})
	moved := gatedPod("old-1", map[string]string{"app": "old"})
	lists := 0
	b := fake.NewClientBuilder().WithScheme(scheme).WithObjects(bg, svc, early, moved)
	for _, f := range index.Fields() {
		b = b.WithIndex(f.Object, f.Name, f.Extract)
	}
	c := b.WithInterceptorFuncs(interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
		err := c.List(ctx, list, opts...)
		if lists++; lists == 1 {
			// The pod is created right after the first list.
			if err := c.Create(ctx, late.DeepCopy()); err != nil {
				t.Fatal(err)
			}
		}
		return err
	}}).Build()
	r := &Reconciler{Client: c}
	got, err := r.pods(ctx, bg)
	if err != nil {
		t.Fatal(err)
	}
	others := map[string]bool{}
	for _, p := range got.others {
		others[p.Name] = true
	}
	if others["web-2"] || others["web-1"] {
		t.Errorf("a pod the Service selects is among the pods to release: %v", others)
	}
	if !others["old-1"] {
		t.Errorf("the pod the Service no longer selects is not among the pods to release: %v", others)
	}
}
