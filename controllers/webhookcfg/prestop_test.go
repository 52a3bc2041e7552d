package webhookcfg_test

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/internal/testbuild"
)

// preStops describes each container's preStop hook as admitted: "sleep Ns",
// "exec", or "none".
func preStops(pod *corev1.Pod) map[string]string {
	if pod == nil {
		return nil
	}
	out := map[string]string{}
	for _, c := range pod.Spec.Containers {
		switch {
		case c.Lifecycle == nil || c.Lifecycle.PreStop == nil:
			out[c.Name] = "none"
		case c.Lifecycle.PreStop.Sleep != nil:
			out[c.Name] = fmt.Sprintf("sleep %ds", c.Lifecycle.PreStop.Sleep.Seconds)
		case c.Lifecycle.PreStop.Exec != nil:
			out[c.Name] = "exec"
		default:
			out[c.Name] = "other"
		}
	}
	return out
}

// admitTwoContainers creates (through the webhook) a pod with the labels and
// the containers app (no hook) and proxy (its own exec preStop hook),
// changed by opts, and returns it as admitted.
func admitTwoContainers(ctx context.Context, ns string, labels map[string]string, opts []testbuild.PodOption, create ...client.CreateOption) (*corev1.Pod, error) {
	base := []testbuild.PodOption{
		testbuild.Namespace(ns), testbuild.GenerateName("p-"), testbuild.Labels(labels),
		testbuild.Containers(testbuild.Container("app", "example/app:v1"), testbuild.Container("proxy", "example/proxy:v1")),
		testbuild.PreStopExec(1, "drain"),
	}
	pod := testbuild.Pod("", append(base, opts...)...)
	err := k8s.Create(ctx, pod, create...)
	return pod, err
}

// Issue 10, item 7: zero drops by default. The deletion, the drain and
// SIGTERM start at the same instant, so a pod behind an opted-in Service
// gets a preStop sleep unless the Service says "0".
var _ = Describe("The default preStop sleep", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("gives every container without a preStop hook 5 s when no Service sets prestop-delay, capped by the grace period", func(ctx SpecContext) {
		createService(ctx, ns, "web", map[string]string{"app": "web"}, nil)

		pod, err := admitTwoContainers(ctx, ns, map[string]string{"app": "web"}, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(gates(pod)).To(Equal([]string{gateOf("web")}))
		Expect(preStops(pod)).To(Equal(map[string]string{"app": "sleep 5s", "proxy": "exec"}), "the container's own hook is kept")

		By("a grace period of 8 s leaves 3 s after the 5 s margin")
		pod, err = admitTwoContainers(ctx, ns, map[string]string{"app": "web"}, []testbuild.PodOption{testbuild.TerminationGrace(8)})
		Expect(err).NotTo(HaveOccurred())
		Expect(preStops(pod)).To(Equal(map[string]string{"app": "sleep 3s", "proxy": "exec"}))

		By("a grace period of 5 s leaves nothing")
		pod, err = admitTwoContainers(ctx, ns, map[string]string{"app": "web"}, []testbuild.PodOption{testbuild.TerminationGrace(5)})
		Expect(err).NotTo(HaveOccurred())
		Expect(preStops(pod)).To(Equal(map[string]string{"app": "none", "proxy": "exec"}))

		By("a pod that no Service selects gets nothing")
		pod, err = admitTwoContainers(ctx, ns, map[string]string{"app": "other"}, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(gates(pod)).To(BeEmpty())
		Expect(preStops(pod)).To(Equal(map[string]string{"app": "none", "proxy": "exec"}))
	})

	It(`is turned off by prestop-delay "0", which wins over a Service that sets nothing but not over one that sets a delay`, func(ctx SpecContext) {
		createService(ctx, ns, "quiet", map[string]string{"app": "quiet"}, map[string]string{v1alpha1.AnnotationPreStopDelay: "0"})
		Eventually(accepted(ctx, ns, "quiet")).Should(Equal("True/AnnotationsValid"), `"0" is a valid value`)

		pod, err := admitTwoContainers(ctx, ns, map[string]string{"app": "quiet"}, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(gates(pod)).To(Equal([]string{gateOf("quiet")}))
		Expect(preStops(pod)).To(Equal(map[string]string{"app": "none", "proxy": "exec"}))

		By(`a second Service that sets nothing: "0" still wins`)
		createService(ctx, ns, "all", map[string]string{"tier": "front"}, nil)
		pod, err = admitTwoContainers(ctx, ns, map[string]string{"app": "quiet", "tier": "front"}, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(gates(pod)).To(Equal([]string{gateOf("all"), gateOf("quiet")}))
		Expect(preStops(pod)).To(Equal(map[string]string{"app": "none", "proxy": "exec"}))

		By("a third Service that asks for 12 s: the delay wins")
		createService(ctx, ns, "drain", map[string]string{"tier": "front"}, map[string]string{v1alpha1.AnnotationPreStopDelay: "12s"})
		pod, err = admitTwoContainers(ctx, ns, map[string]string{"app": "quiet", "tier": "front"}, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(gates(pod)).To(Equal([]string{gateOf("all"), gateOf("drain"), gateOf("quiet")}))
		Expect(preStops(pod)).To(Equal(map[string]string{"app": "sleep 12s", "proxy": "exec"}))
	})

	It(`follows the Service when "0" is set and removed, and keeps a "0" while the value is malformed`, func(ctx SpecContext) {
		createService(ctx, ns, "web", map[string]string{"app": "web"}, nil)
		admitted := func() (map[string]string, error) {
			pod, err := admitTwoContainers(ctx, ns, map[string]string{"app": "web"}, nil, client.DryRunAll)
			return preStops(pod), err
		}
		Expect(admitted()).To(HaveKeyWithValue("app", "sleep 5s"))

		setPreStopDelay := func(value string, present bool) {
			svc := &corev1.Service{}
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, svc)).To(Succeed())
			before := svc.DeepCopy()
			if present {
				svc.Annotations[v1alpha1.AnnotationPreStopDelay] = value
			} else {
				delete(svc.Annotations, v1alpha1.AnnotationPreStopDelay)
			}
			Expect(k8s.Patch(ctx, svc, client.MergeFrom(before))).To(Succeed())
		}
		By(`"0": new pods get no preStop sleep`)
		setPreStopDelay("0", true)
		Eventually(admitted).Should(HaveKeyWithValue("app", "none"))
		Eventually(func() map[string]string { return groupOf(ctx, ns, "web").Annotations }).Should(HaveKeyWithValue(v1alpha1.AnnotationPreStopDelay, "0s"))

		By(`malformed: the "0" recorded on the group stays in force`)
		setPreStopDelay("soon", true)
		Eventually(accepted(ctx, ns, "web")).Should(Equal("False/InvalidAnnotation"))
		Consistently(admitted).Should(HaveKeyWithValue("app", "none"))

		By("removed: the default again")
		setPreStopDelay("", false)
		Eventually(admitted).Should(HaveKeyWithValue("app", "sleep 5s"))
	})
})
