package webhookcfg_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/controllers/webhookcfg"
)

// configDifferences compares the live configuration with what lbgate wants
// for the certificates the Secret holds.
func configDifferences(ctx context.Context) []string {
	b, err := storedBundle(ctx)
	if err != nil {
		return []string{err.Error()}
	}
	return webhookcfg.Differences(getConfig(ctx), webhookcfg.Desired(mgr.opts, b.CABundle()), true)
}

var _ = Describe("The webhook configuration", func() {
	var (
		ns     string
		labels = map[string]string{"app": "web"}
	)
	BeforeEach(func(ctx SpecContext) {
		ns = newNamespace(ctx)
		createService(ctx, ns, "web", labels, nil)
		Eventually(configDifferences).WithContext(ctx).Should(BeEmpty())
	})

	It("is recreated when deleted", func(ctx SpecContext) {
		Expect(k8s.Delete(ctx, getConfig(ctx))).To(Succeed())
		deleted := time.Now()
		Eventually(configDifferences).WithContext(ctx).Should(BeEmpty())
		report("configuration deleted", "recreated in %s", time.Since(deleted).Round(time.Millisecond))
		Eventually(servingTrusted).WithContext(ctx).Should(Succeed())
		Eventually(func() ([]string, error) {
			pod, err := createPod(ctx, ns, labels)
			return gates(pod), err
		}).Should(Equal([]string{gateOf("web")}))
	})

	DescribeTable("is put back when edited",
		func(ctx SpecContext, edit func(*admissionregistrationv1.MutatingWebhookConfiguration), difference string) {
			var cfg *admissionregistrationv1.MutatingWebhookConfiguration
			Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error { // the operator may be writing it right now
				cfg = getConfig(ctx)
				edit(cfg)
				return k8s.Update(ctx, cfg, client.FieldOwner("kubectl-edit"))
			})).To(Succeed())
			edited := time.Now()
			Eventually(configDifferences).WithContext(ctx).Should(BeEmpty())
			report("configuration edited", "%s: put back in %s", difference, time.Since(edited).Round(time.Millisecond))
			Eventually(eventNotes(ctx, "default", "MutatingWebhookConfiguration", cfg.Name, webhookcfg.ReasonConfigurationRepaired)).
				Should(ContainElement(ContainSubstring(difference)))
			Eventually(servingTrusted).WithContext(ctx).Should(Succeed())
			expectGated(ctx, ns, labels, gateOf("web"))
		},
		Entry("blank caBundle", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].ClientConfig.CABundle = nil
		}, "caBundle empty"),
		Entry("failurePolicy flipped", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].FailurePolicy = ptr(admissionregistrationv1.Fail)
		}, "failurePolicy Fail, want Ignore"),
		Entry("namespace selector removed", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].NamespaceSelector = nil
		}, "namespaceSelector differs"),
		Entry("extra rule", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].Rules = append(c.Webhooks[0].Rules, admissionregistrationv1.RuleWithOperations{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
			})
		}, "rules differs"),
		Entry("mirror-pod matchCondition removed", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].MatchConditions = nil
		}, "matchConditions differs"),
		Entry("client config pointed elsewhere", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].ClientConfig.URL = ptr("https://127.0.0.1:1/elsewhere")
		}, "clientConfig.url differs"),
		Entry("extra webhook", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			extra := c.Webhooks[0].DeepCopy()
			extra.Name = "extra.example.com"
			extra.Rules[0].Resources = []string{"configmaps"}
			c.Webhooks = append(c.Webhooks, *extra)
		}, `extra webhook "extra.example.com"`),
	)
})
