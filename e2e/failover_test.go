//go:build e2e

package e2e_test

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lbgate/lbgate/e2e/stack"
)

var _ = stack.DeclareBackends("be_failover")

// Issue 13, item 4: lbgate as the install runs it, two replicas with
// leader election (the default lease: 15 s, renewed within 10 s, tried
// every 1 s), their webhooks behind one address. The leader is killed in
// the middle of a rollout under load, then the new leader is stopped
// gracefully. The rollout waits out the lease (about 15 s), so the first
// spec takes about a minute.
var _ = Describe("Failover between two replicas", Ordered, func() {
	const leaseDuration = 15 * time.Second
	var reps *stack.Replicas

	BeforeAll(func(ctx SpecContext) {
		var err error
		reps, err = st.StartReplicas(ctx, 2)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func(ctx SpecContext) {
			Expect(st.StopReplicas(ctx, reps)).To(Succeed())
		})
	})

	It("completes a rollout across a SIGKILL of the leader with zero failed requests and no orphaned servers", func(ctx SpecContext) {
		a := app("failover", "be_failover", 10)
		Expect(st.Deploy(ctx, a)).To(Succeed())
		var failover time.Duration
		var killed int
		res, err := st.RollOut(ctx, stack.Rollout{App: a, ToImage: stack.ImageV2, RPS: 200,
			During: func(ctx context.Context) error {
				// Mid-rollout: the first new pods are being checked.
				if err := sleepCtx(ctx, 3*time.Second); err != nil {
					return err
				}
				killed = reps.Leader()
				if killed < 0 {
					return fmt.Errorf("no replica leads")
				}
				at := time.Now()
				reps.Ops[killed].Kill()
				next, seen, err := reps.WaitLeader(ctx, killed, 2*leaseDuration)
				if err != nil {
					return err
				}
				failover = seen.Sub(at)
				GinkgoWriter.Printf("replica %d killed, replica %d leads %s later\n", killed, next, failover.Round(100*time.Millisecond))
				// The killed pod comes back, as its Deployment recreates it: the new standby.
				return reps.Ops[killed].Start(ctx)
			}})
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("failover", fmt.Sprintf("leader killed mid-rollout: the standby led %s later (lease %s); %s",
			failover.Round(100*time.Millisecond), leaseDuration, res.Summary("rollout across the failover")))
		Expect(res.Finished).To(BeTrue())
		Expect(res.Load.Failed).To(BeZero(), res.Load.Table())
		Expect(res.EarlyReady).To(BeEmpty())
		Expect(failover).To(BeNumerically("<", leaseDuration+3*time.Second), "the failover is bound by the lease duration")
		Eventually(func() []string {
			servers, err := st.Servers(a.Backend)
			Expect(err).NotTo(HaveOccurred())
			var addrs []string
			for addr := range servers {
				addrs = append(addrs, addr)
			}
			return addrs
		}).Should(ConsistOf(podAddrs(ctx, a)), "HAProxy holds exactly the current pods")
	}, SpecTimeout(6*time.Minute))

	It("hands over within 2 s when the leader stops gracefully", func(ctx SpecContext) {
		leader := reps.Leader()
		Expect(leader).To(BeNumerically(">=", 0))
		at := time.Now()
		reps.Ops[leader].Stop() // SIGTERM: the lease is released (LeaderElectionReleaseOnCancel)
		next, seen, err := reps.WaitLeader(ctx, leader, 2*leaseDuration)
		Expect(err).NotTo(HaveOccurred())
		handover := seen.Sub(at)
		AddReportEntry("graceful handover", fmt.Sprintf("replica %d stopped, replica %d led %s later", leader, next, handover.Round(10*time.Millisecond)))
		Expect(handover).To(BeNumerically("<", 2*time.Second))
	}, SpecTimeout(2*time.Minute))
})

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
