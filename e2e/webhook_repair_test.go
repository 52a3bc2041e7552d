//go:build e2e

package e2e_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/e2e/stack"
)

// Issue 13, item 1: the full cycle under the install's RBAC includes the
// webhook's self-repair. Its configuration and its certificate Secret are
// broken by hand; lbgate, running as the install's ServiceAccount, puts
// them right, and the next pod is gated again. A request the RBAC refused
// would fail the suite (AfterSuite reads the audit log).
var _ = stack.DeclareBackends("be_repair")

var _ = Describe("Webhook self-repair under the install's RBAC", Ordered, func() {
	const secretName = "lbgate-webhook-certs"

	// gated creates a pod the opted-in Service selects and reports whether
	// the webhook gave it the Service's gate.
	gated := func(ctx SpecContext, a stack.App, name string) bool {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: a.Namespace, GenerateName: name + "-", Labels: map[string]string{"app": a.Name}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: stack.ImageV1}}},
		}
		Expect(st.Client.Create(ctx, pod)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { _ = st.Client.Delete(ctx, pod) })
		for _, g := range pod.Spec.ReadinessGates {
			if string(g.ConditionType) == v1alpha1.GateConditionType(a.Name) {
				return true
			}
		}
		return false
	}

	It("puts back a broken caBundle and a broken certificate, and gates the next pod", func(ctx SpecContext) {
		a := app("repair", "be_repair", 1)
		Expect(st.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: a.Namespace}})).To(Succeed())
		svc := a.Service()
		Expect(st.Client.Create(ctx, svc)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { _ = st.Client.Delete(ctx, svc) })
		Eventually(func() bool { return gated(ctx, a, "before") }).Should(BeTrue(), "the webhook gates pods of the opted-in Service")

		By("breaking the configuration's caBundle")
		mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
		Expect(st.Client.Get(ctx, client.ObjectKey{Name: stack.WebhookConfigName}, mwc)).To(Succeed())
		good := mwc.Webhooks[0].ClientConfig.CABundle
		before := mwc.DeepCopy()
		mwc.Webhooks[0].ClientConfig.CABundle = []byte("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
		Expect(st.Client.Patch(ctx, mwc, client.MergeFrom(before))).To(Succeed())
		Eventually(func() []byte {
			Expect(st.Client.Get(ctx, client.ObjectKey{Name: stack.WebhookConfigName}, mwc)).To(Succeed())
			return mwc.Webhooks[0].ClientConfig.CABundle
		}).Should(Equal(good), "lbgate puts its CA back")

		By("breaking the serving certificate in the Secret")
		secret := &corev1.Secret{}
		key := client.ObjectKey{Namespace: stack.OperatorNamespace, Name: secretName}
		Expect(st.Client.Get(ctx, key, secret)).To(Succeed())
		broken := secret.DeepCopy()
		broken.Data[corev1.TLSCertKey] = []byte("not a certificate")
		Expect(st.Client.Update(ctx, broken)).To(Succeed())
		Eventually(func() error {
			if err := st.Client.Get(ctx, key, secret); err != nil {
				return err
			}
			block, _ := pem.Decode(secret.Data[corev1.TLSCertKey])
			if block == nil {
				return errNotYet("the Secret's tls.crt is not PEM")
			}
			_, err := x509.ParseCertificate(block.Bytes)
			return err
		}).Should(Succeed(), "lbgate issues a serving certificate again")
		Eventually(func(g Gomega) {
			g.Expect(st.Client.Get(ctx, client.ObjectKey{Name: stack.WebhookConfigName}, mwc)).To(Succeed())
			g.Expect(bytes.Contains(mwc.Webhooks[0].ClientConfig.CABundle, []byte("broken"))).To(BeFalse())
		}).Should(Succeed())
		Eventually(func() bool { return gated(ctx, a, "after") }).Should(BeTrue(), "the webhook gates pods again")
	}, SpecTimeout(3*time.Minute))
})

type errNotYet string

func (e errNotYet) Error() string { return string(e) }
