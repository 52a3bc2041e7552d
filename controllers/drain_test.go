package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/providers"
)

var _ = Describe("Drain until idle", func() {
	var t *testNS
	BeforeEach(func(ctx SpecContext) { t = newTestNS(ctx) })

	// Issue 10, item 4: a target that counts sessions lets an idle leaving
	// pod go before its deregistration delay; one with an open session stays
	// until the delay.
	It("removes an idle leaving pod before its deregistration delay, and keeps one with a session until the delay", func(ctx SpecContext) {
		const delay = 8 * time.Second
		lb.SetNewBackendHealth(providers.HealthHealthy)
		DeferCleanup(lb.SetNewBackendHealth, providers.HealthInitial)
		lb.ReportSessions(t.target)
		t.createService(ctx, "web", map[string]string{v1alpha1.AnnotationDeregistrationDelay: delay.String()})
		keep := t.runPod(ctx, "web-1", "web")
		idle := t.runPod(ctx, "web-2", "web")
		busy := t.runPod(ctx, "web-3", "web")
		Eventually(backends(t.target)).Should(ConsistOf(addr(keep), addr(idle), addr(busy)))
		Expect(lb.SetSessions(t.target, addr(busy), 1)).To(BeTrue())

		deleted := time.Now()
		Expect(k8s.Delete(ctx, idle)).To(Succeed()) // bound to a node: stays terminating until the kubelet finishes
		Expect(k8s.Delete(ctx, busy)).To(Succeed())
		Eventually(health(t.target, addr(busy))).Should(Equal(providers.HealthDraining))
		Eventually(backends(t.target), delay).Should(ConsistOf(addr(keep), addr(busy)))
		early := time.Since(deleted)
		GinkgoWriter.Printf("idle leaving pod removed %s after its deletion (deregistration delay %s)\n", early.Round(100*time.Millisecond), delay)
		Expect(early).To(BeNumerically("<", delay-2*time.Second), "the idle pod waited for the delay")

		// The busy one keeps its session: it stays draining until the delay.
		Consistently(backends(t.target), delay-early-2*time.Second).Should(ContainElement(addr(busy)))
		Eventually(backends(t.target), 5*time.Second).Should(ConsistOf(addr(keep)))
		Expect(time.Since(deleted)).To(BeNumerically(">=", delay-time.Second), "the pod with a session was removed before the delay")
	})
})
