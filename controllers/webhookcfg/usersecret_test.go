package webhookcfg_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/certs"
	"github.com/lbgate/lbgate/controllers/webhookcfg"
)

var _ = Describe("A user-supplied Secret", func() {
	It("is never overwritten, is served while valid, and an event says why certificates are not managed", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		labels := map[string]string{"app": "web"}
		createService(ctx, ns, "web", labels, nil)
		DeferCleanup(func(ctx SpecContext) {
			deleteSecret(ctx)
			Eventually(servingTrusted).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
		})

		By("the user replaces the certificates and removes lbgate's label")
		user := mustGenerate(certOptions())
		secret := getSecret(ctx)
		delete(secret.Labels, certs.LabelManaged)
		secret.Data = withData(user.Encode())
		delete(secret.Data, certs.KeyCAKey)
		Expect(k8s.Update(ctx, secret, client.FieldOwner("user"))).To(Succeed())
		written := secret.ResourceVersion

		By("lbgate says so on the Secret and on the webhook configuration")
		Eventually(eventNotes(ctx, operatorNS, "Secret", secret.Name, webhookcfg.ReasonCertificateNotManaged)).
			Should(ContainElement(ContainSubstring("has no label " + certs.LabelManaged)))
		Eventually(eventNotes(ctx, "default", "MutatingWebhookConfiguration", mgr.opts.ConfigName, webhookcfg.ReasonCertificateNotManaged)).
			ShouldNot(BeEmpty())

		By("it serves the user's certificate and the caBundle trusts the user's CA")
		Eventually(func() error {
			cert, err := served(ctx)
			if err != nil {
				return err
			}
			if !cert.Equal(user.Serving.Cert) {
				return errString("not serving the user's certificate yet")
			}
			return certs.Verifies(liveCABundle(ctx), cert)
		}).Should(Succeed())
		Eventually(func() ([]string, error) {
			pod, err := createPod(ctx, ns, labels)
			return gates(pod), err
		}).Should(Equal([]string{gateOf("web")}))
		Expect(getSecret(ctx).ResourceVersion).To(Equal(written), "lbgate never writes the user's Secret")

		By("an invalid user Secret is reported and still never overwritten")
		secret = getSecret(ctx)
		secret.Data = withData(secret.Data, certs.KeyTLSCert, []byte("garbage"))
		Expect(k8s.Update(ctx, secret, client.FieldOwner("user"))).To(Succeed())
		written = secret.ResourceVersion
		Eventually(eventNotes(ctx, operatorNS, "Secret", secret.Name, webhookcfg.ReasonCertificateInvalid)).
			Should(ContainElement(ContainSubstring("BadPEM")))
		Consistently(func() string { return getSecret(ctx).ResourceVersion }).Should(Equal(written))
		cert, err := served(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(cert.Equal(user.Serving.Cert)).To(BeTrue(), "the last good certificate stays in service")
		expectGated(ctx, ns, labels, gateOf("web"))
	})
})
