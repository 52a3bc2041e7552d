package webhookcfg_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbgate/lbgate/controllers/webhookcfg"
)

// Pure checks of Desired and Differences (no apiserver involved).
var _ = Describe("Desired and Differences", func() {
	It("call the Service in cluster and the URL out of cluster", func() {
		o := defaultOptions()
		Expect(*webhookcfg.Desired(o, nil).Webhooks[0].ClientConfig.URL).To(Equal(o.URL))
		o.URL = ""
		svc := webhookcfg.Desired(o, nil).Webhooks[0].ClientConfig.Service
		Expect(svc).NotTo(BeNil())
		Expect(*svc).To(Equal(admissionregistrationv1.ServiceReference{
			Namespace: operatorNS, Name: o.ServiceName, Path: ptr(webhookcfg.Path), Port: ptr[int32](webhookcfg.DefaultServicePort),
		}))
	})

	It("exclude kube-system and the operator namespace, and the operator's pods", func() {
		w := webhookcfg.Desired(defaultOptions(), nil).Webhooks[0]
		Expect(w.NamespaceSelector.MatchExpressions).To(ConsistOf(metav1.LabelSelectorRequirement{
			Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"kube-system", operatorNS},
		}))
		Expect(w.ObjectSelector.MatchExpressions).To(ConsistOf(metav1.LabelSelectorRequirement{
			Key: webhookcfg.NameLabel, Operator: metav1.LabelSelectorOpNotIn, Values: []string{"lbgate"},
		}))
		Expect(*w.SideEffects).To(Equal(admissionregistrationv1.SideEffectClassNone))
		Expect(w.MatchConditions).To(HaveLen(1))
	})

	It("see only namespaces labelled lbgate.dev/webhook=enabled in labelled mode, never kube-system nor the operator's", func() {
		o := defaultOptions()
		Expect(webhookcfg.Desired(o, nil).Webhooks[0].NamespaceSelector.MatchLabels).To(BeEmpty())
		o.Namespaces = webhookcfg.NamespacesLabelled
		sel := webhookcfg.Desired(o, nil).Webhooks[0].NamespaceSelector
		Expect(sel.MatchLabels).To(Equal(map[string]string{"lbgate.dev/webhook": "enabled"}))
		Expect(sel.MatchExpressions).To(ConsistOf(metav1.LabelSelectorRequirement{
			Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"kube-system", operatorNS},
		}))

		By("a configuration of the other mode differs in its namespaceSelector only")
		Expect(webhookcfg.Differences(webhookcfg.Desired(defaultOptions(), nil), webhookcfg.Desired(o, nil), true)).
			To(Equal([]string{"namespaceSelector differs"}))
		Expect(webhookcfg.Differences(webhookcfg.Desired(o, nil), webhookcfg.Desired(defaultOptions(), nil), true)).
			To(Equal([]string{"namespaceSelector differs"}))
	})

	It("refuse an unknown namespace selection, naming it", func() {
		o := defaultOptions()
		o.FailurePolicy, o.TimeoutSeconds, o.CertSource = admissionregistrationv1.Ignore, 5, webhookcfg.CertSourceSelf // Setup defaults these before it validates
		Expect(o.Validate()).To(Succeed())
		o.Namespaces = "some"
		Expect(o.Validate()).To(MatchError(And(ContainSubstring(`"some"`), ContainSubstring("all or labelled"))))
	})

	It("ask cert-manager's cainjector for the caBundle in cert-manager mode", func() {
		o := defaultOptions()
		o.CertSource, o.CertManagerCertificate = webhookcfg.CertSourceCertManager, "serving-cert"
		Expect(webhookcfg.Desired(o, nil).Annotations).To(HaveKeyWithValue(webhookcfg.InjectCAFromAnnotation, operatorNS+"/serving-cert"))
		Expect(webhookcfg.Desired(defaultOptions(), nil).Annotations).NotTo(HaveKey(webhookcfg.InjectCAFromAnnotation))
	})

	DescribeTable("name each difference",
		func(edit func(*admissionregistrationv1.MutatingWebhookConfiguration), withCABundle bool, want []string) {
			want0 := webhookcfg.Desired(defaultOptions(), []byte("ca"))
			live := want0.DeepCopy()
			edit(live)
			if want == nil {
				Expect(webhookcfg.Differences(live, want0, withCABundle)).To(BeEmpty())
				return
			}
			Expect(webhookcfg.Differences(live, want0, withCABundle)).To(Equal(want))
		},
		Entry("none", func(*admissionregistrationv1.MutatingWebhookConfiguration) {}, true, nil),
		Entry("caBundle ignored when not lbgate's", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].ClientConfig.CABundle = []byte("other")
		}, false, nil),
		Entry("caBundle differs", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].ClientConfig.CABundle = []byte("other")
		}, true, []string{"caBundle differs"}),
		Entry("timeout and side effects", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].TimeoutSeconds = ptr[int32](30)
			c.Webhooks[0].SideEffects = ptr(admissionregistrationv1.SideEffectClassNoneOnDryRun)
		}, true, []string{"sideEffects differs", "timeoutSeconds differs"}),
		Entry("webhook renamed", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Webhooks[0].Name = "other.example.com"
		}, true, []string{`extra webhook "other.example.com"`, `webhook "pods.lbgate.dev" missing`}),
		Entry("label removed", func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			c.Labels = nil
		}, true, []string{`label app.kubernetes.io/managed-by is ""`}),
	)

	It("say a missing configuration is missing", func() {
		Expect(webhookcfg.Differences(nil, webhookcfg.Desired(defaultOptions(), nil), true)).To(Equal([]string{"configuration missing"}))
	})
})
