package webhookcfg_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
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

	It("give cert-manager's Certificate the Secret and names the operator serves", func() {
		raw, err := os.ReadFile(filepath.Join("..", "..", "config", "certmanager", "certificate.yaml"))
		Expect(err).NotTo(HaveOccurred())
		var cert struct {
			Metadata struct{ Name, Namespace string }
			Spec     struct {
				SecretName string   `json:"secretName"`
				DNSNames   []string `json:"dnsNames"`
			}
		}
		Expect(yaml.Unmarshal(raw, &cert)).To(Succeed())
		o := inCluster()
		Expect(cert.Metadata.Namespace).To(Equal(o.Namespace))
		Expect(cert.Spec.SecretName).To(Equal(o.SecretName))
		Expect(cert.Spec.DNSNames).To(ContainElement(o.ServiceName + "." + o.Namespace + ".svc"))
	})
})
