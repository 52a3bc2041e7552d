package controllers_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/controllers"
	"github.com/lbgate/lbgate/controllers/backendgroup"
	"github.com/lbgate/lbgate/e2e/kubelet"
	"github.com/lbgate/lbgate/providers/tencent"
	"github.com/lbgate/lbgate/providers/tencent/clbsim"
)

// TestTencentCLBEndToEnd runs the real controllers on a real
// kube-apiserver with the tencent provider against the local CLB: a
// Service opted in on a layer-7 rule, its pod bound on the CLB, the gate
// held while the CLB's own HTTP check fails and True once it passes, then
// the leaving pod drained (weight 0) and unbound after its
// deregistration delay.
func TestTencentCLBEndToEnd(t *testing.T) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Fatal("KUBEBUILDER_ASSETS is unset: run the tests with 'make test'")
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	restCfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.NewWithWatch(restCfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}

	// The local CLB: lb-1, an HTTP listener lbl-7 with rule loc-1 checking
	// GET /healthz every 50ms, rise 2, fall 2; changes run as 100ms tasks.
	sim, err := clbsim.Start(clbsim.Config{SecretID: "AKIDenvtest", SecretKey: "envtest-key", Region: "ap-guangzhou", TaskDuration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	sim.AddLoadBalancer("lb-1")
	sim.AddListener("lb-1", "lbl-7", "HTTP", clbsim.HealthCheck{})
	sim.AddRule("lb-1", "lbl-7", "loc-1", clbsim.HealthCheck{HTTP: true, Path: "/healthz",
		Interval: 50 * time.Millisecond, Timeout: 200 * time.Millisecond, Healthy: 2, Unhealthy: 2})
	provider, err := tencent.New(tencent.Options{Credentials: tencent.Credentials{SecretID: "AKIDenvtest", SecretKey: "envtest-key"},
		Region: "ap-guangzhou", Endpoint: "http://" + sim.Endpoint(), TaskPollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}

	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme: controllers.NewScheme(), Cache: controllers.CacheOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: ptr(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := controllers.Setup(ctx, mgr, controllers.Config{Provider: provider, BackendGroup: backendgroup.Options{
		PendingInterval: 100 * time.Millisecond, ResyncInterval: time.Second,
	}}); err != nil {
		t.Fatal(err)
	}
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-mgrDone })

	ns := "tencent-clb"
	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	stub := kubelet.NewStub(c, "node-1")
	go stub.Run(ctx, ns)

	// The application: an HTTP server on a loopback address whose /healthz fails at first.
	var healthy atomic.Bool
	ln, err := net.Listen("tcp", "127.0.0.71:0")
	if err != nil {
		t.Fatal(err)
	}
	appSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})}
	go func() { _ = appSrv.Serve(ln) }()
	t.Cleanup(func() { _ = appSrv.Close() })
	appAddr := ln.Addr().(*net.TCPAddr)

	const name, target = "web", "lb-1/lbl-7/loc-1"
	must(t, c.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{
			v1alpha1.AnnotationDirectAccess: "true", v1alpha1.AnnotationLoadBalancer: target,
			v1alpha1.AnnotationWeight: "30", v1alpha1.AnnotationDeregistrationDelay: "2s",
		}},
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
			Containers: []corev1.Container{{Name: "app", Image: "example/web:v1",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(appAddr.Port)}}}},
		},
	}
	must(t, c.Create(ctx, pod))
	if _, err := stub.RunPodAt(ctx, client.ObjectKeyFromObject(pod), appAddr.IP.String(), true); err != nil {
		t.Fatal(err)
	}

	gateOf := func() string {
		cur := &corev1.Pod{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(pod), cur); err != nil {
			return err.Error()
		}
		for _, cond := range cur.Status.Conditions {
			if string(cond.Type) == v1alpha1.GateConditionType(name) {
				return string(cond.Status) + "/" + cond.Reason
			}
		}
		return ""
	}
	// onCLB returns the pod's target as the CLB holds it: "health/weight", or "" when unbound.
	onCLB := func() string {
		for _, b := range sim.Backends("lb-1", "lbl-7", "loc-1") {
			if b.IP == appAddr.IP.String() && b.Port == int64(appAddr.Port) {
				return fmt.Sprintf("%s/%d", b.Health, b.Weight)
			}
		}
		return ""
	}
	g := gomega.NewWithT(t)

	// 1. Bound on the rule with the group's weight; the CLB's check fails, the gate stays False.
	g.Eventually(onCLB).WithTimeout(20*time.Second).WithPolling(50*time.Millisecond).
		Should(gomega.Equal(tencent.HealthDead+"/30"), "the pod bound on the CLB, its check failing")
	g.Eventually(gateOf).WithTimeout(10*time.Second).WithPolling(50*time.Millisecond).
		Should(gomega.HavePrefix("False/"), "the gate while the CLB's check fails")
	g.Consistently(gateOf).WithTimeout(time.Second).WithPolling(50*time.Millisecond).
		Should(gomega.HavePrefix("False/"), "the gate turned True while the CLB reports the pod Dead")

	// 2. The check passes: the CLB reports Alive, then the gate turns True.
	healthyAt := time.Now()
	healthy.Store(true)
	g.Eventually(gateOf).WithTimeout(20 * time.Second).WithPolling(20 * time.Millisecond).
		Should(gomega.Equal("True/Healthy"))
	g.Expect(onCLB()).To(gomega.Equal(tencent.HealthAlive+"/30"), "the gate is True: the CLB must report the pod Alive")
	t.Logf("gate True %s after the application turned healthy (CLB checks every 50ms, rise 2, tasks 100ms)", time.Since(healthyAt).Round(time.Millisecond))

	// 3. The pod leaves: drained at once (weight 0), unbound after the 2s delay.
	must(t, c.Delete(ctx, pod))
	deleted := time.Now()
	leavingPod := &corev1.Pod{}
	must(t, c.Get(ctx, client.ObjectKeyFromObject(pod), leavingPod))
	if leavingPod.DeletionTimestamp == nil || leavingPod.DeletionGracePeriodSeconds == nil {
		t.Fatalf("the deleted pod is not terminating: %+v", leavingPod.ObjectMeta)
	}
	leaving := leavingPod.DeletionTimestamp.Add(-time.Duration(*leavingPod.DeletionGracePeriodSeconds) * time.Second)
	g.Eventually(onCLB).WithTimeout(10*time.Second).WithPolling(20*time.Millisecond).
		Should(gomega.Equal(tencent.HealthAlive+"/0"), "the leaving pod drained to weight 0, still bound")
	drainedAfter := time.Since(deleted)
	g.Eventually(onCLB).WithTimeout(20*time.Second).WithPolling(50*time.Millisecond).
		Should(gomega.BeEmpty(), "the leaving pod unbound after its deregistration delay")
	// The delay counts from when the pod started terminating, as its
	// deletion timestamp (kept to the second) says.
	if due := leaving.Add(2 * time.Second); time.Now().Before(due) {
		t.Fatalf("the pod was unbound before its 2s deregistration delay was over (due %s)", due)
	}
	t.Logf("drained %s and unbound %s after the pod started leaving", drainedAfter.Round(time.Millisecond), time.Since(deleted).Round(time.Millisecond))
	must(t, stub.FinishTermination(ctx, pod))

	// Every call the provider made went through the signature check, and
	// none was throttled.
	for _, call := range sim.Calls() {
		if call.Code != "" {
			t.Errorf("the CLB answered %s with %s", call.Action, call.Code)
		}
	}
}
