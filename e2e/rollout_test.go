//go:build e2e

package e2e_test

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/e2e/loadgen"
	"github.com/lbgate/lbgate/e2e/stack"
)

func app(name, backend string, replicas int32) stack.App {
	return stack.App{Namespace: name, Name: "web", Backend: backend, Replicas: replicas, Image: stack.ImageV1}
}

// pods lists the app's pods.
func pods(ctx context.Context, a stack.App) []corev1.Pod {
	list := &corev1.PodList{}
	Expect(st.Client.List(ctx, list, client.InNamespace(a.Namespace), client.MatchingLabels{"app": a.Name})).To(Succeed())
	return list.Items
}

func gateOf(p corev1.Pod, bg string) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if string(p.Status.Conditions[i].Type) == v1alpha1.GateConditionType(bg) {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

var _ = Describe("Rollouts behind HAProxy", Ordered, func() {
	It("gates every pod and opens each gate only after HAProxy marks it up", func(ctx SpecContext) {
		a := app("basic", "be_basic", 4)
		Expect(st.Deploy(ctx, a)).To(Succeed())
		servers, err := st.Servers(a.Backend)
		Expect(err).NotTo(HaveOccurred())
		for _, p := range pods(ctx, a) {
			Expect(p.Spec.ReadinessGates).To(ContainElement(HaveField("ConditionType", corev1.PodConditionType(v1alpha1.GateConditionType("web")))), "pod %s has no gate", p.Name)
			g := gateOf(p, "web")
			Expect(g).NotTo(BeNil())
			Expect(g.Status).To(Equal(corev1.ConditionTrue))
			Expect(servers[fmt.Sprintf("%s:8080", p.Status.PodIP)].Up()).To(BeTrue(), "pod %s is Ready but HAProxy does not have it up", p.Name)
		}
	})

	DescribeTable("rolls 10 replicas under load with zero failed requests, waiting for HAProxy",
		func(ctx SpecContext, ns string, mode loadgen.Mode) {
			a := app(ns, "be_roll_"+ns, 10)
			Expect(st.Deploy(ctx, a)).To(Succeed())
			res, err := st.RollOut(ctx, stack.Rollout{App: a, ToImage: stack.ImageV2, Mode: mode})
			Expect(err).NotTo(HaveOccurred())
			AddReportEntry("lbgate rollout ("+string(mode)+")", res.Summary("lbgate "+string(mode)))
			GinkgoWriter.Print(res.Load.Table())
			Expect(res.Load.Failed).To(BeZero(), res.Load.Table())
			Expect(res.EarlyReady).To(BeEmpty(), "pods Ready before HAProxy had them up")
			Expect(res.ReadyPods).To(Equal(10))
			Expect(res.Load.ByVersion()).To(HaveKey("v2"), "the new version serves once it is up")
		},
		Entry("keep-alive connections", SpecTimeout(6*time.Minute), "roll", loadgen.KeepAlive),
		Entry("a new connection per request", SpecTimeout(6*time.Minute), "rollnew", loadgen.NewConnection),
	)
})

var _ = Describe("Rollouts with faults", Ordered, func() {
	It("stalls a broken version that fails the load balancer's check, and no request reaches it", func(ctx SpecContext) {
		a := app("broken", "be_broken", 4)
		Expect(st.Deploy(ctx, a)).To(Succeed())
		res, err := st.RollOut(ctx, stack.Rollout{
			App: a, ToImage: stack.ImageBroken, Timeout: 30 * time.Second, ExpectStall: true,
		})
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("broken version", res.Summary("broken"))
		Expect(res.Finished).To(BeFalse(), "the rollout went through a version HAProxy reports unhealthy")
		Expect(res.Load.Failed).To(BeZero(), res.Load.Table())
		Expect(res.Load.ByVersion()).NotTo(HaveKey("v2"), "a request reached a broken pod")
		Expect(res.Load.ByVersion()["v1"]).To(Equal(res.Load.Succeeded), "old pods keep serving")
		for _, p := range pods(ctx, a) {
			if p.Spec.Containers[0].Image == stack.ImageBroken {
				Expect(gateOf(p, "web")).To(HaveField("Reason", v1alpha1.GateReasonUnhealthy))
			}
		}
	}, SpecTimeout(3*time.Minute))

	It("completes a rollout across an HAProxy restart, failing only while HAProxy is down or empty", func(ctx SpecContext) {
		a := app("hapx", "be_fault", 10)
		Expect(st.Deploy(ctx, a)).To(Succeed())
		var down, up, refilled time.Time
		res, err := st.RollOut(ctx, stack.Rollout{App: a, ToImage: stack.ImageV2,
			During: func(ctx context.Context) error {
				time.Sleep(3 * time.Second)
				down = time.Now()
				if err := st.HAProxy.Reload(); err != nil {
					return err
				}
				up = time.Now()
				if err := st.WaitServersUp(ctx, a.Backend, 1, time.Minute); err != nil {
					return err
				}
				refilled = time.Now()
				return nil
			}})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Finished).To(BeTrue())
		AddReportEntry("HAProxy restart", fmt.Sprintf("%s  HAProxy down %s, empty until re-registered %s",
			res.Summary("haproxy restart"), up.Sub(down).Round(time.Millisecond), refilled.Sub(up).Round(time.Millisecond)))
		for _, f := range res.Load.Failures {
			Expect(f.Start).To(BeTemporally(">=", down.Add(-100*time.Millisecond)), "failure before the restart: %v", f)
			Expect(f.Start).To(BeTemporally("<=", refilled.Add(100*time.Millisecond)), "failure after HAProxy had servers again: %v", f)
		}
		Expect(res.EarlyReady).To(BeEmpty())
	}, SpecTimeout(6*time.Minute))

	It("completes a rollout across an operator crash with zero failed requests and no orphaned servers", func(ctx SpecContext) {
		a := app("operator", "be_op", 10)
		Expect(st.Deploy(ctx, a)).To(Succeed())
		res, err := st.RollOut(ctx, stack.Rollout{App: a, ToImage: stack.ImageV2,
			During: func(ctx context.Context) error {
				time.Sleep(3 * time.Second)
				st.Operator.Kill()
				time.Sleep(2 * time.Second)
				return st.Operator.Start(ctx)
			}})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Finished).To(BeTrue())
		AddReportEntry("operator restart", res.Summary("operator restart"))
		Expect(res.Load.Failed).To(BeZero(), res.Load.Table())
		Expect(res.EarlyReady).To(BeEmpty())
		Eventually(func() []string {
			servers, err := st.Servers(a.Backend)
			Expect(err).NotTo(HaveOccurred())
			var addrs []string
			for addr := range servers {
				addrs = append(addrs, addr)
			}
			return addrs
		}).Should(ConsistOf(podAddrs(ctx, a)), "HAProxy holds exactly the current pods")
	}, SpecTimeout(6*time.Minute))

	It("scales to zero and back", func(ctx SpecContext) {
		a := app("scale", "be_scale", 3)
		Expect(st.Deploy(ctx, a)).To(Succeed())
		Expect(st.Scale(ctx, a, 0)).To(Succeed())
		Eventually(func() int {
			servers, err := st.Servers(a.Backend)
			Expect(err).NotTo(HaveOccurred())
			return len(servers)
		}).Should(BeZero())
		Eventually(func() int32 { return group(ctx, a).Status.Desired }).Should(BeZero())
		Expect(st.Scale(ctx, a, 3)).To(Succeed())
		Expect(st.WaitRolledOut(ctx, a, 2*time.Minute)).To(Succeed())
		Expect(st.WaitServersUp(ctx, a.Backend, 3, time.Minute)).To(Succeed())
	}, SpecTimeout(4*time.Minute))

	It("releases every gate and server when the Service opts out mid-life", func(ctx SpecContext) {
		a := app("scale", "be_scale", 3) // the app of the previous spec
		svc := &corev1.Service{}
		Expect(st.Client.Get(ctx, client.ObjectKey{Namespace: a.Namespace, Name: a.Name}, svc)).To(Succeed())
		before := svc.DeepCopy()
		svc.Annotations[v1alpha1.AnnotationDirectAccess] = "false"
		Expect(st.Client.Patch(ctx, svc, client.MergeFrom(before))).To(Succeed())
		Eventually(func() []string {
			var reasons []string
			for _, p := range pods(ctx, a) {
				if g := gateOf(p, "web"); g != nil {
					reasons = append(reasons, string(g.Status)+"/"+g.Reason)
				}
			}
			return reasons
		}).Should(ConsistOf("True/Healthy", "True/Healthy", "True/Healthy"), "a True gate is never written again (issue 11): the pods stay Ready as they were")
		Eventually(func() int {
			servers, err := st.Servers(a.Backend)
			Expect(err).NotTo(HaveOccurred())
			return len(servers)
		}).Should(BeZero())
		Expect(st.WaitRolledOut(ctx, a, time.Minute)).To(Succeed(), "pods stay Ready")
	}, SpecTimeout(3*time.Minute))
})

