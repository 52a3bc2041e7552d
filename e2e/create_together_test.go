//go:build e2e

package e2e_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

// Issue 8, item 2: a Service and its Deployment applied together (one
// manifest, Helm, Argo CD) got their first pods before the BackendGroup
// existed, and the webhook, which knew only the groups in its cache, left
// them ungated: Ready before HAProxy had checked them.
var _ = Describe("A Service and its Deployment created together", func() {
	It("gates every first pod, and each turns Ready only after HAProxy checked it", func(ctx SpecContext) {
		const tries = 20
		has, err := st.HasBackend("be_together")
		Expect(err).NotTo(HaveOccurred())
		Expect(has).To(BeTrue(), "HAProxy has no backend be_together: add it to the Backends of e2e/suite_test.go")
		var ungated, early []string
		total := 0
		for try := 1; try <= tries; try++ {
			if try%5 == 1 {
				// A freshly started operator (upgrade, new leader) is the
				// slowest to make a group: the race the old webhook lost.
				// Restarted in place, so the webhook keeps its URL and the
				// apiserver's configuration stays as it is.
				st.Operator.Stop()
				Expect(st.Operator.Start(ctx)).To(Succeed())
			}
			a := app(fmt.Sprintf("together-%d", try), "be_together", 4)
			res, err := st.DeployTogether(ctx, a)
			Expect(err).NotTo(HaveOccurred())
			gate := corev1.PodConditionType(v1alpha1.GateConditionType(a.Name))
			for _, p := range pods(ctx, a) {
				total++
				if !hasGate(p, gate) {
					ungated = append(ungated, a.Namespace+"/"+p.Name)
				} else {
					Expect(gateOf(p, a.Name)).To(HaveField("Status", corev1.ConditionTrue), "pod %s/%s", a.Namespace, p.Name)
				}
			}
			early = append(early, res.EarlyReady...)
			Expect(res.ReadyPods).To(Equal(int(a.Replicas)))
			Expect(st.Remove(ctx, a)).To(Succeed())
		}
		AddReportEntry("created together", fmt.Sprintf("%d tries, %d pods: %d ungated, %d Ready before HAProxy had them up",
			tries, total, len(ungated), len(early)))
		Expect(ungated).To(BeEmpty(), "pods created without the gate")
		Expect(early).To(BeEmpty(), "pods Ready before HAProxy had them up")
	}, SpecTimeout(10*time.Minute))
})

func hasGate(p corev1.Pod, gate corev1.PodConditionType) bool {
	for _, g := range p.Spec.ReadinessGates {
		if g.ConditionType == gate {
			return true
		}
	}
	return false
}
