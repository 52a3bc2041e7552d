package webhookcfg_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

var _ = Describe("Pod admission through the apiserver", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) {
		ns = newNamespace(ctx)
		createService(ctx, ns, "web", map[string]string{"app": "web"}, nil)
		createService(ctx, ns, "all", map[string]string{"tier": "front"}, nil)
	})

	It("gives a pod exactly the gates of the groups that select it", func(ctx SpecContext) {
		By("one matching Service: one gate")
		expectGated(ctx, ns, map[string]string{"app": "web"}, gateOf("web"))
		By("two matching Services: two gates, in name order")
		expectGated(ctx, ns, map[string]string{"app": "web", "tier": "front"}, gateOf("all"), gateOf("web"))
		By("an unrelated pod: none")
		expectGated(ctx, ns, map[string]string{"app": "other"})
		By("a pod that already carries a gate: not added twice")
		pod := newPod(ns, map[string]string{"app": "web"})
		pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: corev1.PodConditionType(gateOf("web"))}}
		Expect(k8s.Create(ctx, pod)).To(Succeed())
		Expect(gates(pod)).To(Equal([]string{gateOf("web")}))
	})

	It("leaves hostNetwork and mirror pods alone", func(ctx SpecContext) {
		hostNet := newPod(ns, map[string]string{"app": "web"})
		hostNet.Spec.HostNetwork = true
		Expect(k8s.Create(ctx, hostNet)).To(Succeed())
		Expect(gates(hostNet)).To(BeEmpty())

		mirror := newPod(ns, map[string]string{"app": "web"})
		mirror.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "mirror"}
		mirror.Spec.NodeName = "node-1"
		Expect(k8s.Create(ctx, mirror)).To(Succeed())
		Expect(gates(mirror)).To(BeEmpty())
	})

	It("answers a dry-run create with the gates and stores nothing", func(ctx SpecContext) {
		pod := newPod(ns, map[string]string{"app": "web"})
		pod.Name, pod.GenerateName = "dry", ""
		Expect(k8s.Create(ctx, pod, client.DryRunAll)).To(Succeed())
		Expect(gates(pod)).To(Equal([]string{gateOf("web")}))
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{})).NotTo(Succeed())
	})

	It("adds a preStop sleep when the Service asks for one", func(ctx SpecContext) {
		createService(ctx, ns, "drain", map[string]string{"app": "drain"}, map[string]string{v1alpha1.AnnotationPreStopDelay: "12s"})
		pod, err := createPod(ctx, ns, map[string]string{"app": "drain"})
		Expect(err).NotTo(HaveOccurred())
		Expect(gates(pod)).To(Equal([]string{gateOf("drain")}))
		Expect(pod.Spec.Containers[0].Lifecycle).NotTo(BeNil())
		Expect(pod.Spec.Containers[0].Lifecycle.PreStop.Sleep.Seconds).To(Equal(int64(12)))
	})

	It("never mutates pods in kube-system or the operator namespace", func(ctx SpecContext) {
		for _, system := range []string{"kube-system", operatorNS} {
			pod, err := createPod(ctx, system, map[string]string{"app": "web"})
			Expect(err).NotTo(HaveOccurred())
			Expect(gates(pod)).To(BeEmpty())
		}
	})

	It("reports ready while the live caBundle trusts the served certificate", func(ctx SpecContext) {
		Expect(mgr.ready()).To(Succeed())
		Expect(servingTrusted(ctx)).To(Succeed())
	})
})
