//go:build e2e

package e2e_test

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lbgate/lbgate/e2e/stack"
)

// HAProxy restarts and reloads under load, with lbgate on its default resync
// interval: the restart detection alone brings the pods back. The table of
// the three runs is reported side by side.
var _ = Describe("HAProxy restarts and reloads under load", Ordered, func() {
	const rps = 200
	var runs []*stack.Disruption
	dynamic := app("hapx-restart", "be_restart", 6)
	declared := app("hapx-state", "be_state", 6)

	BeforeAll(func(ctx SpecContext) {
		Expect(st.Deploy(ctx, dynamic)).To(Succeed())
		Expect(st.Deploy(ctx, declared)).To(Succeed())
	}, NodeTimeout(4*time.Minute))

	AfterAll(func() {
		rows := []string{stack.DisruptionHeader}
		for _, d := range runs {
			rows = append(rows, d.Row())
		}
		table := strings.Join(rows, "\n")
		AddReportEntry("HAProxy restart and reload, side by side", table)
		GinkgoWriter.Println(table)
	})

	measure := func(ctx SpecContext, a stack.App, what string, disrupt func() error) *stack.Disruption {
		d, err := st.Disrupt(ctx, a, rps, what, disrupt)
		Expect(err).NotTo(HaveOccurred())
		runs = append(runs, d)
		GinkgoWriter.Println(d.Row())
		return d
	}

	It("brings traffic back within 2s of a restart (stop, start)", func(ctx SpecContext) {
		d := measure(ctx, dynamic, "restart", st.HAProxy.Reload)
		Expect(d.TrafficBack()).To(BeNumerically("<=", 2*time.Second), d.Load.Table())
	}, SpecTimeout(2*time.Minute))

	It("brings traffic back within 2s of a graceful reload (haproxy -sf)", func(ctx SpecContext) {
		d := measure(ctx, dynamic, "reload (-sf)", func() error { return st.HAProxy.ReloadGracefully(false) })
		Expect(d.TrafficBack()).To(BeNumerically("<=", 2*time.Second), d.Load.Table())
	}, SpecTimeout(2*time.Minute))

	It("loses nothing on a reload with declared slots and a server-state-file", func(ctx SpecContext) {
		// The reloads above emptied this backend too (no state file then); lbgate refilled it.
		Expect(st.WaitServersUp(ctx, declared.Backend, int(declared.Replicas), time.Minute)).To(Succeed())
		d := measure(ctx, declared, "reload (-sf -x), declared slots + state file", func() error { return st.HAProxy.ReloadGracefully(true) })
		Expect(d.Load.Failed).To(BeZero(), d.Load.Table())
	}, SpecTimeout(2*time.Minute))
})
