//go:build e2e

package e2e_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/e2e/stack"
)

// preStopOf describes the preStop hook of the app container of a pod:
// "sleep Ns" or "none".
func preStopOf(p corev1.Pod) string {
	c := p.Spec.Containers[0]
	switch {
	case c.Lifecycle == nil || c.Lifecycle.PreStop == nil:
		return "none"
	case c.Lifecycle.PreStop.Sleep != nil:
		return fmt.Sprintf("sleep %ds", c.Lifecycle.PreStop.Sleep.Seconds)
	}
	return "other"
}

// preStops lists preStopOf for every pod of the app that is not leaving.
func preStops(ctx SpecContext, a stack.App) []string {
	var out []string
	for _, p := range pods(ctx, a) {
		if p.DeletionTimestamp == nil {
			out = append(out, preStopOf(p))
		}
	}
	return out
}

// Issue 10, item 7: zero drops by default. The app here has no preStop hook
// of its own and stops listening at SIGTERM (nodesim's app shuts its server
// down: the listener closes at once, requests in flight finish). Deleting a
// pod starts lbgate's drain and the pod's termination at the same instant,
// so without a pause the app can stop listening before HAProxy stops
// sending it new connections. lbgate's webhook adds a 5 s preStop sleep by
// default; the Service does not ask for it.
var _ = Describe("Zero drops by default", Ordered, func() {
	const replicas, rps = 10, 200

	It("rolls 10 replicas of an app that stops listening at SIGTERM, with no prestop annotation, and drops no request", func(ctx SpecContext) {
		a := stack.App{Namespace: "zerodrop", Name: "web", Backend: "be_zerodrop", Replicas: replicas, Image: stack.ImageV1, NoPreStop: true}
		Expect(a.Service().Annotations).NotTo(HaveKey(v1alpha1.AnnotationPreStopDelay))
		Expect(a.Deployment().Spec.Template.Spec.Containers[0].Lifecycle).To(BeNil())
		Expect(st.Deploy(ctx, a)).To(Succeed())
		Expect(preStops(ctx, a)).To(HaveEach("sleep 5s"), "the webhook gives every pod the default preStop sleep")

		res, err := st.RollOut(ctx, stack.Rollout{App: a, ToImage: stack.ImageV2, RPS: rps})
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("zero drops by default", res.Summary("default preStop (no annotation)"))
		GinkgoWriter.Print(res.Summary("default preStop (no annotation)"))
		GinkgoWriter.Print(res.Load.Table())
		Expect(res.Finished).To(BeTrue())
		Expect(res.Load.Failed).To(BeZero(), res.Load.Table())
		Expect(res.EarlyReady).To(BeEmpty())
		Expect(res.Load.ByVersion()).To(HaveKey("v2"))
		Expect(preStops(ctx, a)).To(HaveLen(replicas))
		Expect(preStops(ctx, a)).To(HaveEach("sleep 5s"), "the new pods have it too")
	}, SpecTimeout(6*time.Minute))

	// The same rollout with the default turned off: what the default saves.
	// Losing requests here is a race, so this spec only reports them.
	It(`rolls the same app with prestop-delay "0": no preStop sleep, and reports what it drops`, func(ctx SpecContext) {
		a := stack.App{Namespace: "zerodrop-off", Name: "web", Backend: "be_zerodrop_off", Replicas: replicas, Image: stack.ImageV1, NoPreStop: true,
			Annotations: map[string]string{v1alpha1.AnnotationPreStopDelay: "0"}}
		Expect(st.Deploy(ctx, a)).To(Succeed())
		Expect(preStops(ctx, a)).To(HaveEach("none"), `prestop-delay "0" turns the default off`)

		res, err := st.RollOut(ctx, stack.Rollout{App: a, ToImage: stack.ImageV2, RPS: rps})
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry(`prestop-delay "0"`, res.Summary(`prestop-delay "0"`))
		GinkgoWriter.Print(res.Summary(`prestop-delay "0"`))
		GinkgoWriter.Print(res.Load.Table())
		Expect(res.Finished).To(BeTrue())
		Expect(res.EarlyReady).To(BeEmpty())
		Expect(preStops(ctx, a)).To(HaveEach("none"))
	}, SpecTimeout(6*time.Minute))
})
