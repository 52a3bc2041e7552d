package controllers_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/providers"
)

var _ = Describe("Pending polls", func() {
	var t *testNS
	BeforeEach(func(ctx SpecContext) { t = newTestNS(ctx) })

	// Issue 10, item 6. The suite polls waiting pods every 100ms and
	// resyncs every 3s; a check here takes 1s x (1 + 1) = 2s at most, so
	// the poll has backed off to the resync 10s after the last registration.
	// Takes about 25s: 50 pods, and a 10s measurement.
	It("costs a bounded number of provider calls for pods the load balancer keeps unhealthy", func(ctx SpecContext) {
		lb.SetNewBackendHealth(providers.HealthUnhealthy)
		DeferCleanup(lb.SetNewBackendHealth, providers.HealthInitial)
		t.createService(ctx, "web", map[string]string{
			v1alpha1.AnnotationHealthCheckInterval:         "1s",
			v1alpha1.AnnotationHealthCheckHealthyThreshold: "1",
		})
		const pods = 50
		running := make([]*corev1.Pod, 0, pods)
		for i := range pods {
			running = append(running, t.runPod(ctx, fmt.Sprintf("web-%d", i), "web"))
		}
		Eventually(backends(t.target), "20s").Should(HaveLen(pods))
		Eventually(func() int32 { return group(ctx, t.name, "web").Status.Registered }).Should(BeEquivalentTo(pods))
		lastRegistered := time.Now()
		// Every gate written (each write is a pod event, which brings the
		// group back): from here on only the group's own polls call the
		// load balancer.
		for _, p := range running {
			Eventually(gateState(ctx, p, "web"), "20s").Should(Equal("False/Unhealthy"))
		}

		time.Sleep(time.Until(lastRegistered.Add(10 * time.Second))) // the backoff needs the pods to age: nothing to wait for
		lb.ResetCalls()
		const measure = 10 * time.Second
		time.Sleep(measure) // a measurement window, not a synchronisation
		lists := 0
		for _, c := range lb.CallsOf("List") {
			if c.Target == t.target {
				lists++
			}
		}
		GinkgoWriter.Printf("%d permanently unhealthy pods: %d List calls in %s (%.0f a minute)\n", pods, lists, measure, float64(lists)*float64(time.Minute)/float64(measure))
		// One List a reconcile; the resync alone makes about 4 in 10s. A
		// 100ms poll would make about 100.
		Expect(lists).To(BeNumerically("<=", 8), "provider calls of a group whose pods cannot progress")
		Expect(group(ctx, t.name, "web").Status.Healthy).To(BeEquivalentTo(0))
	})
})
