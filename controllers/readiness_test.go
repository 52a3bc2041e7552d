package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/providers"
)

var _ = Describe("Readiness timeout", func() {
	var t *testNS
	BeforeEach(func(ctx SpecContext) { t = newTestNS(ctx) })

	// A hand-made group (the annotation's floor is 10s; the spec takes any
	// duration) on a Service that is not opted in, with quota 1: web-1 is
	// registered and never approved, web-2 waits for a place.
	It("releases a registered pod the load balancer never approves, and never a pod waiting for the quota", func(ctx SpecContext) {
		const timeout = 2 * time.Second
		svc := t.service("web", nil)
		svc.Annotations = nil
		Expect(k8s.Create(ctx, svc)).To(Succeed())
		bg := &v1alpha1.BackendGroup{
			ObjectMeta: metav1.ObjectMeta{Namespace: t.name, Name: "web"},
			Spec: v1alpha1.BackendGroupSpec{
				ServiceName:         "web",
				Ports:               []v1alpha1.PortBinding{{Port: 80, Target: t.target}},
				MaxBackends:         ptr(int32(1)),
				DeregistrationDelay: &metav1.Duration{Duration: time.Second},
				ReadinessTimeout:    &metav1.Duration{Duration: timeout},
			},
		}
		Expect(k8s.Create(ctx, bg)).To(Succeed())
		first := t.runPod(ctx, "web-1", "web")
		Eventually(backends(t.target)).Should(ConsistOf(addr(first)))
		registered := time.Now()
		second := t.runPod(ctx, "web-2", "web")
		Expect(gateState(ctx, first, "web")()).To(BeEmpty(), "no False written while the check runs (issue 11)")
		Eventually(gateState(ctx, second, "web")).Should(Equal("False/QuotaExceeded"))

		Eventually(gateState(ctx, first, "web"), "10s").Should(Equal("True/ReadinessTimeout"))
		Expect(time.Since(registered)).To(BeNumerically(">=", timeout-time.Second), "released before the timeout") // records keep whole seconds
		Expect(gate(ctx, first, "web").Message).To(And(ContainSubstring("readiness timeout of 2s"), ContainSubstring("HealthCheckPending")))
		Eventually(podReady(ctx, first)).Should(Equal(corev1.ConditionTrue))
		Eventually(eventsFor(ctx, t.name, "Pod", "web-1", "ReadinessTimeout")).Should(ContainElement(ContainSubstring("HealthCheckPending")))
		Eventually(eventsFor(ctx, t.name, "Service", "web", "ReadinessTimeout")).Should(ContainElement(ContainSubstring("pod web-1")))
		Eventually(func() int32 { return group(ctx, t.name, "web").Status.TimedOutPods }).Should(BeEquivalentTo(1))

		// The pod that waits for the quota is not registered: it takes no
		// traffic, and is never released by the timeout.
		Consistently(gateState(ctx, second, "web"), 2*timeout).Should(Equal("False/QuotaExceeded"))

		// The load balancer approves the pod at last: it is no longer
		// counted. Its gate is True already and is not written again (issue 11).
		Expect(lb.SetHealth(t.target, addr(first), providers.HealthHealthy)).To(BeTrue())
		Eventually(func() int32 { return group(ctx, t.name, "web").Status.TimedOutPods }).Should(BeEquivalentTo(0))
		Expect(gateState(ctx, first, "web")()).To(Equal("True/ReadinessTimeout"))
	})
})
