package controllers_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
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
	"github.com/lbgate/lbgate/controllers/internal/events"
	"github.com/lbgate/lbgate/e2e/kubelet"
	"github.com/lbgate/lbgate/providers/tencent"
	"github.com/lbgate/lbgate/providers/tencent/clbsim"
)

// TestTencentCLBEndToEnd runs the real controllers on a real
// kube-apiserver with the tencent provider against the local CLB: a
// Service opted in on a layer-7 rule, its pod bound on the CLB, the gate
// held while the CLB's own HTTP check fails and True once it passes, then
// the leaving pod drained (weight 0) and unbound after its
// deregistration delay; the CLB's quota pacing a second Service's pods;
// and an opt-out that leaves nothing on the CLB.
func TestTencentCLBEndToEnd(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	restCfg := startEnvtest(t)
	c, err := client.NewWithWatch(restCfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}

	// The local CLB: lb-1, an HTTP listener lbl-7 with rules loc-1 and
	// loc-2 checking GET /healthz every 50ms, rise 2, fall 2; changes run
	// as 100ms tasks; a rule holds one target (TOTAL_TARGET_BIND_QUOTA).
	sim, err := clbsim.Start(clbsim.Config{SecretID: "AKIDenvtest", SecretKey: "envtest-key", Region: "ap-guangzhou",
		TaskDuration: 100 * time.Millisecond, TargetBindQuota: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	sim.AddLoadBalancer("lb-1")
	sim.AddListener("lb-1", "lbl-7", "HTTP", clbsim.HealthCheck{})
	check := clbsim.HealthCheck{HTTP: true, Path: "/healthz", Interval: 50 * time.Millisecond, Timeout: 200 * time.Millisecond, Healthy: 2, Unhealthy: 2}
	sim.AddRule("lb-1", "lbl-7", "loc-1", check)
	sim.AddRule("lb-1", "lbl-7", "loc-2", check)
	sim.SetRuleURL("lb-1", "lbl-7", "loc-2", "/capped")
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
	t.Cleanup(func() {
		cancel()
		if err := <-mgrDone; err != nil {
			t.Errorf("manager: %v", err)
		}
	})

	ns := "tencent-clb"
	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	stub := kubelet.NewStub(c, "node-1")
	go stub.Run(ctx, ns)

	// startApp runs the application on a loopback address: an HTTP
	// server whose /healthz answers 503 until healthy is set, and that
	// answers "app" on every other path, counting those requests in served.
	var served atomic.Int64
	startApp := func(ip string) (*net.TCPAddr, *atomic.Bool) {
		healthy := &atomic.Bool{}
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" {
				served.Add(1)
				_, _ = io.WriteString(w, "app")
				return
			}
			if !healthy.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		})}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })
		return ln.Addr().(*net.TCPAddr), healthy
	}
	// optIn creates a Service opted in on a CLB target.
	optIn := func(name, target, delay string) *corev1.Service {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{
				v1alpha1.AnnotationDirectAccess: "true", v1alpha1.AnnotationLoadBalancer: target,
				v1alpha1.AnnotationWeight: "30", v1alpha1.AnnotationDeregistrationDelay: delay,
			}},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": name},
				Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
			},
		}
		must(t, c.Create(ctx, svc))
		return svc
	}
	// runPod creates a gated pod of the Service's app and runs it at addr.
	runPod := func(name, app string, addr *net.TCPAddr) *corev1.Pod {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": app}},
			Spec: corev1.PodSpec{
				NodeName:       "node-1",
				ReadinessGates: []corev1.PodReadinessGate{{ConditionType: corev1.PodConditionType(v1alpha1.GateConditionType(app))}},
				Containers: []corev1.Container{{Name: "app", Image: "example/" + app + ":v1",
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(addr.Port)}}}},
			},
		}
		must(t, c.Create(ctx, pod))
		if _, err := stub.RunPodAt(ctx, client.ObjectKeyFromObject(pod), addr.IP.String(), true); err != nil {
			t.Fatal(err)
		}
		return pod
	}
	// gate returns the pod's gate of the group as "Status/Reason".
	gate := func(pod *corev1.Pod, group string) func() string {
		return func() string {
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
	}
	// bound returns addr's target on a rule as the CLB holds it:
	// "health/weight", or "" when unbound.
	bound := func(location string, addr *net.TCPAddr) func() string {
		return func() string {
			for _, b := range sim.Backends("lb-1", "lbl-7", location) {
				if b.IP == addr.IP.String() && b.Port == int64(addr.Port) {
					return fmt.Sprintf("%s/%d", b.Health, b.Weight)
				}
			}
			return ""
		}
	}

	const name = "web"
	appAddr, healthy := startApp("127.0.0.71")
	optIn(name, "lb-1/lbl-7/loc-1", "2s")
	pod := runPod(name+"-1", name, appAddr)
	gateOf, onCLB := gate(pod, name), bound("loc-1", appAddr)
	g := gomega.NewWithT(t)

	// 1. Bound on the rule with the group's weight; the CLB's check fails, the gate stays False.
	g.Eventually(onCLB).WithTimeout(20*time.Second).WithPolling(50*time.Millisecond).
		Should(gomega.Equal(tencent.HealthDead+"/30"), "the pod bound on the CLB, its check failing")
	g.Eventually(gateOf).WithTimeout(10*time.Second).WithPolling(50*time.Millisecond).
		Should(gomega.HavePrefix("False/"), "the gate while the CLB's check fails")
	g.Consistently(gateOf).WithTimeout(time.Second).WithPolling(50*time.Millisecond).
		Should(gomega.HavePrefix("False/"), "the gate turned True while the CLB reports the pod Dead")
	// Traffic through the CLB's listener reaches no pod yet.
	front, err := sim.Frontend("lb-1", "lbl-7")
	if err != nil {
		t.Fatal(err)
	}
	web := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() string {
		resp, err := web.Get("http://" + front + "/")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return resp.Status
		}
		return string(b)
	}
	if got := get(); got != "503 Service Unavailable" || served.Load() != 0 {
		t.Fatalf("through the CLB while the pod is Dead: %q, %d requests served by the pod; want 503 and none", got, served.Load())
	}

	// 2. The check passes: the CLB reports Alive, then the gate turns True.
	healthyAt := time.Now()
	healthy.Store(true)
	g.Eventually(gateOf).WithTimeout(20 * time.Second).WithPolling(20 * time.Millisecond).
		Should(gomega.Equal("True/Healthy"))
	g.Expect(onCLB()).To(gomega.Equal(tencent.HealthAlive+"/30"), "the gate is True: the CLB must report the pod Alive")
	g.Expect(get()).To(gomega.Equal("app"), "traffic through the CLB once the gate is True")
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

	// 4. The quota: TOTAL_TARGET_BIND_QUOTA is 1 on this CLB. Of two pods,
	// the older is bound; the younger waits (QuotaExceeded) and is bound
	// once the older has left.
	const capped = "capped"
	svc := optIn(capped, "lb-1/lbl-7/loc-2", "1s")
	addrA, healthyA := startApp("127.0.0.72")
	addrB, healthyB := startApp("127.0.0.73")
	healthyA.Store(true)
	healthyB.Store(true)
	podA := runPod(capped+"-a", capped, addrA)
	g.Eventually(gate(podA, capped)).WithTimeout(20 * time.Second).WithPolling(50 * time.Millisecond).Should(gomega.Equal("True/Healthy"))
	podB := runPod(capped+"-b", capped, addrB)
	g.Eventually(gate(podB, capped)).WithTimeout(10*time.Second).WithPolling(50*time.Millisecond).
		Should(gomega.Equal("False/"+v1alpha1.GateReasonQuotaExceeded), "the pod over the CLB's quota")
	g.Eventually(func() string {
		bg := &v1alpha1.BackendGroup{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: capped}, bg); err != nil {
			return err.Error()
		}
		if q := meta.FindStatusCondition(bg.Status.Conditions, v1alpha1.ConditionQuotaExceeded); q != nil {
			return string(q.Status)
		}
		return ""
	}).WithTimeout(10*time.Second).WithPolling(50*time.Millisecond).Should(gomega.Equal("True"), "the group's QuotaExceeded condition")
	g.Expect(bound("loc-2", addrB)()).To(gomega.BeEmpty(), "the pod over the quota is bound on the CLB")
	must(t, c.Delete(ctx, podA))
	g.Eventually(gate(podB, capped)).WithTimeout(20*time.Second).WithPolling(50*time.Millisecond).Should(gomega.Equal("True/Healthy"),
		"the waiting pod, once the older one has left")
	g.Expect(bound("loc-2", addrA)()).To(gomega.BeEmpty(), "the pod that left is still bound")
	must(t, stub.FinishTermination(ctx, podA))

	// 5. The Service opts out: nothing of it is left on the CLB, and the
	// remaining pod's gate, True already, is not written again (issue 11).
	before := svc.DeepCopy()
	svc.Annotations[v1alpha1.AnnotationDirectAccess] = "false"
	must(t, c.Patch(ctx, svc, client.MergeFrom(before)))
	g.Eventually(func() int { return len(sim.Backends("lb-1", "lbl-7", "loc-2")) }).WithTimeout(20*time.Second).WithPolling(50*time.Millisecond).
		Should(gomega.BeZero(), "targets left on the CLB after the opt-out")
	g.Consistently(gate(podB, capped)).WithTimeout(time.Second).WithPolling(50 * time.Millisecond).
		Should(gomega.Equal("True/" + v1alpha1.GateReasonHealthy))

	// 6. A global-router Service, and no container range declared routable
	// from the VPC: the provider refuses its backends before binding
	// anything, and the group says why (NetworkModeMismatch, naming the flag).
	const gr = "routed"
	grSvc := optIn(gr, "lb-1/lbl-7/loc-2", "1s")
	before = grSvc.DeepCopy()
	grSvc.Annotations[v1alpha1.AnnotationNetworkMode] = string(v1alpha1.NetworkModeGlobalRouter)
	must(t, c.Patch(ctx, grSvc, client.MergeFrom(before)))
	addrGR, healthyGR := startApp("127.0.0.74")
	healthyGR.Store(true)
	podGR := runPod(gr+"-1", gr, addrGR)
	g.Eventually(func() string {
		bg := &v1alpha1.BackendGroup{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: gr}, bg); err != nil {
			return err.Error()
		}
		if r := meta.FindStatusCondition(bg.Status.Conditions, v1alpha1.ConditionReady); r != nil {
			return string(r.Status) + "/" + r.Reason + ": " + r.Message
		}
		return ""
	}).WithTimeout(20 * time.Second).WithPolling(50 * time.Millisecond).Should(gomega.And(
		gomega.HavePrefix("False/"+events.NetworkModeMismatch), gomega.ContainSubstring("--global-router-cidrs"), gomega.ContainSubstring(addrGR.IP.String())))
	g.Expect(bound("loc-2", addrGR)()).To(gomega.BeEmpty(), "a refused global-router backend is bound on the CLB")
	g.Expect(gate(podGR, gr)()).To(gomega.HavePrefix("False/"), "the gate of a pod the CLB cannot reach")

	// Every call the provider made went through the signature check, and
	// none was throttled.
	perAction := map[string]int{}
	for _, call := range sim.Calls() {
		perAction[call.Action]++
		if call.Code != "" {
			t.Errorf("the CLB answered %s with %s", call.Action, call.Code)
		}
	}
	t.Logf("CLB API calls for 3 pods over the whole test: %v", perAction)
}
