package webhookcfg

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/controllers"
	"github.com/lbgate/lbgate/webhook"
)

var (
	t0  = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	now = t0.Add(time.Hour)
)

// svcOpt and bgOpt change a test Service or BackendGroup.
type (
	svcOpt func(*corev1.Service)
	bgOpt  func(*v1alpha1.BackendGroup)
)

// svc is a Service of namespace shop selecting app=<name>, opted in on
// target be-<name>, with UID svc-<name>.
func svc(name string, opts ...svcOpt) corev1.Service {
	s := corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID("svc-" + name), Annotations: map[string]string{
			v1alpha1.AnnotationDirectAccess: "true",
			v1alpha1.AnnotationLoadBalancer: "be-" + name,
		}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{Port: 80}}},
	}
	for _, o := range opts {
		o(&s)
	}
	return s
}

func ann(k, v string) svcOpt { return func(s *corev1.Service) { s.Annotations[k] = v } }
func noAnn(k string) svcOpt  { return func(s *corev1.Service) { delete(s.Annotations, k) } }

// owned is the group the Service controller made for svc(name), on target
// be-<name>, created at t0 and holding its target.
func owned(name string, opts ...bgOpt) v1alpha1.BackendGroup {
	bg := handMade(name, name, "be-"+name)
	bg.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: name, UID: types.UID("svc-" + name), Controller: ptr.To(true)}}
	for _, o := range opts {
		o(&bg)
	}
	return bg
}

// handMade is a group of namespace shop named name for Service service on target.
func handMade(name, service, target string, opts ...bgOpt) v1alpha1.BackendGroup {
	bg := v1alpha1.BackendGroup{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID("bg-" + name), CreationTimestamp: metav1.NewTime(t0)},
		Spec:       v1alpha1.BackendGroupSpec{ServiceName: service, Ports: []v1alpha1.PortBinding{{Port: 80, Target: target}}},
		Status:     v1alpha1.BackendGroupStatus{Targets: []string{target}},
	}
	for _, o := range opts {
		o(&bg)
	}
	return bg
}

func accepted(status metav1.ConditionStatus, reason string) bgOpt {
	return func(bg *v1alpha1.BackendGroup) {
		bg.Status.Conditions = append(bg.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionAccepted, Status: status, Reason: reason})
	}
}

func inNamespace(ns string) bgOpt          { return func(bg *v1alpha1.BackendGroup) { bg.Namespace = ns } }
func notHolding(bg *v1alpha1.BackendGroup) { bg.Status.Targets = nil }
func deleting(bg *v1alpha1.BackendGroup) {
	bg.DeletionTimestamp = ptr.To(metav1.NewTime(now))
	bg.Finalizers = []string{v1alpha1.FinalizerName}
}
func createdAt(t time.Time) bgOpt {
	return func(bg *v1alpha1.BackendGroup) { bg.CreationTimestamp = metav1.NewTime(t) }
}
func bgAnn(k, v string) bgOpt {
	return func(bg *v1alpha1.BackendGroup) { bg.Annotations = map[string]string{k: v} }
}
func ownedBy(uid string) bgOpt {
	return func(bg *v1alpha1.BackendGroup) { bg.OwnerReferences[0].UID = types.UID(uid) }
}

// withPreStop is g whose Service sets lbgate.dev/prestop-delay to d.
func withPreStop(g webhook.Group, d time.Duration) webhook.Group {
	g.PreStopDelay = &d
	return g
}

func gate(name, app string) webhook.Group {
	return webhook.Group{Name: name, Selector: map[string]string{"app": app}}
}

// admissionCase is one case of admissionGroups: the Services of namespace
// shop, the groups of the cluster, and the groups whose gate a new pod gets.
type admissionCase struct {
	name     string
	services []corev1.Service
	groups   []v1alpha1.BackendGroup
	want     []webhook.Group
}