// The baseline runs last: it restarts the operator without its webhook.
var _ = Describe("Baseline without readiness gates", Ordered, func() {
	AfterAll(func(ctx SpecContext) {
		Expect(st.RestartOperator(ctx, true)).To(Succeed())
	})

	It("rolls the same update with direct binding but no gates, and reports what it drops", func(ctx SpecContext) {
		Expect(st.RestartOperator(ctx, false)).To(Succeed())
		a := app("baseline", "be_base", 10)
		Expect(st.Deploy(ctx, a)).To(Succeed())
		for _, p := range pods(ctx, a) {
			Expect(p.Spec.ReadinessGates).To(BeEmpty())
		}
		res, err := st.RollOut(ctx, stack.Rollout{App: a, ToImage: stack.ImageV2})
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("baseline rollout", res.Summary("no gates"))
		GinkgoWriter.Print(res.Load.Table())
		Expect(res.EarlyReady).NotTo(BeEmpty(), "without gates the rollout does not wait for HAProxy")
	}, SpecTimeout(6*time.Minute))
})

func podAddrs(ctx context.Context, a stack.App) []string {
	var out []string
	for _, p := range pods(ctx, a) {
		if p.DeletionTimestamp == nil && p.Status.PodIP != "" {
			out = append(out, p.Status.PodIP+":8080")
		}
	}
	return out
}

func group(ctx context.Context, a stack.App) *v1alpha1.BackendGroup {
	bg := &v1alpha1.BackendGroup{}
	Expect(st.Client.Get(ctx, client.ObjectKey{Namespace: a.Namespace, Name: a.Name}, bg)).To(Succeed())
	return bg
}
