package controllers_test

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/providers"
)

// Specs where two groups meet: one pod behind two opted-in Services, and a
// target handed from one group to another.
var _ = Describe("Two groups", func() {
	var t *testNS
	BeforeEach(func(ctx SpecContext) { t = newTestNS(ctx) })

	// twoServices creates Service web on the namespace's target and Service
	// web-b, on a second target, selecting the same pods (app=web), and runs
	// one pod that carries both gates.
	twoServices := func(ctx context.Context) (pod *corev1.Pod, second string, svcB *corev1.Service) {
		second = t.target + "-b"
		lb.AddTarget(second)
		t.createService(ctx, "web", nil)
		svcB = t.service("web-b", map[string]string{v1alpha1.AnnotationLoadBalancer: second})
		svcB.Spec.Selector = map[string]string{"app": "web"}
		Expect(k8s.Create(ctx, svcB)).To(Succeed())
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKey{Namespace: t.name, Name: "web-b"}, &v1alpha1.BackendGroup{})
		}).Should(Succeed())

		pod = t.pod("web-1", "web", "web")
		pod.Spec.ReadinessGates = append(pod.Spec.ReadinessGates,
			corev1.PodReadinessGate{ConditionType: corev1.PodConditionType(v1alpha1.GateConditionType("web-b"))})
		Expect(k8s.Create(ctx, pod)).To(Succeed())
		running, err := t.kubelet.RunPod(ctx, client.ObjectKeyFromObject(pod), true)
		Expect(err).NotTo(HaveOccurred())
		Eventually(backends(t.target)).Should(ConsistOf(addr(running)))
		Eventually(backends(second)).Should(ConsistOf(addr(running)))
		return running, second, svcB
	}

	It("flips each gate of a pod behind two Services on its own load balancer's health", func(ctx SpecContext) {
		pod, second, _ := twoServices(ctx)
		// No False is written while the checks run (issue 11).
		Expect(gateState(ctx, pod, "web")()).To(BeEmpty())
		Expect(gateState(ctx, pod, "web-b")()).To(BeEmpty())

		Expect(lb.SetHealth(t.target, addr(pod), providers.HealthHealthy)).To(BeTrue())
		Eventually(gateState(ctx, pod, "web")).Should(Equal("True/Healthy"))
		Consistently(gateState(ctx, pod, "web-b")).Should(BeEmpty(),
			"the second group read the first load balancer's health")
		Expect(podReady(ctx, pod)()).To(Equal(corev1.ConditionFalse), "Ready with one of two gates True")

		Expect(lb.SetHealth(second, addr(pod), providers.HealthHealthy)).To(BeTrue())
		Eventually(gateState(ctx, pod, "web-b")).Should(Equal("True/Healthy"))
		Eventually(podReady(ctx, pod)).Should(Equal(corev1.ConditionTrue))
	})

	It("releases only the gate of the Service that goes, while the other still holds the pod", func(ctx SpecContext) {
		pod, second, svcB := twoServices(ctx)
		Expect(lb.SetHealth(t.target, addr(pod), providers.HealthHealthy)).To(BeTrue())
		Eventually(gateState(ctx, pod, "web")).Should(Equal("True/Healthy"))

		// web-b's check has not passed; web goes away. Only web's gate may
		// change (it is True already and stays so), web-b still holds the pod.
		web := &corev1.Service{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: t.name, Name: "web"}, web)).To(Succeed())
		Expect(k8s.Delete(ctx, web)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Namespace: t.name, Name: "web"}, &v1alpha1.BackendGroup{}))
		}).Should(BeTrue())
		Expect(backends(t.target)()).To(BeEmpty())
		Consistently(gateState(ctx, pod, "web-b")).Should(BeEmpty())
		Expect(podReady(ctx, pod)()).To(Equal(corev1.ConditionFalse), "Ready before web-b's load balancer checked the pod")
		Expect(backends(second)()).To(ConsistOf(addr(pod)))

		// Now web-b goes before its check passed: its gate is released.
		Expect(k8s.Delete(ctx, svcB)).To(Succeed())
		Eventually(gateState(ctx, pod, "web-b")).Should(Equal("True/BackendGroupRemoved"))
		Eventually(podReady(ctx, pod)).Should(Equal(corev1.ConditionTrue))
		Eventually(backends(second)).Should(BeEmpty())
	})

	It("keeps the backends of the group a target passes to while the group that held it is removed", func(ctx SpecContext) {
		// web binds port 80 to the namespace's target and port 81 to a
		// second one; api binds the first target too, and yields it.
		second := t.target + "-b"
		lb.AddTarget(second)
		web := t.service("web", map[string]string{v1alpha1.AnnotationLoadBalancer: "80=" + t.target + ",81=" + second})
		web.Spec.Ports = append(web.Spec.Ports, corev1.ServicePort{Name: "alt", Port: 81, TargetPort: intstr.FromString("http")})
		Expect(k8s.Create(ctx, web)).To(Succeed())
		old := t.runPod(ctx, "web-1", "web")
		Eventually(backends(t.target)).Should(ConsistOf(addr(old)))
		Eventually(backends(second)).Should(ConsistOf(addr(old)))
		t.createService(ctx, "api", nil)
		next := t.runPod(ctx, "api-1", "api")
		Eventually(gateState(ctx, next, "api")).Should(Equal("False/TargetConflict"))

		// web's removal stalls on its second target, which cannot be
		// reached, while api, which no longer yields, binds its pod; then
		// the target answers again and web finishes its removal.
		lb.CutOff(second, &providers.UnavailableError{Detail: "test: target cut off"})
		DeferCleanup(lb.ClearFailures)
		Expect(k8s.Delete(ctx, web)).To(Succeed())
		Eventually(backends(t.target)).Should(ContainElement(addr(next)))
		Expect(lb.SetHealth(t.target, addr(next), providers.HealthHealthy)).To(BeTrue())
		Eventually(gateState(ctx, next, "api")).Should(Equal("True/Healthy"))

		lb.ClearFailures()
		Eventually(func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Namespace: t.name, Name: "web"}, &v1alpha1.BackendGroup{}))
		}).Should(BeTrue())
		Expect(backends(second)()).To(BeEmpty())
		for _, c := range lb.CallsOf("Deregister") {
			if c.Target == t.target && c.Err == nil {
				Expect(c.Addrs).NotTo(ContainElement(addr(next)), "the removed group deregistered a backend of the group that took the target over")
			}
		}
		Consistently(backends(t.target)).Should(ConsistOf(addr(next)))
	})
})
