package webhookcfg_test

import (
	"net"
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbgate/lbgate/certs"
	"github.com/lbgate/lbgate/controllers/webhookcfg"
)

// In cluster the configuration names the webhook Service, and the apiserver
// checks the served certificate against the Service's DNS name
// (<service>.<namespace>.svc), not against the address it dials. This
// machine has no kube-proxy to route a ClusterIP, so the Service here is an
// ExternalName Service pointing at 127.0.0.1: the apiserver resolves it to
// that address and still verifies the certificate as for any Service.
var _ = Describe("In cluster (Service mode)", func() {
	It("is called by the apiserver through its Service, which checks the certificate against the Service's DNS name", func(ctx SpecContext) {
		o := defaultOptions()
		o.URL = ""
		o.Port = freePort()
		o.ServicePort = int32(o.Port) // an ExternalName Service does not map ports
		o.FailurePolicy = admissionregistrationv1.Fail

		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: o.ServiceName},
			Spec: corev1.ServiceSpec{
				Type:         corev1.ServiceTypeExternalName,
				ExternalName: "127.0.0.1",
				Ports:        []corev1.ServicePort{{Name: "https", Port: o.ServicePort}},
			},
		}
		Expect(k8s.Create(ctx, svc)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { Expect(k8s.Delete(ctx, svc)).To(Succeed()) })
		replaceManager(o, nil)

		By("the configuration names the Service, its port and path, with a caBundle that trusts what is served")
		Eventually(configDifferences).WithContext(ctx).Should(BeEmpty())
		ref := getConfig(ctx).Webhooks[0].ClientConfig
		Expect(ref.URL).To(BeNil())
		Expect(ref.Service).To(Equal(&admissionregistrationv1.ServiceReference{
			Namespace: operatorNS, Name: o.ServiceName, Path: ptr(webhookcfg.Path), Port: ptr(o.ServicePort),
		}))
		Eventually(mgr.ready).Should(Succeed())
		dnsName := o.ServiceName + "." + operatorNS + ".svc"
		cert, err := certs.ServedCertificate(ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Port)), dnsName)
		Expect(err).NotTo(HaveOccurred())
		Expect(cert.VerifyHostname(dnsName)).To(Succeed())
		Expect(certs.Verifies(liveCABundle(ctx), cert)).To(Succeed())

		By("a pod created through the apiserver gets its gate (failurePolicy Fail: a TLS error would reject it)")
		ns := newNamespace(ctx)
		createService(ctx, ns, "web", map[string]string{"app": "web"}, nil)
		Eventually(func() ([]string, error) {
			pod, err := createPod(ctx, ns, map[string]string{"app": "web"})
			if err != nil {
				return nil, err
			}
			return gates(pod), nil
		}).Should(Equal([]string{gateOf("web")}))
	})
})
