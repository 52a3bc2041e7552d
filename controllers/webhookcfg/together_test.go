package webhookcfg_test

import (
	"context"
	"fmt"
	"slices"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

// accepted renders a group's Accepted condition as "Status/Reason" ("" when absent).
func accepted(ctx context.Context, ns, name string) func() string {
	return func() string {
		bg := &v1alpha1.BackendGroup{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, bg); err != nil {
			return err.Error()
		}
		c := meta.FindStatusCondition(bg.Status.Conditions, v1alpha1.ConditionAccepted)
		if c == nil {
			return ""
		}
		return string(c.Status) + "/" + c.Reason
	}
}

// createBurst creates n pods of app at once, as a ReplicaSet controller
// does, and returns them as admitted.
func createBurst(ctx context.Context, ns, app string, n int) []*corev1.Pod {
	pods := make([]*corev1.Pod, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pods[i], errs[i] = createPod(ctx, ns, map[string]string{"app": app})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		Expect(err).NotTo(HaveOccurred())
	}
	return pods
}

var _ = Describe("Pods created together with their Service", func() {
	// Issue 8, item 2: the webhook gated a pod only for groups already in its
	// cache, so the first pods of a Service and Deployment applied together
	// ran ungated.
	It("gets the gate of the Service's group every time, though the group does not exist yet", func(ctx SpecContext) {
		const tries, replicas = 20, 5
		var ungated []string
		for try := range tries {
			ns := newNamespace(ctx)
			Expect(k8s.Create(ctx, optedIn(ns, "web", "be-"+ns, nil))).To(Succeed())
			for _, pod := range createBurst(ctx, ns, "web", replicas) {
				if !slices.Contains(gates(pod), gateOf("web")) {
					ungated = append(ungated, fmt.Sprintf("try %d: %s/%s", try+1, ns, pod.Name))
				}
			}
		}
		AddReportEntry("create-together", fmt.Sprintf("%d tries x %d pods: %d ungated", tries, replicas, len(ungated)))
		GinkgoWriter.Printf("created together: %d tries x %d pods, %d ungated\n", tries, replicas, len(ungated))
		Expect(ungated).To(BeEmpty(), "pods admitted without the gate")
	})
})

var _ = Describe("Groups that yield a target", func() {
	// Issue 8, item 3: the webhook kept giving new pods the gate of a group
	// that yields its target, which nothing ever sets.
	It("get no gate on new pods, until the group that holds the target goes", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		target := "be-" + ns
		createService(ctx, ns, "web", map[string]string{"app": "web"}, map[string]string{v1alpha1.AnnotationLoadBalancer: target})
		Eventually(func() []string { return groupOf(ctx, ns, "web").Status.Targets }).Should(ContainElement(target))

		api := optedIn(ns, "api", target, nil)
		Expect(k8s.Create(ctx, api)).To(Succeed())
		By("a pod created right after the yielding Service")
		pod, err := createPod(ctx, ns, map[string]string{"app": "api"})
		Expect(err).NotTo(HaveOccurred())
		Expect(gates(pod)).To(BeEmpty())
		By("a pod created once the group exists and is not Accepted")
		Eventually(accepted(ctx, ns, "api")).Should(Equal("False/TargetConflict"))
		pod, err = createPod(ctx, ns, map[string]string{"app": "api"})
		Expect(err).NotTo(HaveOccurred())
		Expect(gates(pod)).To(BeEmpty())
		By("a pod of both groups gets only the gate of the group that keeps the target")
		pod, err = createPod(ctx, ns, map[string]string{"app": "web"})
		Expect(err).NotTo(HaveOccurred())
		Expect(gates(pod)).To(Equal([]string{gateOf("web")}))

		By("removing the group that held the target")
		web := &corev1.Service{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, web)).To(Succeed())
		Expect(k8s.Delete(ctx, web)).To(Succeed())
		Eventually(accepted(ctx, ns, "api")).Should(Equal("True/AnnotationsValid"))
		Eventually(func() ([]string, error) {
			pod, err := createPod(ctx, ns, map[string]string{"app": "api"}, client.DryRunAll)
			return gates(pod), err
		}).Should(Equal([]string{gateOf("api")}))
	})
})

var _ = Describe("A malformed prestop-delay", func() {
	// Issue 8, item 7: a bad value turned the preStop sleep off, silently.
	It("keeps the last good delay on new pods and is reported", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		createService(ctx, ns, "drain", map[string]string{"app": "drain"}, map[string]string{v1alpha1.AnnotationPreStopDelay: "12s"})
		Eventually(func() map[string]string { return groupOf(ctx, ns, "drain").Annotations }).Should(HaveKeyWithValue(v1alpha1.AnnotationPreStopDelay, "12s"))

		svc := &corev1.Service{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "drain"}, svc)).To(Succeed())
		before := svc.DeepCopy()
		svc.Annotations[v1alpha1.AnnotationPreStopDelay] = "soon"
		Expect(k8s.Patch(ctx, svc, client.MergeFrom(before))).To(Succeed())
		Eventually(accepted(ctx, ns, "drain")).Should(Equal("False/InvalidAnnotation"))
		Eventually(eventNotes(ctx, ns, "Service", "drain", "InvalidAnnotation")).Should(ContainElement(
			ContainSubstring(`annotation "lbgate.dev/prestop-delay" has invalid value "soon"`)))

		pod, err := createPod(ctx, ns, map[string]string{"app": "drain"})
		Expect(err).NotTo(HaveOccurred())
		Expect(gates(pod)).To(Equal([]string{gateOf("drain")}))
		Expect(pod.Spec.Containers[0].Lifecycle).NotTo(BeNil())
		Expect(pod.Spec.Containers[0].Lifecycle.PreStop.Sleep.Seconds).To(Equal(int64(12)))
	})
})

// groupOf reads a BackendGroup (empty when absent).
func groupOf(ctx context.Context, ns, name string) *v1alpha1.BackendGroup {
	bg := &v1alpha1.BackendGroup{}
	_ = k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, bg)
	return bg
}
