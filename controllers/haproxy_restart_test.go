package controllers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

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
	providermetrics "github.com/lbgate/lbgate/providers/metrics"
)

// recoveryBound is how soon after HAProxy answers again every pod must serve
// through it: restart detection (about a second) plus two checks 100 ms
// apart, with a margin for a loaded machine. The resync is the default
// minute, so only the restart detection can meet it.
const recoveryBound = 4 * time.Second

// TestHAProxyRestartAndReloadRecoveredWithoutResync: a settled group with the
// default resync interval gets its pods back into HAProxy within seconds of
// a restart and of a graceful reload (haproxy -sf), and no gate flips.
func TestHAProxyRestartAndReloadRecoveredWithoutResync(t *testing.T) {
	if haproxytest.Binary() == "" {
		t.Skip("haproxy is not installed: apt-get install -y haproxy")
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	restCfg := startEnvtest(t)
	c, err := client.NewWithWatch(restCfg, client.Options{Scheme: controllers.NewScheme()})
	must(t, err)

	const backend = "be_restart"
	h := haproxytest.Start(t, haproxytest.Config{Backends: []string{backend}})
	hp, err := haproxy.New(h.RuntimeAPI(), haproxy.Options{
		HealthCheck: providers.HealthCheck{Interval: 100 * time.Millisecond, HealthyThreshold: 2, UnhealthyThreshold: 2},
	})
	must(t, err)
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme: controllers.NewScheme(), Cache: controllers.CacheOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: ptr(true)},
	})
	must(t, err)
	// As the binary wires it: the provider behind the metrics wrapper, and the default resync.
	must(t, controllers.Setup(ctx, mgr, controllers.Config{Provider: providermetrics.Wrap(hp), BackendGroup: backendgroup.Options{}}))
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-mgrDone; err != nil {
			t.Errorf("manager: %v", err)
		}
	})

	const ns, name = "haproxy-restart", "web"
	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	stub := kubelet.NewStub(c, "node-1")
	go stub.Run(ctx, ns)
	must(t, c.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{
			v1alpha1.AnnotationDirectAccess: "true", v1alpha1.AnnotationLoadBalancer: backend,
		}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}))
	var pods []*corev1.Pod
	var apps []*haproxytest.Server
	for i := range 3 {
		app := haproxytest.StartServer(t, fmt.Sprintf("web-%d", i), haproxytest.LoopbackIP(60+i))
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("web-%d", i), Labels: map[string]string{"app": name}},
			Spec: corev1.PodSpec{
				NodeName:       "node-1",
				ReadinessGates: []corev1.PodReadinessGate{{ConditionType: corev1.PodConditionType(v1alpha1.GateConditionType(name))}},
				Containers: []corev1.Container{{Name: "app", Image: "example/web:v1",
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(app.Addr.Port())}}}},
			},
		}
		must(t, c.Create(ctx, pod))
		if _, err := stub.RunPodAt(ctx, client.ObjectKeyFromObject(pod), app.Addr.Addr().String(), true); err != nil {
			t.Fatal(err)
		}
		pods, apps = append(pods, pod), append(apps, app)
	}
	gatesTrue := func() error {
		for _, pod := range pods {
			cur := &corev1.Pod{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(pod), cur); err != nil {
				return err
			}
			ok := false
			for _, cond := range cur.Status.Conditions {
				ok = ok || (string(cond.Type) == v1alpha1.GateConditionType(name) && cond.Status == corev1.ConditionTrue)
			}
			if !ok {
				return fmt.Errorf("gate of %s is not True: %v", pod.Name, cur.Status.Conditions)
			}
		}
		return nil
	}
	// allServe: a handful of requests through the frontend reach every pod.
	allServe := func() error {
		got := haproxytest.Sample(ctx, h.Frontend(backend), 12)
		for _, app := range apps {
			if got[app.Name] == 0 {
				return fmt.Errorf("traffic %v: %s gets none", got, app.Name)
			}
		}
		return nil
	}
	haproxytest.Eventually(t, 30*time.Second, gatesTrue)
	haproxytest.Eventually(t, 10*time.Second, allServe)

	for _, tc := range []struct {
		what   string
		reload func() error
	}{
		{"restart", func() error { return h.Reload() }},
		{"graceful reload (haproxy -sf)", func() error { return h.ReloadGracefully(false) }},
	} {
		if err := tc.reload(); err != nil {
			t.Fatalf("%s: %v", tc.what, err)
		}
		answering := time.Now()
		haproxytest.Eventually(t, recoveryBound, allServe)
		t.Logf("%s: every pod serves again %s after HAProxy answered", tc.what, time.Since(answering).Round(time.Millisecond))
		if err := gatesTrue(); err != nil {
			t.Fatalf("after the %s: %v", tc.what, err)
		}
	}
}