func TestAdmissionGroups(t *testing.T) {
	for _, tt := range admissionCases() {
		t.Run(tt.name, func(t *testing.T) {
			got := admissionGroups("shop", tt.services, tt.groups, now)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("admissionGroups =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func admissionCases() []admissionCase {
	return []admissionCase{
		// Issue 8, item 2: a Service's gate is known before its group exists.
		{name: "opted-in Service whose group is not made yet", services: []corev1.Service{svc("web")},
			want: []webhook.Group{gate("web", "web")}},
		{name: "opted-in Service with its group", services: []corev1.Service{svc("web")}, groups: []v1alpha1.BackendGroup{owned("web")},
			want: []webhook.Group{gate("web", "web")}},
		{name: "Service not opted in", services: []corev1.Service{svc("web", noAnn(v1alpha1.AnnotationDirectAccess))}},
		{name: "Service opted out: its group is about to go", services: []corev1.Service{svc("web", ann(v1alpha1.AnnotationDirectAccess, "false"))},
			groups: []v1alpha1.BackendGroup{owned("web")}},
		{name: "no group yet and annotations invalid: none will be made", services: []corev1.Service{svc("web", ann(v1alpha1.AnnotationWeight, "heavy"))}},
		{name: "no group yet and direct-access malformed", services: []corev1.Service{svc("web", ann(v1alpha1.AnnotationDirectAccess, "yes"))}},
		{name: "group in force while direct-access is malformed", services: []corev1.Service{svc("web", ann(v1alpha1.AnnotationDirectAccess, "yes"))},
			groups: []v1alpha1.BackendGroup{owned("web", accepted(metav1.ConditionFalse, "InvalidAnnotation"))}, want: []webhook.Group{gate("web", "web")}},
		{name: "InvalidAnnotation keeps the last good binding: still gates", services: []corev1.Service{svc("web", ann(v1alpha1.AnnotationWeight, "heavy"))},
			groups: []v1alpha1.BackendGroup{owned("web", accepted(metav1.ConditionFalse, "InvalidAnnotation"))}, want: []webhook.Group{gate("web", "web")}},
		{name: "group being deleted", services: []corev1.Service{svc("web")}, groups: []v1alpha1.BackendGroup{owned("web", deleting)}},
		{name: "group of an earlier Service of that name: the new one is predicted",
			services: []corev1.Service{svc("web")}, groups: []v1alpha1.BackendGroup{owned("web", ownedBy("svc-web-before"))},
			want: []webhook.Group{gate("web", "web")}},

		// Issue 8, item 3: no gate of a group that yields a target.
		{name: "group not Accepted for TargetConflict", services: []corev1.Service{svc("web")},
			groups: []v1alpha1.BackendGroup{owned("web", notHolding, accepted(metav1.ConditionFalse, "TargetConflict"))}},
		{name: "group that yields while its condition lags", services: []corev1.Service{svc("api", ann(v1alpha1.AnnotationLoadBalancer, "be-web"))},
			groups: []v1alpha1.BackendGroup{owned("web"), owned("api", notHolding, createdAt(now), accepted(metav1.ConditionTrue, "AnnotationsValid"),
				func(bg *v1alpha1.BackendGroup) { bg.Spec.Ports[0].Target = "be-web" })},
			want: nil},
		{name: "the group that keeps the target still gates", services: []corev1.Service{svc("web")},
			groups: []v1alpha1.BackendGroup{owned("web"), owned("api", notHolding, createdAt(now), func(bg *v1alpha1.BackendGroup) { bg.Spec.Ports[0].Target = "be-web" })},
			want:   []webhook.Group{gate("web", "web")}},
		{name: "no group yet, and its target is bound by another group (in another namespace)",
			services: []corev1.Service{svc("api", ann(v1alpha1.AnnotationLoadBalancer, "be-web"))},
			groups:   []v1alpha1.BackendGroup{owned("web", inNamespace("other"))}},
		{name: "no group yet, the other group on its target is being deleted",
			services: []corev1.Service{svc("api", ann(v1alpha1.AnnotationLoadBalancer, "be-web"))},
			groups:   []v1alpha1.BackendGroup{owned("web", inNamespace("other"), deleting)}, want: []webhook.Group{gate("api", "api")}},

		// Hand-made groups work as before.
		{name: "hand-made group of a Service that is not opted in", services: []corev1.Service{svc("web", noAnn(v1alpha1.AnnotationDirectAccess))},
			groups: []v1alpha1.BackendGroup{handMade("manual", "web", "be-manual")}, want: []webhook.Group{gate("manual", "web")}},
		{name: "hand-made group without its Service", groups: []v1alpha1.BackendGroup{handMade("manual", "web", "be-manual")}},
		{name: "hand-made group being deleted", services: []corev1.Service{svc("web")},
			groups: []v1alpha1.BackendGroup{handMade("manual", "web", "be-manual", deleting)}, want: []webhook.Group{gate("web", "web")}},
		{name: "hand-made group that yields", services: []corev1.Service{svc("web")},
			groups: []v1alpha1.BackendGroup{owned("web"), handMade("manual", "web", "be-web", notHolding, createdAt(now))}, want: []webhook.Group{gate("web", "web")}},
		{name: "hand-made group with the Service's name takes its place", services: []corev1.Service{svc("web"), svc("api")},
			groups: []v1alpha1.BackendGroup{handMade("web", "api", "be-manual")}, want: []webhook.Group{gate("api", "api"), gate("web", "api")}},
		{name: "a group of another namespace gates nothing here", services: []corev1.Service{svc("web", noAnn(v1alpha1.AnnotationDirectAccess))},
			groups: []v1alpha1.BackendGroup{handMade("manual", "web", "be-manual", inNamespace("other"))}},

		// Issue 8, item 7: the last good prestop-delay stays in force.
		{name: "prestop-delay of the Service", services: []corev1.Service{svc("web", ann(v1alpha1.AnnotationPreStopDelay, "20s"))},
			want: []webhook.Group{withPreStop(gate("web", "web"), 20*time.Second)}},
		{name: "malformed prestop-delay: the one the group recorded",
			services: []corev1.Service{svc("web", ann(v1alpha1.AnnotationPreStopDelay, "soon"))},
			groups:   []v1alpha1.BackendGroup{owned("web", bgAnn(v1alpha1.AnnotationPreStopDelay, "20s"), accepted(metav1.ConditionFalse, "InvalidAnnotation"))},
			want:     []webhook.Group{withPreStop(gate("web", "web"), 20*time.Second)}},
		// Issue 10, item 7: no value (nil) lets the webhook's default apply; "0" turns it off.
		{name: "malformed prestop-delay and nothing recorded: the default", services: []corev1.Service{svc("web", ann(v1alpha1.AnnotationPreStopDelay, "soon"))},
			groups: []v1alpha1.BackendGroup{owned("web")}, want: []webhook.Group{gate("web", "web")}},
		{name: "no prestop-delay: the default", services: []corev1.Service{svc("web")},
			groups: []v1alpha1.BackendGroup{owned("web", bgAnn(v1alpha1.AnnotationPreStopDelay, "20s"))}, want: []webhook.Group{gate("web", "web")}},
		{name: "prestop-delay 0 of the Service", services: []corev1.Service{svc("web", ann(v1alpha1.AnnotationPreStopDelay, "0"))},
			want: []webhook.Group{withPreStop(gate("web", "web"), 0)}},
		{name: "prestop-delay 0 of the group in force", services: []corev1.Service{svc("web", ann(v1alpha1.AnnotationPreStopDelay, "0s"))},
			groups: []v1alpha1.BackendGroup{owned("web", bgAnn(v1alpha1.AnnotationPreStopDelay, "0s"))}, want: []webhook.Group{withPreStop(gate("web", "web"), 0)}},
		{name: "malformed prestop-delay: the 0 the group recorded",
			services: []corev1.Service{svc("web", ann(v1alpha1.AnnotationPreStopDelay, "soon"))},
			groups:   []v1alpha1.BackendGroup{owned("web", bgAnn(v1alpha1.AnnotationPreStopDelay, "0s"), accepted(metav1.ConditionFalse, "InvalidAnnotation"))},
			want:     []webhook.Group{withPreStop(gate("web", "web"), 0)}},
		{name: "hand-made group: its Service's prestop-delay 0", services: []corev1.Service{svc("web", noAnn(v1alpha1.AnnotationDirectAccess), ann(v1alpha1.AnnotationPreStopDelay, "0"))},
			groups: []v1alpha1.BackendGroup{handMade("manual", "web", "be-manual")}, want: []webhook.Group{withPreStop(gate("manual", "web"), 0)}},
		{name: "hand-made group: its Service sets nothing", services: []corev1.Service{svc("web", noAnn(v1alpha1.AnnotationDirectAccess))},
			groups: []v1alpha1.BackendGroup{handMade("manual", "web", "be-manual")}, want: []webhook.Group{gate("manual", "web")}},
	}
}

// countingReader counts List calls on a reader.
type countingReader struct {
	client.Reader
	lists int
}

func (c *countingReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	c.lists++
	return c.Reader.List(ctx, list, opts...)
}

// TestGroupsForLiveRead: the cache is read first; the namespace's Services
// are read live only when no cached Service selects the pod, which is how a
// pod whose Service the cache has not seen yet looks.
func TestGroupsForLiveRead(t *testing.T) {
	old, web := svc("old"), svc("web")
	scheme := controllers.NewScheme()
	cache, _ := indexedCache(t, old.DeepCopy()) // lags: no "web" yet
	tests := []struct {
		name      string
		labels    map[string]string
		liveErr   bool
		wantGates []string
		wantLive  int
	}{
		{name: "pod of a Service the cache knows: no live read", labels: map[string]string{"app": "old"}, wantGates: []string{"old"}},
		{name: "pod of a Service the cache lacks: read live", labels: map[string]string{"app": "web"}, wantGates: []string{"web"}, wantLive: 1},
		{name: "pod no Service selects: read live, nothing found", labels: map[string]string{"app": "batch"}, wantLive: 1},
		{name: "pod without labels: no Service can select it", labels: nil},
		{name: "live read fails: decided from the cache", labels: map[string]string{"app": "web"}, liveErr: true, wantLive: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := fake.NewClientBuilder().WithScheme(scheme).WithObjects(old.DeepCopy(), web.DeepCopy())
			if tt.liveErr {
				b = b.WithInterceptorFuncs(interceptor.Funcs{List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
					return errors.New("apiserver unavailable")
				}})
			}
			live := &countingReader{Reader: b.Build()}
			g := CachedGroups{Reader: cache, Live: live, now: func() time.Time { return now }}
			groups, err := g.GroupsFor(context.Background(), "shop", tt.labels)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, gr := range groups {
				if gr.Selects(tt.labels) {
					got = append(got, gr.Name)
				}
			}
			if !reflect.DeepEqual(got, tt.wantGates) || live.lists != tt.wantLive {
				t.Errorf("gates %v with %d live reads, want %v with %d", got, live.lists, tt.wantGates, tt.wantLive)
			}
		})
	}
}
