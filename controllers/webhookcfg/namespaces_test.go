package webhookcfg_test

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/controllers/webhookcfg"
)

// labelledOptions are the suite's options with the webhook seeing only
// namespaces labelled lbgate.dev/webhook=enabled.
func labelledOptions() webhookcfg.Options {
	o := defaultOptions()
	o.Namespaces = webhookcfg.NamespacesLabelled
	return o
}

// newLabelledNamespace creates a namespace for one spec that opts in to
// the webhook in labelled mode.
func newLabelledNamespace(ctx context.Context) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: "wh-labelled-",
		Labels:       map[string]string{webhookcfg.NamespaceLabel: webhookcfg.NamespaceLabelEnabled},
	}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// liveNamespaceSelector is the namespaceSelector of lbgate's live webhook.
func liveNamespaceSelector(ctx context.Context) *metav1.LabelSelector {
	c := getConfig(ctx)
	if c == nil || len(c.Webhooks) == 0 {
		return nil
	}
	return c.Webhooks[0].NamespaceSelector
}

var _ = Describe("The webhook limited to labelled namespaces", func() {
	labels := map[string]string{"app": "web"}

	It("is written, put back when the label requirement is edited away, and dropped when switched back", func(ctx SpecContext) {
		Expect(liveNamespaceSelector(ctx).MatchLabels).To(BeEmpty(), "the suite's operator sees every namespace")

		By("restarting the operator in labelled mode: the configuration follows")
		restartManager(labelledOptions(), nil)
		Eventually(configDifferences).WithContext(ctx).Should(BeEmpty())
		Expect(liveNamespaceSelector(ctx).MatchLabels).To(Equal(map[string]string{"lbgate.dev/webhook": "enabled"}))

		By("someone removes the label requirement: it is put back")
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cfg := getConfig(ctx)
			cfg.Webhooks[0].NamespaceSelector.MatchLabels = nil
			return k8s.Update(ctx, cfg, client.FieldOwner("kubectl-edit"))
		})).To(Succeed())
		Eventually(func() map[string]string { return liveNamespaceSelector(ctx).MatchLabels }).WithContext(ctx).
			Should(HaveKeyWithValue(webhookcfg.NamespaceLabel, webhookcfg.NamespaceLabelEnabled))
		Eventually(configDifferences).WithContext(ctx).Should(BeEmpty())

		By("someone widens it to any value of the label: it is put back")
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cfg := getConfig(ctx)
			cfg.Webhooks[0].NamespaceSelector.MatchLabels = nil
			cfg.Webhooks[0].NamespaceSelector.MatchExpressions = append(cfg.Webhooks[0].NamespaceSelector.MatchExpressions,
				metav1.LabelSelectorRequirement{Key: webhookcfg.NamespaceLabel, Operator: metav1.LabelSelectorOpExists})
			return k8s.Update(ctx, cfg, client.FieldOwner("kubectl-edit"))
		})).To(Succeed())
		Eventually(configDifferences).WithContext(ctx).Should(BeEmpty())

		By("pods of a labelled namespace are gated, pods of an unlabelled one are not")
		labelled, plain := newLabelledNamespace(ctx), newNamespace(ctx)
		createService(ctx, labelled, "web", labels, nil)
		Expect(k8s.Create(ctx, optedIn(plain, "web", "be-"+plain+"-web", nil))).To(Succeed())
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKey{Namespace: plain, Name: "web"}, &v1alpha1.BackendGroup{})
		}).WithContext(ctx).Should(Succeed(), "the group exists, so the webhook would gate the pod if it were called")
		expectGated(ctx, plain, labels)
		expectGated(ctx, labelled, labels, gateOf("web"))

		By("switching back to all namespaces: the label requirement goes, and the unlabelled namespace is gated")
		restartManager(defaultOptions(), nil)
		Eventually(configDifferences).WithContext(ctx).Should(BeEmpty())
		Expect(liveNamespaceSelector(ctx).MatchLabels).To(BeEmpty())
		Eventually(func() ([]string, error) {
			pod, err := createPod(ctx, plain, labels, client.DryRunAll)
			return gates(pod), err
		}).WithContext(ctx).Should(Equal([]string{gateOf("web")}))
	})

	It("with failurePolicy Fail and the operator stopped, still admits pods in unlabelled namespaces", func(ctx SpecContext) {
		o := labelledOptions()
		o.FailurePolicy = admissionregistrationv1.Fail
		restartManager(o, nil)
		Eventually(configDifferences).WithContext(ctx).Should(BeEmpty())
		labelled, plain := newLabelledNamespace(ctx), newNamespace(ctx)

		By("stopping the operator: nothing listens where the configuration points")
		mgr.stop()
		// Until the apiserver has loaded the new configuration, the suite's
		// (failurePolicy Ignore) admits everything; a refusal in the labelled
		// namespace shows the new one is in force.
		Eventually(func() error {
			_, err := createPod(ctx, labelled, labels, client.DryRunAll)
			return err
		}).WithContext(ctx).Should(MatchError(ContainSubstring("failed calling webhook")))

		By("a pod of an unlabelled namespace is created, without gates")
		pod, err := createPod(ctx, plain, labels)
		Expect(err).NotTo(HaveOccurred(), "namespace %s is outside the webhook's namespaceSelector", plain)
		Expect(gates(pod)).To(BeEmpty())

		By("a pod of the labelled namespace is refused: the selector, not the policy, let the other one through")
		_, err = createPod(ctx, labelled, labels)
		Expect(err).To(MatchError(And(ContainSubstring("failed calling webhook"), ContainSubstring(webhookcfg.WebhookName))))
	})
})
