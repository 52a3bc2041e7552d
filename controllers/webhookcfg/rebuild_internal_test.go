package webhookcfg

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/lbgate/lbgate/certs"
)

// Internal specs of the decisions behind a gap-free repair, without an apiserver.
var _ = Describe("Rebuilding an invalid Secret", func() {
	var (
		o      Options
		served *certs.Bundle
		r      *Reconciler
		now    time.Time
	)
	configTrusting := func(b *certs.Bundle) *admissionregistrationv1.MutatingWebhookConfiguration {
		return Desired(o, b.CABundle())
	}
	BeforeEach(func() {
		o = Options{Namespace: "lbgate-system", ServiceName: "svc", ConfigName: "cfg", SecretName: "s",
			URL: "https://127.0.0.1:9443" + Path, Port: 9443}.withDefaults()
		var err error
		served, err = certs.Generate(o.certOptions())
		Expect(err).NotTo(HaveOccurred())
		r = &Reconciler{Keeper: &certs.Keeper{}, Options: o}
		Expect(r.Keeper.Update(served)).To(Succeed())
		now = time.Now()
	})

	It("reissues only the serving certificate when the Secret's CA is good and trusted", func() {
		broken := &certs.Bundle{CA: served.CA, Serving: certs.KeyPair{}}
		b, _, err := r.rebuild(&round{now: now, config: configTrusting(served)}, broken)
		Expect(err).NotTo(HaveOccurred())
		Expect(b.CA.Cert.Equal(served.CA.Cert)).To(BeTrue())
		Expect(b.Serving.Cert.Equal(served.Serving.Cert)).To(BeFalse())
		Expect(certs.Verifies(served.CABundle(), b.Serving.Cert)).To(Succeed(), "the live caBundle trusts it at once")
	})

	It("keeps the served certificate beside a new CA when the Secret is gone", func() {
		b, _, err := r.rebuild(&round{now: now, config: configTrusting(served)}, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(b.Serving.Cert.Equal(served.Serving.Cert)).To(BeTrue(), "nothing served changes yet")
		Expect(b.CA.Cert.Equal(served.CA.Cert)).To(BeFalse(), "a new CA")
		Expect(b.PreviousCA.Cert.Equal(served.CA.Cert)).To(BeTrue(), "the old CA stays in the caBundle")
		Expect(b.Plan(now, certs.Observed{CABundleLive: true})).To(Equal(certs.ActionIssueFromNewCA))
	})

	It("starts afresh when nothing served is trusted", func() {
		other, err := certs.Generate(o.certOptions())
		Expect(err).NotTo(HaveOccurred())
		b, _, err := r.rebuild(&round{now: now, config: configTrusting(other)}, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(b.PreviousCA).To(BeNil())
		Expect(b.CA.Cert.Equal(served.CA.Cert) || b.CA.Cert.Equal(other.CA.Cert)).To(BeFalse())
	})
})

var _ = Describe("Finding the replicas", func() {
	It("probes the local server out of cluster and every running operator pod in cluster", func(ctx context.Context) {
		labels := map[string]string{"app.kubernetes.io/name": "lbgate"}
		pod := func(name, ip string, phase corev1.PodPhase) *corev1.Pod {
			return &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Namespace: "lbgate-system", Name: name, Labels: labels},
				Status:     corev1.PodStatus{Phase: phase, PodIP: ip},
			}
		}
		reader := fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).WithObjects(
			pod("a", "127.0.1.1", corev1.PodRunning),
			pod("b", "127.0.1.2", corev1.PodRunning),
			pod("starting", "", corev1.PodPending),
		).Build()
		o := Options{Namespace: "lbgate-system", Port: 9443, Host: "127.0.0.1", OperatorPodLabels: labels, URL: "https://127.0.0.1:9443" + Path}
		r := &Reconciler{Pods: reader, Options: o}
		Expect(r.replicaAddrs(ctx)).To(Equal([]string{"127.0.0.1:9443"}))
		r.Options.URL = ""
		Expect(r.replicaAddrs(ctx)).To(ConsistOf("127.0.1.1:9443", "127.0.1.2:9443"))
	})
})
