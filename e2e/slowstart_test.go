//go:build e2e

package e2e_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/e2e/stack"
	"github.com/lbgate/lbgate/providers/haproxy"
)

// The backends of this file, created with the suite's.
var _ = stack.DeclareBackends("be_slow_off", "be_slow_on", "be_slow_unpaced")

// Issue 10, item 3: slow start. The new version is slow while it warms up
// for 6 s after it starts listening: it serves one request at a time, each
// taking 80 ms (12.5 requests/s), while a pod's share of 200 requests/s over
// 10 to 13 pods is 15 to 20 requests/s. Its readiness endpoint and /healthz
// answer at once, so HAProxy finds it healthy within about a second and,
// without slow start, gives it its full share while it is still cold:
// requests queue on it. With lbgate.dev/slow-start its weight ramps up over
// 10 s from the moment HAProxy finds it healthy, so a cold pod gets less
// than it can serve.
//
// Slow start needs warm pods to take the rest: the Deployment keeps its old
// pods while the new ones ramp only with minReadySeconds (here 10 s, the
// ramp). Without it the gate opens as soon as HAProxy's check passes, the
// rollout ends within seconds, every pod is cold at once, and the ramp
// shifts nothing (the third run shows it).
var _ = Describe("Slow start", Ordered, func() {
	const replicas, rps = 10, 200
	const coldImage = "example.com/web:v2--warmup-6s--warmuplatency-80ms--warmupconcurrency-1"
	slowStart := map[string]string{v1alpha1.AnnotationSlowStart: "10s"}
	var off, on, unpaced *stack.RolloutResult

	rollout := func(ctx SpecContext, ns, backend string, annotations map[string]string, minReady int32) *stack.RolloutResult {
		a := stack.App{Namespace: ns, Name: "web", Backend: backend, Replicas: replicas, Image: stack.ImageV1,
			Annotations: annotations, MinReadySeconds: minReady}
		Expect(st.Deploy(ctx, a)).To(Succeed())
		if annotations[v1alpha1.AnnotationSlowStart] != "" {
			// The scenario starts from warm pods at full weight: the first
			// pods ramp too, for 10 s from when HAProxy found them healthy.
			Eventually(func() []string { return rampingServers(backend) }).WithTimeout(time.Minute).
				Should(BeEmpty(), "servers of %s still below their weight before the rollout", backend)
		}
		res, err := st.RollOut(ctx, stack.Rollout{App: a, ToImage: coldImage, RPS: rps})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.Finished).To(BeTrue())
		Expect(res.EarlyReady).To(BeEmpty())
		GinkgoWriter.Print(res.Load.Table())
		return res
	}

	AfterAll(func() {
		row := func(title string, r *stack.RolloutResult) string {
			if r == nil {
				return fmt.Sprintf("%-40s (not run)", title)
			}
			l := r.Load
			return fmt.Sprintf("%-40s %6d %7d %7s %7s %7s %8s", title, l.Sent, l.Failed,
				l.Latency.P50.Round(time.Millisecond), l.Latency.P99.Round(time.Millisecond), l.Latency.Max.Round(time.Millisecond), r.Duration.Round(100*time.Millisecond))
		}
		table := strings.Join([]string{
			fmt.Sprintf("10 replicas to a version that warms up for 6 s (one request at a time, 80 ms each), %d requests/s:", rps),
			fmt.Sprintf("%-40s %6s %7s %7s %7s %7s %8s", "", "sent", "failed", "p50", "p99", "max", "rollout"),
			row("minReadySeconds 10, no slow start", off),
			row("minReadySeconds 10, slow-start 10s", on),
			row("slow-start 10s, no minReadySeconds", unpaced),
		}, "\n")
		AddReportEntry("slow start, side by side", table)
		GinkgoWriter.Println(table)
	})

	It("rolls out to a cold version without slow start (baseline)", func(ctx SpecContext) {
		off = rollout(ctx, "slow-off", "be_slow_off", nil, 10)
	}, SpecTimeout(6*time.Minute))

	It("rolls out to the same cold version with lbgate.dev/slow-start, with a lower p99", func(ctx SpecContext) {
		on = rollout(ctx, "slow-on", "be_slow_on", slowStart, 10)
		out, err := st.HAProxy.Command("show servers state be_slow_on")
		Expect(err).NotTo(HaveOccurred())
		states, err := haproxy.ParseServersState(out)
		Expect(err).NotTo(HaveOccurred())
		ramped := 0
		for _, s := range states {
			if strings.HasSuffix(s.Name, "s10000") {
				ramped++
			}
		}
		Expect(ramped).To(BeNumerically(">=", replicas), "every pod's slot is added with slowstart 10s")
		Expect(on.Load.Failed).To(BeZero(), on.Load.Table())
		Expect(off).NotTo(BeNil(), "the baseline ran first")
		Expect(on.Load.Latency.P99).To(BeNumerically("<", off.Load.Latency.P99),
			"p99 with slow start %s, without %s", on.Load.Latency.P99, off.Load.Latency.P99)
	}, SpecTimeout(6*time.Minute))

	It("reports the same rollout with slow start but no minReadySeconds", func(ctx SpecContext) {
		unpaced = rollout(ctx, "slow-unpaced", "be_slow_unpaced", slowStart, 0)
	}, SpecTimeout(6*time.Minute))
})

// rampingServers lists the servers of an HAProxy backend that are up but
// below their weight (effective weight from "show stat", the weight set
// from "show servers state"): in their slow-start ramp.
func rampingServers(backend string) []string {
	stat, err := st.HAProxy.Command("show stat")
	Expect(err).NotTo(HaveOccurred())
	rows, err := haproxy.ParseStat(stat)
	Expect(err).NotTo(HaveOccurred())
	out, err := st.HAProxy.Command("show servers state " + backend)
	Expect(err).NotTo(HaveOccurred())
	states, err := haproxy.ParseServersState(out)
	Expect(err).NotTo(HaveOccurred())
	weight := map[string]int{}
	for _, s := range states {
		weight[s.Name] = s.Weight
	}
	var ramping []string
	for _, r := range rows {
		if r.Proxy == backend && r.Type == haproxy.StatServer && r.Status == "UP" && r.Weight < weight[r.Name] {
			ramping = append(ramping, fmt.Sprintf("%s %s at %d of %d", r.Name, r.Addr, r.Weight, weight[r.Name]))
		}
	}
	return ramping
}
