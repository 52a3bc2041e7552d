package webhookcfg_test

import (
	"bytes"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/certs"
	"github.com/lbgate/lbgate/controllers/webhookcfg"
)

var _ = Describe("The certificate Secret", func() {
	var (
		ns     string
		labels = map[string]string{"app": "web"}
	)
	BeforeEach(func(ctx SpecContext) {
		ns = newNamespace(ctx)
		createService(ctx, ns, "web", labels, nil)
		Eventually(servingTrusted).WithContext(ctx).Should(Succeed())
	})

	It("is regenerated when deleted, and pod creation keeps getting gates without a restart", func(ctx SpecContext) {
		before, err := storedBundle(ctx)
		Expect(err).NotTo(HaveOccurred())
		p := startProbe(ns, labels, gateOf("web"), 50*time.Millisecond)
		Eventually(func() int { return len(p.snapshot()) }).Should(BeNumerically(">=", 3))

		deleted := time.Now()
		Expect(k8s.Delete(ctx, getSecret(ctx))).To(Succeed())

		By("the Secret comes back with a new CA, which the caBundle takes")
		var after *certs.Bundle
		Eventually(func() error {
			after, err = storedBundle(ctx)
			return err
		}).Should(Succeed())
		recreated := time.Since(deleted)
		Expect(after.CA.Cert.Equal(before.CA.Cert)).To(BeFalse(), "the CA was regenerated")
		Eventually(func() bool { return certs.CABundleHas(liveCABundle(ctx), after.CA.Cert) }).Should(BeTrue())

		By("the webhook ends up serving a certificate from the new CA, and only the new CA stays trusted")
		Eventually(func() error {
			b, err := storedBundle(ctx)
			if err != nil {
				return err
			}
			if b.PreviousCA != nil || b.Serving.Cert.CheckSignatureFrom(b.CA.Cert) != nil {
				return errString("rotation not finished")
			}
			if !bytes.Equal(liveCABundle(ctx), b.CABundle()) {
				return errString("caBundle not final")
			}
			return servingTrusted(ctx)
		}).WithTimeout(30 * time.Second).Should(Succeed())
		repaired := time.Since(deleted)

		results := p.stop()
		failed, ungated, firstErr := failures(results)
		firstGated, ok := firstGatedAfter(results, deleted)
		Expect(ok).To(BeTrue(), "a gated pod was created after the deletion")
		report("Secret deleted", "first pod created with gates after %s; Secret recreated in %s; certificate from the new CA served and trusted in %s; %d probe pods, %d failed, %d without gates",
			firstGated.Sub(deleted).Round(time.Millisecond), recreated.Round(time.Millisecond), repaired.Round(time.Millisecond), len(results), failed, ungated)
		Expect(firstErr).NotTo(HaveOccurred())
		Expect(failed).To(BeZero())
		Expect(ungated).To(BeZero())
	})

	DescribeTable("is detected and regenerated when corrupted",
		func(ctx SpecContext, corrupt func(cur *certs.Bundle) map[string][]byte, reason certs.Reason) {
			cur, err := storedBundle(ctx)
			Expect(err).NotTo(HaveOccurred())
			data := corrupt(cur)
			_, loadErr := certs.Load(data, time.Now(), certOptions().Names())
			Expect(certs.ReasonOf(loadErr)).To(Equal(reason), "the corruption is the intended one: %v", loadErr)
			Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error { // the operator may be writing it right now
				secret := getSecret(ctx)
				secret.Data = data
				return k8s.Update(ctx, secret, client.FieldOwner("test-corrupter"))
			})).To(Succeed())
			corrupted := time.Now()

			Eventually(func() error {
				_, err := storedBundle(ctx)
				return err
			}).Should(Succeed())
			fixed := time.Since(corrupted)
			Eventually(eventNotes(ctx, operatorNS, "Secret", secretKey().Name, webhookcfg.ReasonCertificateRepaired)).
				Should(ContainElement(ContainSubstring(string(reason))))
			Eventually(servingTrusted).WithContext(ctx).Should(Succeed())
			expectGated(ctx, ns, labels, gateOf("web"))
			report("Secret corrupted", "%s repaired in %s", reason, fixed.Round(time.Millisecond))
		},
		Entry("garbage", func(cur *certs.Bundle) map[string][]byte {
			return withData(cur.Encode(), certs.KeyTLSCert, []byte("garbage"))
		}, certs.ReasonBadPEM),
		Entry("a serving key that does not match the certificate", func(cur *certs.Bundle) map[string][]byte {
			other := mustGenerate(certOptions())
			return withData(cur.Encode(), certs.KeyTLSKey, other.Serving.KeyPEM)
		}, certs.ReasonKeyMismatch),
		Entry("a serving certificate for the wrong names", func(cur *certs.Bundle) map[string][]byte {
			wrong, err := cur.RenewLeaf(certs.Options{ServiceName: "someone-else", Namespace: "elsewhere"})
			Expect(err).NotTo(HaveOccurred())
			return wrong.Encode()
		}, certs.ReasonMissingSAN),
		Entry("an expired serving certificate", func(cur *certs.Bundle) map[string][]byte {
			o := certOptions()
			o.Now = func() time.Time { return time.Now().Add(-3 * time.Hour) }
			o.LeafLifetime, o.CALifetime = time.Hour, 24*time.Hour
			expired, err := cur.RenewLeaf(o)
			Expect(err).NotTo(HaveOccurred())
			return expired.Encode()
		}, certs.ReasonExpired),
		Entry("a serving certificate from a different CA", func(cur *certs.Bundle) map[string][]byte {
			other := mustGenerate(certOptions())
			return withData(cur.Encode(), certs.KeyTLSCert, other.Serving.CertPEM, certs.KeyTLSKey, other.Serving.KeyPEM)
		}, certs.ReasonNotSignedByCA),
	)
})

// withData returns a copy of data with key/value pairs replaced.
func withData(data map[string][]byte, kv ...any) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range data {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1].([]byte)
	}
	return out
}

func mustGenerate(o certs.Options) *certs.Bundle {
	b, err := certs.Generate(o)
	Expect(err).NotTo(HaveOccurred())
	return b
}

type errString string

func (e errString) Error() string { return string(e) }
