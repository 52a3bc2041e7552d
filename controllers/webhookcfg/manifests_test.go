package webhookcfg_test

import (
	"os"
	"path/filepath"
	"strings"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/lbgate/lbgate/controllers/webhookcfg"
)

// The kustomize manifests and the operator must want the same configuration,
// or re-applying the manifests would undo the operator's repair and the
// operator would undo the manifests.
var _ = Describe("The kustomize manifests", func() {
	const prefix = "lbgate-" // config/default's namePrefix

	inCluster := func() webhookcfg.Options {
		o := defaultOptions()
		o.URL, o.ServiceName, o.ConfigName = "", "lbgate-webhook-service", "lbgate-pod-gates"
		return o
	}

	It("describe the webhook configuration the operator keeps", func() {
		raw, err := os.ReadFile(filepath.Join("..", "..", "config", "webhook", "mutatingwebhookconfiguration.yaml"))
		Expect(err).NotTo(HaveOccurred())
		manifest := &admissionregistrationv1.MutatingWebhookConfiguration{}
		Expect(yaml.UnmarshalStrict(raw, manifest)).To(Succeed())
		// What kustomize does to it in config/default.
		manifest.Name = prefix + manifest.Name
		svc := manifest.Webhooks[0].ClientConfig.Service
		svc.Name, svc.Namespace = prefix+svc.Name, operatorNS

		Expect(webhookcfg.Differences(manifest, webhookcfg.Desired(inCluster(), nil), false)).To(BeEmpty())
		Expect(manifest.Webhooks[0].ClientConfig.CABundle).To(BeEmpty(), "the caBundle is the operator's (or cert-manager's)")
	})

	It("give cert-manager valid objects: a serving Certificate for the Secret and names the operator serves, issued by a CA of its own", func() {
		// Every document of the overlay, strictly against cert-manager's API types.
		certificates, issuers := map[string]*cmv1.Certificate{}, map[string]*cmv1.Issuer{}
		for _, name := range []string{"certificate.yaml", "issuer.yaml"} {
			raw, err := os.ReadFile(filepath.Join("..", "..", "config", "certmanager", name))
			Expect(err).NotTo(HaveOccurred())
			for _, doc := range strings.Split(string(raw), "\n---\n") {
				var meta metav1.TypeMeta
				Expect(yaml.Unmarshal([]byte(doc), &meta)).To(Succeed())
				Expect(meta.APIVersion).To(Equal(cmv1.SchemeGroupVersion.String()), name)
				switch meta.Kind {
				case cmv1.CertificateKind:
					c := &cmv1.Certificate{}
					Expect(yaml.UnmarshalStrict([]byte(doc), c)).To(Succeed(), name)
					certificates[c.Name] = c
				case cmv1.IssuerKind:
					i := &cmv1.Issuer{}
					Expect(yaml.UnmarshalStrict([]byte(doc), i)).To(Succeed(), name)
					issuers[i.Name] = i
				default:
					Fail("unexpected kind " + meta.Kind + " in " + name)
				}
			}
		}

		o := inCluster()
		serving := certificates["lbgate-serving-cert"] // --cert-manager-certificate's default
		Expect(serving).NotTo(BeNil())
		Expect(serving.Namespace).To(Equal(o.Namespace))
		Expect(serving.Spec.SecretName).To(Equal(o.SecretName))
		Expect(serving.Spec.DNSNames).To(ContainElement(o.ServiceName + "." + o.Namespace + ".svc"))
		Expect(serving.Spec.IsCA).To(BeFalse())

		By("the serving certificate's Issuer is a CA whose certificate is lbgate's own, so the Secret's ca.crt is a real CA")
		caIssuer := issuers[serving.Spec.IssuerRef.Name]
		Expect(caIssuer).NotTo(BeNil(), "issuerRef %s", serving.Spec.IssuerRef.Name)
		Expect(caIssuer.Spec.CA).NotTo(BeNil())
		var ca *cmv1.Certificate
		for _, c := range certificates {
			if c.Spec.SecretName == caIssuer.Spec.CA.SecretName {
				ca = c
			}
		}
		Expect(ca).NotTo(BeNil(), "no Certificate fills the CA Secret %s", caIssuer.Spec.CA.SecretName)
		Expect(ca.Spec.IsCA).To(BeTrue())
		Expect(issuers[ca.Spec.IssuerRef.Name]).NotTo(BeNil())
		Expect(issuers[ca.Spec.IssuerRef.Name].Spec.SelfSigned).NotTo(BeNil())
	})
})
