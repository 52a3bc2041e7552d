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
	"github.com/lbgate/lbgate/e2e/stack"
)

func app(name, backend string, replicas int32) stack.App {
	return stack.App{Namespace: name, Name: "web", Backend: backend, Replicas: replicas, Image: "example.com/web:v1"}
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

	It("rolls 10 replicas under load with zero failed requests, waiting for HAProxy", func(ctx SpecContext) {
		a := app("roll", "be_roll", 10)
		Expect(st.Deploy(ctx, a)).To(Succeed())
		res, err := st.RollOut(ctx, stack.Rollout{App: a, ToImage: "example.com/web:v2"})
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("lbgate rollout", res.Summary("lbgate"))
		GinkgoWriter.Print(res.Load.Table())
		Expect(res.Load.Failed).To(BeZero(), res.Load.Table())
		Expect(res.EarlyReady).To(BeEmpty(), "pods Ready before HAProxy had them up")
		Expect(res.ReadyPods).To(Equal(10))
	}, SpecTimeout(6*time.Minute))
})
