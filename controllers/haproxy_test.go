package controllers_test

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
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
	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/haproxy"
	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

// TestHAProxyEndToEnd drives a real HAProxy through the BackendGroup
// controller on a real kube-apiserver: pod created -> server added -> HAProxy's
// check passes -> gate True -> traffic through the frontend; then HAProxy
// restarts, forgets its runtime servers, and the controller puts them back
// without flipping the gate.
func TestHAProxyEndToEnd(t *testing.T) {
	if haproxytest.Binary() == "" {
		t.Skip("haproxy is not installed: apt-get install -y haproxy")
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	restCfg := startEnvtest(t)
	c, err := client.NewWithWatch(restCfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}

	const backend, staticBackend = "be_web", "be_static"
	h := haproxytest.Start(t, haproxytest.Config{Backends: []string{backend}, StaticBackends: map[string]int{staticBackend: 2}})
	hp, err := haproxy.New(h.RuntimeAPI(), haproxy.Options{
		HealthCheck: providers.HealthCheck{Interval: 100 * time.Millisecond, HealthyThreshold: 2, UnhealthyThreshold: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	provider := &countingProvider{Provider: hp}
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme: controllers.NewScheme(), Cache: controllers.CacheOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: ptr(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := controllers.Setup(ctx, mgr, controllers.Config{Provider: provider, BackendGroup: backendgroup.Options{
		PendingInterval: 50 * time.Millisecond, ResyncInterval: time.Second,
	}}); err != nil {
		t.Fatal(err)
	}
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-mgrDone; err != nil {
			t.Errorf("manager: %v", err)
		}
	})

	ns := "haproxy-e2e"
	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	stub := kubelet.NewStub(c, "node-1")
	go stub.Run(ctx, ns)

	// The application: a real HTTP server on a loopback address, unhealthy at first.
	app := haproxytest.StartServer(t, "web-1", haproxytest.LoopbackIP(41))
	app.SetHealthy(false)

	// bind creates an opted-in Service name bound to an HAProxy backend, and
	// its one gated pod, run by the kubelet stub at the application's address.
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
	pod := bind("web", backend, app, nil)

	gateOfPod := func(pod *corev1.Pod, group string) string {
		cur := &corev1.Pod{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(pod), cur); err != nil {
			return err.Error()
		}
		for _, cond := range cur.Status.Conditions {
			if string(cond.Type) == v1alpha1.GateConditionType(group) {
				return string(cond.Status) + "/" + cond.Reason
			}
		}
		return ""
	}
	gateOf := func() string { return gateOfPod(pod, "web") }
	serverLine := func() string {
		out := h.MustCommand("show servers state " + backend)
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, app.Addr.Addr().String()) {
				return line
			}
		}
		return ""
	}

	// 1. The server is added to HAProxy, its check fails, the gate stays False.
	haproxytest.Eventually(t, 20*time.Second, func() error {
		if serverLine() == "" {
			return fmt.Errorf("no HAProxy server for %s yet", app.Addr)
		}
		if g := gateOf(); g != "False/Unhealthy" && g != "" { // no False is written while the check runs (issue 11)
			return fmt.Errorf("gate is %q", g)
		}
		return nil
	})
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		if g := gateOf(); strings.HasPrefix(g, "True") {
			t.Fatalf("gate turned %s while the application's /healthz fails", g)
		}
	}
	if app.Hits() != 0 {
		t.Fatalf("the unhealthy application got %d requests through HAProxy", app.Hits())
	}

	// 2. The check passes: gate True, and traffic through the frontend reaches the pod.
	healthyAt := time.Now()
	app.SetHealthy(true)
	haproxytest.Eventually(t, 20*time.Second, func() error {
		if g := gateOf(); g != "True/Healthy" {
			return fmt.Errorf("gate is %q", g)
		}
		return nil
	})
	t.Logf("gate True %s after the application turned healthy (HAProxy checks every 100ms, rise 2)", time.Since(healthyAt).Round(time.Millisecond))
	if got := haproxytest.Sample(ctx, h.Frontend(backend), 5); got["web-1"] != 5 {
		t.Fatalf("traffic through the frontend: %v, want every request served by web-1", got)
	}

	// 3. HAProxy restarts and forgets the runtime server; the controller re-registers it within a resync.
	restarted := time.Now()
	h.Restart()
	haproxytest.Eventually(t, 20*time.Second, func() error {
		if got := haproxytest.Sample(ctx, h.Frontend(backend), 1); got["web-1"] != 1 {
			return fmt.Errorf("traffic after restart: %v", got)
		}
		return nil
	})
	t.Logf("traffic reached the pod again %s after the HAProxy restart (resync 1s)", time.Since(restarted).Round(time.Millisecond))
	if g := gateOf(); g != "True/Healthy" {
		t.Fatalf("gate flipped to %s across the HAProxy restart", g)
	}
	list, err := provider.List(ctx, backend)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Addr != netip.AddrPortFrom(app.Addr.Addr(), app.Addr.Port()) {
		t.Fatalf("HAProxy lists %v after the restart, want exactly %s", list, app.Addr)
	}

	// 4. A static-rr backend takes only weight 0 or its slots' own weight: a
	// group asking for weight 50 is served at the slot's weight, and a settled
	// group does not register its backend again on every resync.
	fixedApp := haproxytest.StartServer(t, "fixed-1", haproxytest.LoopbackIP(42))
	fixed := bind("fixed", staticBackend, fixedApp, map[string]string{v1alpha1.AnnotationWeight: "50"})
	haproxytest.Eventually(t, 20*time.Second, func() error {
		if g := gateOfPod(fixed, "fixed"); g != "True/Healthy" {
			return fmt.Errorf("gate of the pod on the static backend is %q", g)
		}
		return nil
	})
	before := provider.registers(staticBackend)
	gomega.NewWithT(t).Consistently(func() int { return provider.registers(staticBackend) }).
		WithTimeout(3500*time.Millisecond).WithPolling(100*time.Millisecond).
		Should(gomega.Equal(before), "a settled group on a static backend registered again within three resyncs")
}

// countingProvider counts Register calls per target.
type countingProvider struct {
	providers.Provider
	mu    sync.Mutex
	calls map[string]int
}

func (p *countingProvider) Register(ctx context.Context, target providers.Target, backends []providers.Backend) error {
	p.mu.Lock()
	if p.calls == nil {
		p.calls = map[string]int{}
	}
	p.calls[target.ID]++
	p.mu.Unlock()
	return p.Provider.Register(ctx, target, backends)
}

func (p *countingProvider) registers(target string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[target]
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
