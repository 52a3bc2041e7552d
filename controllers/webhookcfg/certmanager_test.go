package webhookcfg_test

import (
	"bytes"
	"context"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/certs"
	"github.com/lbgate/lbgate/controllers/webhookcfg"
)

// Field managers of the stand-in cert-manager.
const (
	certManagerWriter = "cert-manager-certificates"
	caInjectorWriter  = "cert-manager-cainjector"
)

// writeAudit watches the Secret and the configuration and records every
// write that changed the Secret or the caBundle, by resourceVersion, so a
// test can tell its own writes from anyone else's.
type writeAudit struct {
	mu            sync.Mutex
	secretWrites  []string
	caBundleWrite []string
	ours          map[string]bool
	stopFns       []func()
	wg            sync.WaitGroup
}

func startAudit(ctx context.Context) *writeAudit {
	a := &writeAudit{ours: map[string]bool{}}
	secrets := &corev1.SecretList{}
	Expect(k8s.List(ctx, secrets, client.InNamespace(operatorNS))).To(Succeed())
	sw, err := k8s.Watch(ctx, &corev1.SecretList{}, client.InNamespace(operatorNS),
		client.MatchingFields{"metadata.name": mgr.opts.SecretName}, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: secrets.ResourceVersion}})
	Expect(err).NotTo(HaveOccurred())
	configs := &admissionregistrationv1.MutatingWebhookConfigurationList{}
	Expect(k8s.List(ctx, configs)).To(Succeed())
	cw, err := k8s.Watch(ctx, &admissionregistrationv1.MutatingWebhookConfigurationList{},
		client.MatchingFields{"metadata.name": mgr.opts.ConfigName}, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: configs.ResourceVersion}})
	Expect(err).NotTo(HaveOccurred())
	lastCA := liveCABundle(ctx)
	a.stopFns = []func(){sw.Stop, cw.Stop}
	a.wg.Add(2)
	go func() {
		defer a.wg.Done()
		for ev := range sw.ResultChan() {
			if s, ok := ev.Object.(*corev1.Secret); ok && ev.Type != watch.Bookmark {
				a.record(&a.secretWrites, s.ResourceVersion)
			}
		}
	}()
	go func() {
		defer a.wg.Done()
		for ev := range cw.ResultChan() {
			c, ok := ev.Object.(*admissionregistrationv1.MutatingWebhookConfiguration)
			if !ok || ev.Type == watch.Bookmark {
				continue
			}
			var ca []byte
			for _, w := range c.Webhooks {
				if w.Name == webhookcfg.WebhookName {
					ca = w.ClientConfig.CABundle
				}
			}
			if !bytes.Equal(ca, lastCA) {
				a.record(&a.caBundleWrite, c.ResourceVersion)
				lastCA = ca
			}
		}
	}()
	return a
}

func (a *writeAudit) record(list *[]string, rv string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	*list = append(*list, rv)
}

// ourWrite marks a resourceVersion as written by the test (cert-manager's stand-in).
func (a *writeAudit) ourWrite(rv string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ours[rv] = true
}

// foreign returns the writes to the Secret and to the caBundle the test did not make.
func (a *writeAudit) foreign() (secret, caBundle []string) {
	for _, stop := range a.stopFns {
		stop()
	}
	a.wg.Wait()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, rv := range a.secretWrites {
		if !a.ours[rv] {
			secret = append(secret, rv)
		}
	}
	for _, rv := range a.caBundleWrite {
		if !a.ours[rv] {
			caBundle = append(caBundle, rv)
		}
	}
	return secret, caBundle
}

// counts returns how many Secret and caBundle writes were seen.
func (a *writeAudit) counts() (secret, caBundle int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.secretWrites), len(a.caBundleWrite)
}

