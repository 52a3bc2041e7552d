package webhookcfg_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
)

var _ = Describe("failurePolicy Fail with the webhook stopped", func() {
	It("still admits pods in kube-system and in the operator namespace", func(ctx SpecContext) {
		o := defaultOptions()
		o.FailurePolicy = admissionregistrationv1.Fail
		restartManager(o, nil)
		Eventually(configDifferences).WithContext(ctx).Should(BeEmpty())
		Expect(*getConfig(ctx).Webhooks[0].FailurePolicy).To(Equal(admissionregistrationv1.Fail))

		By("stopping the operator: its webhook server is gone")
		mgr.stop()
		ns := newNamespace(ctx)
		_, err := createPod(ctx, ns, map[string]string{"app": "web"})
		Expect(err).To(MatchError(ContainSubstring("failed calling webhook")), "an ordinary namespace is blocked: the policy is in force")

		By("system and operator pods are admitted all the same")
		for _, system := range []string{"kube-system", operatorNS} {
			pod, err := createPod(ctx, system, map[string]string{"app": "web"})
			Expect(err).NotTo(HaveOccurred(), "namespace %s", system)
			Expect(gates(pod)).To(BeEmpty())
		}
		By("the operator's own pods too, wherever they run")
		pod, err := createPod(ctx, ns, o.OperatorPodLabels)
		Expect(err).NotTo(HaveOccurred())
		Expect(gates(pod)).To(BeEmpty())
	})
})
