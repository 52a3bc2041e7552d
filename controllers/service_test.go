package controllers_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

var _ = Describe("Service controller annotations", func() {
	var t *testNS
	BeforeEach(func(ctx SpecContext) { t = newTestNS(ctx) })

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
