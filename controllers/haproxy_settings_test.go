package controllers_test

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/controllers"
	"github.com/lbgate/lbgate/controllers/backendgroup"
	"github.com/lbgate/lbgate/e2e/kubelet"
	"github.com/lbgate/lbgate/providers/haproxy"
	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

// TestHAProxyCheckSettingsAndSlowStart drives a real HAProxy through the
// controllers (issue 10, items 3 and 5):
//   - slow start: the pod's slot is added with HAProxy's slowstart, and the
//     pod, once its gate is True, is in HAProxy's "starting" state;
//   - the health check in force (status.healthCheck): the group's values on
//     slots lbgate adds; rise and fall of haproxy.cfg on declared slots;
//   - settings HAProxy does not take per server (the check path) or on
//     declared slots (the interval) are refused with where to set them, and
//     nothing is registered for them.
func TestHAProxyCheckSettingsAndSlowStart(t *testing.T) {
	if haproxytest.Binary() == "" {
		t.Skip("haproxy is not installed: apt-get install -y haproxy")
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	restCfg := startEnvtest(t)
	c, err := client.NewWithWatch(restCfg, client.Options{Scheme: controllers.NewScheme()})
	must(t, err)

	const dynamic, declared, refused = "be_ramp", "be_decl", "be_path"
	// default-server rise 3 fall 4: what the declared slots run with.
	h := haproxytest.Start(t, haproxytest.Config{Backends: []string{dynamic, declared, refused},
		DeclaredSlots: map[string]int{declared: 2}, CheckInterval: 100 * time.Millisecond, Rise: 3, Fall: 4})
	hp, err := haproxy.New(h.RuntimeAPI(), haproxy.Options{})
	must(t, err)
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme: controllers.NewScheme(), Cache: controllers.CacheOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: ptr(true)},
	})
	must(t, err)
	must(t, controllers.Setup(ctx, mgr, controllers.Config{Provider: hp, BackendGroup: backendgroup.Options{
		PendingInterval: 50 * time.Millisecond, ResyncInterval: time.Second,
	}}))
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-mgrDone; err != nil {
			t.Errorf("manager: %v", err)
		}
	})

	const ns = "haproxy-settings"
	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	stub := kubelet.NewStub(c, "node-1")
	go stub.Run(ctx, ns)

	// bind creates an opted-in Service bound to backend and its one gated
	// pod, run at app's address; checks every second, rise 2, fall 2 unless
	// annotations say otherwise.
	bind := func(name, backend string, app *haproxytest.Server, annotations map[string]string) *corev1.Pod {
		t.Helper()
		ann := map[string]string{v1alpha1.AnnotationDirectAccess: "true", v1alpha1.AnnotationLoadBalancer: backend}
		maps.Copy(ann, annotations)
		must(t, c.Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: ann},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": name},
				Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
			},
		}))
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-1", Labels: map[string]string{"app": name}},
			Spec: corev1.PodSpec{
				NodeName:       "node-1",
				ReadinessGates: []corev1.PodReadinessGate{{ConditionType: corev1.PodConditionType(v1alpha1.GateConditionType(name))}},
				Containers: []corev1.Container{{Name: "app", Image: "example/" + name + ":v1",
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(app.Addr.Port())}}}},
			},
		}
		must(t, c.Create(ctx, pod))
		if _, err := stub.RunPodAt(ctx, client.ObjectKeyFromObject(pod), app.Addr.Addr().String(), true); err != nil {
			t.Fatal(err)
		}
		return pod
	}
	groupOf := func(name string) *v1alpha1.BackendGroup {
		bg := &v1alpha1.BackendGroup{}
		must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, bg))
		return bg
	}
	// accepted is read in Eventually: the Service controller may not have
	// made the group yet (a failed read is retried, not fatal).
	accepted := func(name string) string {
		bg := &v1alpha1.BackendGroup{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, bg); err != nil {
			return "reading the group: " + err.Error()
		}
		if cond := meta.FindStatusCondition(bg.Status.Conditions, v1alpha1.ConditionAccepted); cond != nil {
			return string(cond.Status) + "/" + cond.Reason + ": " + cond.Message
		}
		return ""
	}
	gateTrue := func(pod *corev1.Pod, group string) error {
		cur := &corev1.Pod{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(pod), cur); err != nil {
			return err
		}
		for _, cond := range cur.Status.Conditions {
			if string(cond.Type) == v1alpha1.GateConditionType(group) && cond.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("gate of %s not True yet", pod.Name)
	}
	slotOf := func(backend string, app *haproxytest.Server) (haproxy.ServerState, bool) {
		states, err := haproxy.ParseServersState(h.MustCommand("show servers state " + backend))
		must(t, err)
		for _, s := range states {
			if s.AddrPort() == app.Addr {
				return s, true
			}
		}
		return haproxy.ServerState{}, false
	}
	checkEvery := map[string]string{
		v1alpha1.AnnotationHealthCheckInterval: "1s", v1alpha1.AnnotationHealthCheckHealthyThreshold: "2", v1alpha1.AnnotationHealthCheckUnhealthyThreshold: "2",
	}

	// 1. Slow start on a backend whose slots lbgate adds.
	rampApp := haproxytest.StartServer(t, "ramp-1", haproxytest.LoopbackIP(5101))
	withRamp := maps.Clone(checkEvery)
	withRamp[v1alpha1.AnnotationSlowStart] = "1m"
	ramp := bind("ramp", dynamic, rampApp, withRamp)
	haproxytest.Eventually(t, 30*time.Second, func() error { return gateTrue(ramp, "ramp") })
	slot, ok := slotOf(dynamic, rampApp)
	if !ok || slot.Name != "lbgate-1-i1000r2f2s60000" || slot.Op != haproxy.OpStarting {
		t.Errorf("the ramping pod's slot: %+v (%t), want lbgate-1-i1000r2f2s60000 in HAProxy's starting state", slot, ok)
	}
	if hc := groupOf("ramp").Status.HealthCheck; !reflect.DeepEqual(hc, &v1alpha1.HealthCheck{IntervalSeconds: ptr(int32(1)), HealthyThreshold: ptr(int32(2)), UnhealthyThreshold: ptr(int32(2))}) {
		t.Errorf("status.healthCheck of the group on added slots: %+v, want its own interval 1s, rise 2, fall 2", hc)
	}

	// 2. Declared slots: rise and fall come from haproxy.cfg, as HAProxy
	// reports them once a slot runs its checks.
	declApp := haproxytest.StartServer(t, "decl-1", haproxytest.LoopbackIP(5102))
	decl := bind("decl", declared, declApp, nil)
	haproxytest.Eventually(t, 30*time.Second, func() error { return gateTrue(decl, "decl") })
	haproxytest.Eventually(t, 10*time.Second, func() error {
		want := &v1alpha1.HealthCheck{HealthyThreshold: ptr(int32(3)), UnhealthyThreshold: ptr(int32(4))}
		if hc := groupOf("decl").Status.HealthCheck; !reflect.DeepEqual(hc, want) {
			return fmt.Errorf("status.healthCheck %+v, want rise 3 fall 4 from haproxy.cfg and no interval (HAProxy does not report it)", hc)
		}
		return nil
	})

	// ... and a group asking the declared slots for an interval is refused
	// on the Service: its spec keeps the last good binding.
	svc := &corev1.Service{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "decl"}, svc))
	before := svc.DeepCopy()
	svc.Annotations[v1alpha1.AnnotationHealthCheckInterval] = "5s"
	must(t, c.Patch(ctx, svc, client.MergeFrom(before)))
	haproxytest.Eventually(t, 20*time.Second, func() error {
		if got := accepted("decl"); !strings.HasPrefix(got, `False/UnsupportedAnnotation: lbgate.dev/health-check-interval "5s": the haproxy provider cannot apply it on target be_decl: the lbgate- slots of backend be_decl are declared in haproxy.cfg`) ||
			!strings.Contains(got, "`inter` on the server-template line") {
			return fmt.Errorf("Accepted %q", got)
		}
		return nil
	})
	if hc := groupOf("decl").Spec.HealthCheck; hc != nil {
		t.Errorf("the refused interval reached the group's spec: %+v", hc)
	}

	// 3. A check path, which HAProxy sets per backend: the new group is
	// refused and nothing is registered for it.
	pathApp := haproxytest.StartServer(t, "path-1", haproxytest.LoopbackIP(5103))
	withPath := maps.Clone(checkEvery)
	withPath[v1alpha1.AnnotationHealthCheck] = "http:/ready"
	bind("path", refused, pathApp, withPath)
	haproxytest.Eventually(t, 20*time.Second, func() error {
		if got := accepted("path"); !strings.HasPrefix(got, `False/UnsupportedSetting: lbgate.dev/health-check "http:/ready": the haproxy provider cannot apply it on target be_path: HAProxy runs one check per backend`) ||
			!strings.Contains(got, "`option httpchk GET <path>` in backend be_path") {
			return fmt.Errorf("Accepted %q", got)
		}
		return nil
	})
	gomega.NewWithT(t).Consistently(func() bool { _, ok := slotOf(refused, pathApp); return ok }).
		WithTimeout(2*time.Second).WithPolling(100*time.Millisecond).
		Should(gomega.BeFalse(), "a refused group registered its pod")
}
