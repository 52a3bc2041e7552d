package webhookcfg_test

import (
	"net"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/certs"
)

var _ = Describe("A replica that is not the leader", func() {
	It("serves the Secret's certificate, follows it, and never writes", func(ctx SpecContext) {
		const leaseName = "lbgate-test-leader"
		By("another replica holds the leadership")
		lease := &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: leaseName},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr("another-replica"),
				LeaseDurationSeconds: ptr[int32](3600),
				AcquireTime:          &metav1.MicroTime{Time: time.Now()},
				RenewTime:            &metav1.MicroTime{Time: time.Now()},
			},
		}
		Expect(k8s.Create(ctx, lease)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { Expect(k8s.Delete(ctx, lease)).To(Succeed()) })

		follower := defaultOptions()
		follower.Port = freePort()
		replaceManager(follower, nil, func(mo *ctrl.Options) {
			mo.LeaderElection = true
			mo.LeaderElectionID = leaseName
			mo.LeaderElectionNamespace = operatorNS
			mo.LeaseDuration, mo.RenewDeadline, mo.RetryPeriod = ptr(time.Hour), ptr(50*time.Minute), ptr(time.Second)
		})
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(follower.Port))
		servesSecret := func() error {
			b, err := storedBundle(ctx)
			if err != nil {
				return err
			}
			cert, err := certs.ServedCertificate(ctx, addr, "127.0.0.1")
			if err != nil {
				return err
			}
			if !cert.Equal(b.Serving.Cert) {
				return errString("not serving the Secret's certificate")
			}
			return nil
		}

		By("it serves and is ready")
		Eventually(servesSecret).Should(Succeed())
		Eventually(mgr.ready).Should(Succeed())

		By("it follows a new certificate in the Secret")
		cur, err := storedBundle(ctx)
		Expect(err).NotTo(HaveOccurred())
		renewed, err := cur.RenewLeaf(certOptions())
		Expect(err).NotTo(HaveOccurred())
		secret := getSecret(ctx)
		Expect(renewed.WriteSecret(secret)).To(Succeed())
		Expect(k8s.Update(ctx, secret, client.FieldOwner("the-leader"))).To(Succeed())
		Eventually(servesSecret).Should(Succeed())

		By("it repairs nothing: a deleted configuration stays deleted, and it says it is not ready")
		Expect(k8s.Delete(ctx, getConfig(ctx))).To(Succeed())
		Consistently(func() bool { return getConfig(ctx) == nil }).Should(BeTrue())
		Expect(mgr.ready()).To(MatchError(ContainSubstring("not found")))
	})
})
