//go:build e2e

package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/lbgate/lbgate/e2e/stack"
)

// The e2e suite runs the whole stack of e2e/stack: a real control plane,
// the node simulator, a real HAProxy, the real lbgate binary and a load
// generator. It proves what only a whole cluster shows: rollouts that wait
// for the load balancer and drop no request.

var (
	st  *stack.Stack
	bg  context.Context
	dir string
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(2 * time.Minute)
	SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	RunSpecs(t, "lbgate end-to-end")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter)))
	bg = context.Background()
	module, err := filepath.Abs("..")
	Expect(err).NotTo(HaveOccurred())
	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(), "run with 'make e2e', which builds the control plane into bin/k8s")
	// lbgate runs with its default resync interval (1m): nothing here may
	// depend on a resync to recover (an HAProxy restart must not).
	st, err = stack.Start(bg, stack.Options{
		ModuleDir: module,
		Backends: []string{"be_basic", "be_roll_roll", "be_roll_rollnew", "be_base", "be_broken", "be_fault", "be_op", "be_scale", "be_bluegreen", "be_sticky", "be_together",
			"be_restart", "be_state", "be_zerodrop", "be_zerodrop_off", "be_quota", "be_timeout", "be_idle"},
		// Short, so the quota scenario sees a blocked rollout reported soon.
		OperatorArgs: []string{"--rollout-blocked-after=5s"},
		// be_state is configured as the README's reload-safe HAProxy section says.
		DeclaredSlots: map[string]int{"be_state": 10},
		ServerState:   true,
		Logf:          func(f string, a ...any) { GinkgoWriter.Printf(f+"\n", a...) },
	})
	Expect(err).NotTo(HaveOccurred())
	dir = st.WorkDir()
}, NodeTimeout(5*time.Minute))

var _ = AfterSuite(func() {
	if st == nil {
		return
	}
	if CurrentSpecReport().Failed() {
		st.KeepWorkDir()
		GinkgoWriter.Printf("logs kept in %s\n", dir)
	}
	Expect(st.Stop()).To(Succeed())
})

var _ = ReportAfterEach(func(r SpecReport) {
	if r.Failed() && st != nil {
		st.KeepWorkDir()
		GinkgoWriter.Printf("logs kept in %s (lbgate: %s)\n", dir, st.Operator.LogPath())
	}
})
