package controllers_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/providers"
)

// Issue 10, items 3 and 5: a setting the provider cannot apply on a target
// is refused, never silently ignored. The fake load balancer is narrowed
// per target with SetCapabilities.
var _ = Describe("Settings a target does not take", func() {
	var t *testNS
	BeforeEach(func(ctx SpecContext) { t = newTestNS(ctx) })

	// noSlowStart takes every setting but slow start, and reports its check.
	noSlowStart := providers.Capabilities{
		Applied: providers.AllSettings &^ providers.SettingSlowStart,
		InForce: providers.Settings{HealthCheck: providers.HealthCheck{Interval: 2 * time.Second, HealthyThreshold: 2, UnhealthyThreshold: 3}},
		Where:   map[providers.Setting]string{providers.SettingSlowStart: "this load balancer ramps nothing"},
	}

	It("refuses a Service's slow-start annotation its target does not take, and keeps the last good binding", func(ctx SpecContext) {
		lb.SetCapabilities(t.target, noSlowStart)
		svc := t.createService(ctx, "web", nil)
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionAccepted)).Should(HavePrefix("True/AnnotationsValid"))
		Eventually(func() *v1alpha1.HealthCheck { return group(ctx, t.name, "web").Status.HealthCheck }).Should(Equal(
			&v1alpha1.HealthCheck{IntervalSeconds: ptr(int32(2)), HealthyThreshold: ptr(int32(2)), UnhealthyThreshold: ptr(int32(3))}),
			"the status shows the check in force: the target's defaults")
		pod := t.runPod(ctx, "web-1", "web")
		Eventually(backends(t.target)).Should(ConsistOf(addr(pod)))

		By("asking for slow start and a new weight in one change")
		cur := &corev1.Service{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(svc), cur)).To(Succeed())
		before := cur.DeepCopy()
		cur.Annotations[v1alpha1.AnnotationSlowStart] = "30s"
		cur.Annotations[v1alpha1.AnnotationWeight] = "50"
		Expect(k8s.Patch(ctx, cur, client.MergeFrom(before))).To(Succeed())

		want := `lbgate.dev/slow-start "30s": the fake provider cannot apply it on target ` + t.target + `: this load balancer ramps nothing`
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionAccepted)).Should(Equal(
			"False/UnsupportedAnnotation: " + want + "; the last good binding stays in force"))
		Eventually(eventsFor(ctx, t.name, "Service", "web", "UnsupportedAnnotation")).Should(ContainElement(ContainSubstring(want)))
		Consistently(func() v1alpha1.BackendGroupSpec { return group(ctx, t.name, "web").Spec }).Should(And(
			HaveField("SlowStart", BeNil()), HaveField("Weight", Equal(ptr(int32(10))))),
			"nothing of the refused change is applied, not even the weight")

		By("the target taking slow start now")
		lb.SetCapabilities(t.target, providers.Capabilities{Applied: providers.AllSettings})
		setAnnotation(ctx, svc, "lbgate.dev/nudge", "1") // any change: the Service controller asks again
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionAccepted)).Should(HavePrefix("True/AnnotationsValid"))
		Eventually(func() *metav1.Duration { return group(ctx, t.name, "web").Spec.SlowStart }).Should(Equal(&metav1.Duration{Duration: 30 * time.Second}))
		second := t.runPod(ctx, "web-2", "web")
		Eventually(func() time.Duration {
			for _, c := range lb.CallsOf("Register") {
				if c.Target == t.target && c.Err == nil && len(c.Addrs) > 0 && c.Addrs[0] == addr(second) {
					return c.Settings.SlowStart
				}
			}
			return 0
		}).Should(Equal(30*time.Second), "the new pod is registered with slow start")
	})

	// A hand-made group has no Service controller: the BackendGroup
	// controller refuses it itself, and registers nothing new.
	It("refuses a hand-made group whose check timeout its target does not take: nothing is registered until it changes", func(ctx SpecContext) {
		lb.SetCapabilities(t.target, providers.Capabilities{
			Applied: providers.AllSettings &^ providers.SettingCheckTimeout,
			Where:   map[providers.Setting]string{providers.SettingCheckTimeout: "set it on the load balancer"},
		})
		svc := t.service("web", nil)
		svc.Annotations = nil
		Expect(k8s.Create(ctx, svc)).To(Succeed())
		bg := &v1alpha1.BackendGroup{
			ObjectMeta: metav1.ObjectMeta{Namespace: t.name, Name: "web"},
			Spec: v1alpha1.BackendGroupSpec{
				ServiceName: "web",
				Ports:       []v1alpha1.PortBinding{{Port: 80, Target: t.target}},
				HealthCheck: &v1alpha1.HealthCheck{TimeoutSeconds: ptr(int32(3)), IntervalSeconds: ptr(int32(5))},
			},
		}
		Expect(k8s.Create(ctx, bg)).To(Succeed())
		pod := t.runPod(ctx, "web-1", "web")
		want := `spec.healthCheck.timeoutSeconds "3": the fake provider cannot apply it on target ` + t.target + `: set it on the load balancer`
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionAccepted)).Should(Equal(
			"False/UnsupportedSetting: " + want + "; the group registers nothing new until this changes"))
		Eventually(eventsFor(ctx, t.name, "BackendGroup", "web", "UnsupportedSetting")).Should(ContainElement(ContainSubstring(want)))
		Consistently(backends(t.target)).Should(BeEmpty(), "a refused group registers nothing")
		Expect(gateState(ctx, pod, "web")()).To(Equal("False/Registering"))
		Eventually(func() string { return gate(ctx, pod, "web").Message }).Should(Equal("not registered: " + want + "; the group registers nothing new until this changes"))

		By("dropping the timeout")
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(bg), bg)).To(Succeed())
		before := bg.DeepCopy()
		bg.Spec.HealthCheck.TimeoutSeconds = nil
		Expect(k8s.Patch(ctx, bg, client.MergeFrom(before))).To(Succeed())
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionAccepted)).Should(HavePrefix("True/SettingsHonoured"))
		Eventually(backends(t.target)).Should(ConsistOf(addr(pod)))
		Eventually(func() *v1alpha1.HealthCheck { return group(ctx, t.name, "web").Status.HealthCheck }).Should(Equal(
			&v1alpha1.HealthCheck{IntervalSeconds: ptr(int32(5))}))
	})

	// A Service's group accepted with slow start, whose target stops taking
	// it (a load balancer reconfigured): the BackendGroup controller
	// refuses the group as it is, the Service hears of it, pods already
	// bound stay, new ones wait.
	It("refuses a Service's group whose target stops taking its slow start, and tells the Service", func(ctx SpecContext) {
		t.createService(ctx, "web", map[string]string{v1alpha1.AnnotationSlowStart: "20s"})
		first := t.runPod(ctx, "web-1", "web")
		Eventually(backends(t.target)).Should(ConsistOf(addr(first)))
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionAccepted)).Should(HavePrefix("True/AnnotationsValid"))

		lb.SetCapabilities(t.target, noSlowStart)
		second := t.runPod(ctx, "web-2", "web")
		want := `lbgate.dev/slow-start "20s": the fake provider cannot apply it on target ` + t.target
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionAccepted)).Should(HavePrefix("False/UnsupportedSetting: " + want))
		Eventually(eventsFor(ctx, t.name, "Service", "web", "UnsupportedAnnotation")).Should(ContainElement(ContainSubstring("BackendGroup web: " + want)))
		Consistently(backends(t.target)).Should(ConsistOf(addr(first)), "the bound pod stays, the new one is not registered")
		Expect(condition(ctx, t.name, "web", v1alpha1.ConditionAccepted)()).To(HavePrefix("False/UnsupportedSetting"),
			"the Service controller lets the verdict stand")

		By("dropping the annotation")
		setAnnotation(ctx, t.service("web", nil), v1alpha1.AnnotationSlowStart, "")
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionAccepted)).Should(HavePrefix("True/"))
		Eventually(backends(t.target)).Should(ConsistOf(addr(first), addr(second)))
	})
})
