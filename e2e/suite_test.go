//go:build e2e

package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
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

var _ = BeforeSuite(func(_ SpecContext) {
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
	defer func() {
		if CurrentSpecReport().Failed() {
			st.KeepWorkDir()
			GinkgoWriter.Printf("logs kept in %s\n", dir)
		}
		Expect(st.Stop()).To(Succeed())
	}()
	checkOperatorRBAC()
})

// notSentInTheSuite are permissions of the install that lbgate needs but
// the suite's run does not send, each with why and where it is tested.
var notSentInTheSuite = map[stack.Permission]string{
	{Group: "", Resource: "events", Verb: "create"}: "core-API events in the operator namespace, sent in some runs only",
	{Group: "", Resource: "events", Verb: "patch"}:  "core-API events in the operator namespace, sent in some runs only",
	// Informers start with a streaming watch where the apiserver serves
	// one (client-go's WatchListClient), as here, and fall back to a list.
	{Group: "", Resource: "pods", Verb: "list"}:                                                      "informer fallback",
	{Group: "", Resource: "secrets", Verb: "list"}:                                                   "informer fallback; the start-up access check asks for it",
	{Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations", Verb: "list"}: "informer fallback; the start-up access check asks for it",
	// Paths the suite's scenarios do not take, each tested elsewhere.
	{Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations", Verb: "create"}: "the start-up access check asks for it; apply creates a missing configuration",
	{Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations", Verb: "update"}: "repair of a configuration apply cannot fix (controllers/webhookcfg envtests)",
	// reconcileMissing reads the group and its Service around the cache
	// before it releases the gate of a group the cache does not have: sent
	// when the cache sees pods before their group (the together spec, in
	// some runs: CI saw both refused before they were granted).
	{Group: "lbgate.dev", Resource: "backendgroups", Verb: "get"}:                     "live read of a group the cache lacks, some runs only (controllers envtests of missing groups)",
	{Group: "", Resource: "services", Verb: "get"}:                                    "live read of a missing group's Service, some runs only (controllers envtests of missing groups)",
	{Group: "lbgate.dev", Resource: "backendgroups", Verb: "patch"}:                   "a Service's annotations changed (controllers service envtests)",
	{Group: "apps", Resource: "statefulsets", Verb: "get"}:                            "the owner of a StatefulSet pod stuck on the quota (controllers quota envtests)",
	{Group: "authentication.k8s.io", Resource: "tokenreviews", Verb: "create"}:        "metrics scrapes (cmd/lbgate TestSecureMetrics); the suite turns metrics off",
	{Group: "authorization.k8s.io", Resource: "subjectaccessreviews", Verb: "create"}: "metrics scrapes (cmd/lbgate TestSecureMetrics); the suite turns metrics off",
}

// checkOperatorRBAC: lbgate runs as the install's ServiceAccount with the
// install's RBAC (issue 13): none of its requests may have been refused,
// and, once every spec has run, every permission the install grants was
// needed by some request (or is listed in notSentInTheSuite).
func checkOperatorRBAC() {
	use, err := st.OperatorRBACUse()
	Expect(err).NotTo(HaveOccurred())
	var sent []string
	for p, n := range use.Sent {
		sent = append(sent, fmt.Sprintf("%s ×%d", p, n))
	}
	sort.Strings(sent)
	GinkgoWriter.Printf("lbgate's requests by permission:\n  %s\n", strings.Join(sent, "\n  "))
	Expect(use.Forbidden).To(BeEmpty(), "requests of lbgate that the install's RBAC refused")
	suite, _ := GinkgoConfiguration()
	whole := len(suite.FocusStrings) == 0 && len(suite.SkipStrings) == 0 && len(suite.FocusFiles) == 0 && suite.LabelFilter == ""
	if whole {
		Expect(use.Unused(notSentInTheSuite)).To(BeEmpty(), "permissions of the install that lbgate never needed in the whole suite")
	}
}

var _ = ReportAfterEach(func(r SpecReport) {
	if r.Failed() && st != nil {
		st.KeepWorkDir()
		GinkgoWriter.Printf("logs kept in %s (lbgate: %s)\n", dir, st.Operator.LogPath())
	}
})
