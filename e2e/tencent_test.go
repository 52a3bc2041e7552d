//go:build e2e

package e2e_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/e2e/loadgen"
	"github.com/lbgate/lbgate/e2e/stack"
	"github.com/lbgate/lbgate/providers/tencent/clbsim"
)

// Issue 12: the same rollout as "Rollouts behind HAProxy", with lbgate run
// as --provider=tencentclb against the local CLB (clbsim): the CLB API
// (signed calls, 20 calls a second per action, asynchronous tasks) and the
// CLB's own HTTP health check decide the gates, and the rule's listener
// carries the load. The CLB's check is as slow as the real one allows
// (every 2 s, rise 2), so these specs take about a minute each.
var _ = Describe("Rollouts behind a Tencent Cloud CLB", Ordered, func() {
	const (
		region, secretID, secretKey = "ap-guangzhou", "AKIDe2e", "e2e-secret-key"
		replicas                    = 10
	)
	var clb stack.CLB

	BeforeAll(func(ctx SpecContext) {
		sim, err := clbsim.Start(clbsim.Config{SecretID: secretID, SecretKey: secretKey, Region: region,
			// A bind or an unbind is live after a short task, as on the real CLB.
			TaskDuration: 300 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(sim.Close)
		check := clbsim.HealthCheck{HTTP: true, Path: "/healthz", Interval: 2 * time.Second, Timeout: time.Second, Healthy: 2, Unhealthy: 2}
		for _, lb := range []string{"lb-gated", "lb-base"} {
			sim.AddLoadBalancer(lb)
			sim.AddListener(lb, "lbl-http", "HTTP", clbsim.HealthCheck{})
			sim.AddRule(lb, "lbl-http", "loc-web", check)
		}
		clb = stack.CLB{Sim: sim}
		Expect(st.UseCLB(ctx, sim, region, secretID, secretKey, true)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) {
			Expect(st.UseHAProxy(ctx, true)).To(Succeed())
		})
	})

	// The group's check settings are the rule's own (the CLB runs one check
	// per rule): a group that asked for others would be refused.
	clbApp := func(ns, lb string) stack.App {
		return stack.App{Namespace: ns, Name: "web", Backend: lb + "/lbl-http/loc-web", LB: clb, Replicas: replicas, Image: stack.ImageV1,
			Annotations: map[string]string{
				v1alpha1.AnnotationHealthCheckInterval:           "2s",
				v1alpha1.AnnotationHealthCheckHealthyThreshold:   "2",
				v1alpha1.AnnotationHealthCheckUnhealthyThreshold: "2",
			}}
	}

	It("rolls 10 replicas under load through the CLB's listener with zero failed requests, no pod Ready before the CLB has it Alive", func(ctx SpecContext) {
		a := clbApp("clb", "lb-gated")
		Expect(st.Deploy(ctx, a)).To(Succeed())
		res, err := st.RollOut(ctx, stack.Rollout{App: a, ToImage: stack.ImageV2, Mode: loadgen.KeepAlive})
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("CLB rollout with gates", res.Summary("CLB, lbgate"))
		GinkgoWriter.Print(res.Summary("CLB, lbgate"))
		GinkgoWriter.Print(res.Load.Table())
		Expect(res.Finished).To(BeTrue())
		Expect(res.Load.Failed).To(BeZero(), res.Load.Table())
		Expect(res.EarlyReady).To(BeEmpty(), "pods Ready before the CLB had them Alive")
		Expect(res.ReadyPods).To(Equal(replicas))
		Expect(res.Load.ByVersion()).To(HaveKey("v2"))
		Eventually(func() []string {
			servers, err := clb.Servers(a.Backend)
			Expect(err).NotTo(HaveOccurred())
			var addrs []string
			for addr := range servers {
				addrs = append(addrs, addr)
			}
			return addrs
		}).Should(ConsistOf(podAddrs(ctx, a)), "the rule holds exactly the current pods")
	}, SpecTimeout(6*time.Minute))

	It("unbinds every target and releases every gate when the Service opts out", func(ctx SpecContext) {
		a := clbApp("clb", "lb-gated") // the app of the previous spec
		svc := &corev1.Service{}
		Expect(st.Client.Get(ctx, client.ObjectKey{Namespace: a.Namespace, Name: a.Name}, svc)).To(Succeed())
		before := svc.DeepCopy()
		svc.Annotations[v1alpha1.AnnotationDirectAccess] = "false"
		Expect(st.Client.Patch(ctx, svc, client.MergeFrom(before))).To(Succeed())
		Eventually(func() int {
			servers, err := clb.Servers(a.Backend)
			Expect(err).NotTo(HaveOccurred())
			return len(servers)
		}).Should(BeZero(), "no target is left bound on the rule")
		Eventually(func() []string {
			var reasons []string
			for _, p := range pods(ctx, a) {
				if g := gateOf(p, "web"); g != nil {
					reasons = append(reasons, string(g.Status)+"/"+g.Reason)
				}
			}
			return reasons
		}).Should(HaveEach("True/Healthy"), "a True gate is never written again (issue 11): the pods stay Ready as they were")
		Expect(st.WaitRolledOut(ctx, a, time.Minute)).To(Succeed(), "pods stay Ready")
	}, SpecTimeout(3*time.Minute))

	// The same rollout through the CLB with direct binding but no gates
	// (lbgate without its webhook): what the gates save, side by side.
	// Dropping requests here is a race, so this spec only reports them and
	// asserts what makes them: pods Ready before the CLB had them Alive.
	It("rolls the same update with direct binding but no gates, and reports what it drops", func(ctx SpecContext) {
		Expect(st.UseCLB(ctx, clb.Sim, region, secretID, secretKey, false)).To(Succeed())
		a := clbApp("clb-base", "lb-base")
		Expect(st.Deploy(ctx, a)).To(Succeed())
		for _, p := range pods(ctx, a) {
			Expect(p.Spec.ReadinessGates).To(BeEmpty())
		}
		res, err := st.RollOut(ctx, stack.Rollout{App: a, ToImage: stack.ImageV2, Mode: loadgen.KeepAlive})
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("CLB rollout without gates", res.Summary("CLB, no gates"))
		GinkgoWriter.Print(res.Summary("CLB, no gates"))
		GinkgoWriter.Print(res.Load.Table())
		Expect(res.EarlyReady).NotTo(BeEmpty(), "without gates the rollout does not wait for the CLB")
	}, SpecTimeout(6*time.Minute))
})