var _ = Describe("cert-manager mode", func() {
	It("serves cert-manager's Secret, follows its renewals without a restart, and never writes the Secret or the caBundle", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		labels := map[string]string{"app": "web"}
		createService(ctx, ns, "web", labels, nil)

		issuer := mustGenerate(certOptions()) // cert-manager's CA and first certificate
		otherCA := mustGenerate(certOptions())
		o := defaultOptions()
		o.CertSource, o.CertManagerCertificate = webhookcfg.CertSourceCertManager, "lbgate-serving-cert"
		var audit *writeAudit
		replaceManager(o, func() {
			By("cert-manager issues the Secret; the caBundle holds another CA only")
			deleteSecret(ctx)
			Expect(k8s.Create(ctx, certManagerSecret(issuer), client.FieldOwner(certManagerWriter))).To(Succeed())
			setCABundle(ctx, otherCA.CABundle())
			audit = startAudit(ctx)
		})

		By("the replica is not ready and says why; the rest of the configuration is repaired")
		Eventually(mgr.ready).Should(MatchError(ContainSubstring("does not trust the served certificate")))
		Eventually(eventNotes(ctx, "default", "MutatingWebhookConfiguration", o.ConfigName, webhookcfg.ReasonCABundleNotTrusted)).ShouldNot(BeEmpty())
		Eventually(func() string { return getConfig(ctx).Annotations[webhookcfg.InjectCAFromAnnotation] }).
			Should(Equal(operatorNS + "/lbgate-serving-cert"))

		By("the cainjector puts cert-manager's CA beside the other one: ready, pods gated")
		audit.ourWrite(setCABundle(ctx, append(append([]byte{}, otherCA.CABundle()...), issuer.CABundle()...)))
		Eventually(mgr.ready).Should(Succeed())
		Eventually(servesTrusted(ctx, issuer)).Should(Succeed())
		expectGated(ctx, ns, labels, gateOf("web"))

		By("an edit of the configuration is put back, the caBundle left alone")
		cfg := getConfig(ctx)
		cfg.Webhooks[0].FailurePolicy = ptr(admissionregistrationv1.Fail)
		Expect(k8s.Update(ctx, cfg, client.FieldOwner("kubectl-edit"))).To(Succeed())
		Eventually(func() admissionregistrationv1.FailurePolicyType { return *getConfig(ctx).Webhooks[0].FailurePolicy }).
			Should(Equal(admissionregistrationv1.Ignore))

		By("cert-manager renews the certificate: served without a restart")
		renewed, err := issuer.RenewLeaf(certOptions())
		Expect(err).NotTo(HaveOccurred())
		secret := getSecret(ctx)
		secret.Data = certManagerSecret(renewed).Data
		Expect(k8s.Update(ctx, secret, client.FieldOwner(certManagerWriter))).To(Succeed())
		audit.ourWrite(secret.ResourceVersion)
		Eventually(servesTrusted(ctx, renewed)).Should(Succeed())
		expectGated(ctx, ns, labels, gateOf("web"))

		By("every write to the Secret and the caBundle was cert-manager's")
		Consistently(mgr.ready).Should(Succeed())
		secretWrites, caWrites := audit.counts()
		foreignSecret, foreignCA := audit.foreign()
		report("cert-manager mode", "%d Secret writes and %d caBundle writes seen, %d and %d of them not cert-manager's",
			secretWrites, caWrites, len(foreignSecret), len(foreignCA))
		Expect(foreignSecret).To(BeEmpty(), "lbgate wrote the Secret")
		Expect(foreignCA).To(BeEmpty(), "lbgate wrote the caBundle")
		Expect(secretWrites).To(Equal(1))
		Expect(caWrites).To(Equal(1))
		for _, mf := range getSecret(ctx).ManagedFields {
			Expect(mf.Manager).NotTo(Equal(webhookcfg.FieldManager), "lbgate manages no field of the Secret")
		}
		for _, mf := range getConfig(ctx).ManagedFields {
			if mf.Manager == webhookcfg.FieldManager && mf.FieldsV1 != nil {
				Expect(mf.FieldsV1.GetRawString()).NotTo(ContainSubstring("caBundle"), "lbgate owns no caBundle")
			}
		}
	})
})

// servesTrusted checks that the webhook serves b's certificate and the live caBundle trusts it.
func servesTrusted(ctx context.Context, b *certs.Bundle) func() error {
	return func() error {
		cert, err := served(ctx)
		if err != nil {
			return err
		}
		if !cert.Equal(b.Serving.Cert) {
			return errString("not serving the expected certificate yet")
		}
		return certs.Verifies(liveCABundle(ctx), cert)
	}
}

// certManagerSecret is the Secret a cert-manager Certificate writes.
func certManagerSecret(b *certs.Bundle) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: operatorNS, Name: defaultOptions().SecretName,
			Annotations: map[string]string{"cert-manager.io/certificate-name": "lbgate-serving-cert"},
		},
		Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey:       b.Serving.CertPEM,
			corev1.TLSPrivateKeyKey: b.Serving.KeyPEM,
			certs.KeyCACert:         b.CA.CertPEM,
		},
	}
}

// setCABundle writes the caBundle as the cainjector does and returns the new resourceVersion.
func setCABundle(ctx context.Context, caBundle []byte) string {
	c := getConfig(ctx)
	Expect(c).NotTo(BeNil())
	for i := range c.Webhooks {
		if c.Webhooks[i].Name == webhookcfg.WebhookName {
			c.Webhooks[i].ClientConfig.CABundle = caBundle
		}
	}
	Expect(k8s.Update(ctx, c, client.FieldOwner(caInjectorWriter))).To(Succeed())
	return c.ResourceVersion
}
