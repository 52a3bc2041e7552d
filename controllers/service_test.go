package controllers_test

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

var _ = Describe("Service controller annotations", func() {
	var t *testNS
	BeforeEach(func(ctx SpecContext) { t = newTestNS(ctx) })

	// Issue 8, item 3: the group that yields a target stayed Accepted, so the
	// webhook kept giving new pods a gate nothing would ever set.
	It("marks a group that yields a target not Accepted, says so on the Service, and accepts it once the other group goes", func(ctx SpecContext) {
		web := t.createService(ctx, "web", nil)
		pod := t.runPod(ctx, "web-1", "web")
		Eventually(backends(t.target)).Should(ConsistOf(addr(pod)))

		t.createService(ctx, "api", nil) // same target
		want := fmt.Sprintf("target %s is bound by BackendGroup %s/web", t.target, t.name)
		Eventually(condition(ctx, t.name, "api", v1alpha1.ConditionAccepted)).Should(Equal("False/TargetConflict: " + want + "; a target belongs to one group"))
		Eventually(eventsFor(ctx, t.name, "Service", "api", "TargetConflict")).Should(ConsistOf(ContainSubstring(want)))
		Expect(condition(ctx, t.name, "web", v1alpha1.ConditionAccepted)()).To(HavePrefix("True/AnnotationsValid"), "the group that keeps the target stays accepted")

		By("removing the group that held the target")
		Expect(k8s.Delete(ctx, web)).To(Succeed())
		Eventually(condition(ctx, t.name, "api", v1alpha1.ConditionAccepted)).Should(HavePrefix("True/AnnotationsValid"))
	})

	// Issue 8, item 7: a bad prestop-delay was skipped with no event and no condition.
	It("reports a malformed prestop-delay like every other annotation and keeps the last good one", func(ctx SpecContext) {
		svc := t.createService(ctx, "web", map[string]string{v1alpha1.AnnotationPreStopDelay: "20"})
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionAccepted)).Should(HavePrefix("True/AnnotationsValid"))
		Eventually(func() string { return group(ctx, t.name, "web").Annotations[v1alpha1.AnnotationPreStopDelay] }).Should(Equal("20s"))

		setAnnotation(ctx, svc, v1alpha1.AnnotationPreStopDelay, "soon")
		want := `annotation "lbgate.dev/prestop-delay" has invalid value "soon"`
		Eventually(eventsFor(ctx, t.name, "Service", "web", "InvalidAnnotation")).Should(ContainElement(ContainSubstring(want)))
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionAccepted)).Should(ContainSubstring("False/InvalidAnnotation: " + want))
		Consistently(func() string { return group(ctx, t.name, "web").Annotations[v1alpha1.AnnotationPreStopDelay] }).
			Should(Equal("20s"), "the last good delay stays in force")

		By("taking the fixed value")
		setAnnotation(ctx, svc, v1alpha1.AnnotationPreStopDelay, "30s")
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionAccepted)).Should(HavePrefix("True/AnnotationsValid"))
		Eventually(func() string { return group(ctx, t.name, "web").Annotations[v1alpha1.AnnotationPreStopDelay] }).Should(Equal("30s"))

		By("dropping it")
		setAnnotation(ctx, svc, v1alpha1.AnnotationPreStopDelay, "")
		Eventually(func() map[string]string { return group(ctx, t.name, "web").Annotations }).ShouldNot(HaveKey(v1alpha1.AnnotationPreStopDelay))
	})
})
