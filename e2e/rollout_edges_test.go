//go:build e2e

package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/e2e/loadgen"
	"github.com/lbgate/lbgate/e2e/stack"
)

// readGroup reads an app's BackendGroup, for polls.
func readGroup(ctx context.Context, a stack.App) (*v1alpha1.BackendGroup, error) {
	bg := &v1alpha1.BackendGroup{}
	return bg, st.Client.Get(ctx, client.ObjectKey{Namespace: a.Namespace, Name: a.Name}, bg)
}

// serviceEvents lists the notes of the app's Service events with a reason.
func serviceEvents(ctx context.Context, a stack.App, reason string) []string {
	return objectEvents(ctx, a.Namespace, "Service", a.Name, reason)
}

// objectEvents lists the notes of the events about one object with a reason.
func objectEvents(ctx context.Context, ns, kind, name, reason string) []string {
	list := &eventsv1.EventList{}
	Expect(st.Client.List(ctx, list, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Kind == kind && e.Regarding.Name == name && e.Reason == reason {
			out = append(out, e.Note)
		}
	}
	return out
}

// gateReason is a pod's gate as "Status/Reason" ("" when absent).
func gateReason(p corev1.Pod, bg string) string {
	if g := gateOf(p, bg); g != nil {
		return string(g.Status) + "/" + g.Reason
	}
	return ""
}

var _ = Describe("Rollout edge cases", Ordered, func() {
	// Issue 10, item 2. Takes about 2 minutes: the rollout is paced by the
	// quota (one place frees per deregistration delay of 5 s, plus a check),
	// and the scale-up waits for the operator's --rollout-blocked-after (5 s
	// here).
	It("explains a quota deadlock, then rolls out paced by the quota, then binds waiting pods oldest first", func(ctx SpecContext) {
		a := stack.App{Namespace: "quota", Name: "web", Backend: "be_quota", Replicas: 5, Image: stack.ImageV1,
			MaxSurge: intstr.FromInt32(1), MaxUnavailable: intstr.FromInt32(0),
			Annotations: map[string]string{v1alpha1.AnnotationMaxBackends: "5"}}
		Expect(st.Deploy(ctx, a)).To(Succeed())

		var blockedFor time.Duration
		res, err := st.RollOut(ctx, stack.Rollout{App: a, ToImage: stack.ImageV2, Timeout: 4 * time.Minute,
			During: func(ctx context.Context) error {
				defer GinkgoRecover() // runs beside the rollout, in its own goroutine
				began := time.Now()
				// maxUnavailable 0 and 5 replicas under max-backends 5: the
				// surge pod never gets a place. The group must say so.
				advice := "Deployment web has 5 replicas, maxSurge 1 and maxUnavailable 0: raise lbgate.dev/max-backends to at least 6 (replicas + maxSurge), or set maxUnavailable to at least 1"
				Eventually(func() string {
					bg, err := readGroup(ctx, a)
					if err != nil {
						return err.Error()
					}
					c := meta.FindStatusCondition(bg.Status.Conditions, v1alpha1.ConditionQuotaExceeded)
					if c == nil {
						return ""
					}
					return c.Reason + ": " + c.Message
				}).WithContext(ctx).WithTimeout(time.Minute).Should(And(HavePrefix("RolloutBlocked: rollout blocked: 1 pods wait"), HaveSuffix(advice)))
				Eventually(func() []string { return serviceEvents(ctx, a, "RolloutBlocked") }).WithContext(ctx).WithTimeout(time.Minute).Should(ContainElement(ContainSubstring(advice)))
				blockedFor = time.Since(began)
				// Do as the message says: allow one pod down.
				d := &appsv1.Deployment{}
				if err := st.Client.Get(ctx, client.ObjectKey{Namespace: a.Namespace, Name: a.Name}, d); err != nil {
					return err
				}
				before := d.DeepCopy()
				one := intstr.FromInt32(1)
				d.Spec.Strategy.RollingUpdate.MaxUnavailable = &one
				return st.Client.Patch(ctx, d, client.MergeFrom(before))
			}})
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("quota deadlock, then paced rollout", fmt.Sprintf("reported blocked after %s; %s", blockedFor.Round(time.Second), res.Summary("quota 5, 5 replicas")))
		GinkgoWriter.Print(res.Load.Table())
		Expect(res.Finished).To(BeTrue())
		Expect(res.Load.Failed).To(BeZero(), res.Load.Table())
		Expect(res.EarlyReady).To(BeEmpty(), "pods Ready before HAProxy had them up")

		By("scaling to 8 under max-backends 5: three pods wait, and are bound oldest first as places free up")
		gen, err := loadgen.Start(ctx, loadgen.Options{URL: st.HAProxy.Frontend(a.Backend) + "/", RPS: 100, Duration: 3 * time.Minute})
		Expect(err).NotTo(HaveOccurred())
		defer gen.Stop()
		// The rollout is over, but the last old pod's backend may still be
		// draining: wait until the five places are held by the five pods, so
		// no place frees by itself while pods wait.
		Eventually(func() (string, error) {
			bg, err := readGroup(ctx, a)
			return fmt.Sprintf("%d backends, %d healthy, %d waiting", len(bg.Status.Backends), bg.Status.Healthy, bg.Status.Waiting), err
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Equal("5 backends, 5 healthy, 0 waiting"))
		Expect(st.Scale(ctx, a, 8)).To(Succeed())
		var waiting []corev1.Pod
		Eventually(func() int {
			waiting = waiting[:0]
			for _, p := range pods(ctx, a) {
				if gateReason(p, "web") == "False/QuotaExceeded" {
					waiting = append(waiting, p)
				}
			}
			return len(waiting)
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Equal(3))
		slices.SortFunc(waiting, func(x, y corev1.Pod) int {
			if c := x.CreationTimestamp.Compare(y.CreationTimestamp.Time); c != 0 {
				return c
			}
			return strings.Compare(x.Name, y.Name)
		})
		// Deleting a bound pod makes its ReplicaSet create a replacement,
		// which waits too. Creation times are kept to the second, and lbgate
		// orders pods of the same second by name: the replacement must be
		// created in a later second than the waiting pods to be younger
		// (a run that deleted within the same second saw the replacement,
		// named lower, bound first, as lbgate's order says).
		newest := waiting[len(waiting)-1].CreationTimestamp.Time
		Eventually(time.Now).WithTimeout(5 * time.Second).Should(BeTemporally(">=", newest.Add(time.Second)))
		for range 2 { // free two places, one at a time
			var bound *corev1.Pod
			for _, p := range pods(ctx, a) {
				if gateReason(p, "web") == "True/Healthy" && p.DeletionTimestamp == nil {
					bound = &p
					break
				}
			}
			Expect(bound).NotTo(BeNil())
			Expect(st.Client.Delete(ctx, bound)).To(Succeed())
			oldest := waiting[0]
			waiting = waiting[1:]
			Eventually(func() string {
				p := &corev1.Pod{}
				if err := st.Client.Get(ctx, client.ObjectKeyFromObject(&oldest), p); err != nil {
					return err.Error()
				}
				return gateReason(*p, "web")
			}).WithContext(ctx).WithTimeout(time.Minute).Should(Equal("True/Healthy"), "the oldest waiting pod %s is bound first", oldest.Name)
			for _, younger := range waiting {
				p := &corev1.Pod{}
				Expect(st.Client.Get(ctx, client.ObjectKeyFromObject(&younger), p)).To(Succeed())
				Expect(gateReason(*p, "web")).To(Equal("False/QuotaExceeded"), "younger pod %s was bound before %s", younger.Name, oldest.Name)
			}
		}
		a.Replicas = 3
		Expect(st.Scale(ctx, a, 3)).To(Succeed())
		Expect(st.WaitRolledOut(ctx, a, 2*time.Minute)).To(Succeed())
		Eventually(func() (int32, error) {
			bg, err := readGroup(ctx, a)
			return bg.Status.Waiting, err
		}).WithContext(ctx).WithTimeout(time.Minute).Should(BeZero())
		report := gen.Stop()
		GinkgoWriter.Print(report.Table())
		AddReportEntry("scale 5 -> 8 -> 3 under max-backends 5", report.Table())
		Expect(report.Failed).To(BeZero(), report.Table())
	}, SpecTimeout(8*time.Minute))

	// Issue 10, item 4. Three replicas under max-backends 3 with maxSurge
	// 0: each new pod waits for the place of the old pod that leaves. The
	// old pods take 12 s to terminate (a preStop sleep), so with the fixed
	// deregistration delay of 15 s (the default) each place frees only when
	// the old pod is gone, 12 s on: the rollout takes at least 3 x 12 s
	// (measured with drain until idle switched off: 39.2 s; with it: 11.3 s). HAProxy
	// reports sessions: an idle leaving pod goes after a 2 s quiet period
	// instead. Keep-alive clients are served throughout.
	It("finishes a quota-paced rollout sooner than its deregistration delays, dropping nothing", func(ctx SpecContext) {
		const delay, termination, replicas = 15 * time.Second, 12 * time.Second, 3
		a := stack.App{Namespace: "idle", Name: "web", Backend: "be_idle", Replicas: replicas, Image: stack.ImageV1,
			MaxSurge: intstr.FromInt32(0), MaxUnavailable: intstr.FromInt32(1), PreStop: termination,
			Annotations: map[string]string{v1alpha1.AnnotationMaxBackends: "3", v1alpha1.AnnotationDeregistrationDelay: delay.String()}}
		Expect(st.Deploy(ctx, a)).To(Succeed())
		res, err := st.RollOut(ctx, stack.Rollout{App: a, ToImage: stack.ImageV2, Mode: loadgen.KeepAlive, Timeout: 3 * time.Minute})
		Expect(err).NotTo(HaveOccurred())
		floor := time.Duration(replicas) * min(delay, termination)
		AddReportEntry("drain until idle", fmt.Sprintf("rollout of %d replicas paced by the quota, pods terminating in %s, took %s; with the fixed %s delay it takes at least %s; %s",
			replicas, termination, res.Duration.Round(100*time.Millisecond), delay, floor, res.Summary("drain until idle")))
		GinkgoWriter.Print(res.Load.Table())
		Expect(res.Finished).To(BeTrue())
		Expect(res.Load.Failed).To(BeZero(), res.Load.Table())
		Expect(res.EarlyReady).To(BeEmpty())
		Expect(res.Duration).To(BeNumerically("<", floor), "the rollout waited for the deregistration delays")
	}, SpecTimeout(5*time.Minute))

	// Issue 10, item 1. Takes about 30 s: the timeout is 10 s, the
	// annotation's floor.
	It("releases the gates of pods HAProxy never marks up once the readiness timeout is over", func(ctx SpecContext) {
		a := stack.App{Namespace: "timeout", Name: "web", Backend: "be_timeout", Replicas: 2, Image: stack.ImageBroken,
			Annotations: map[string]string{v1alpha1.AnnotationReadinessTimeout: "10s"}}
		Expect(st.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: a.Namespace}})).To(Succeed())
		Expect(st.Client.Create(ctx, a.Service())).To(Succeed())
		Expect(st.Client.Create(ctx, a.Deployment())).To(Succeed())

		// The Deployment becomes available although HAProxy never has a pod up.
		Expect(st.WaitRolledOut(ctx, a, 2*time.Minute)).To(Succeed())
		servers, err := st.Servers(a.Backend)
		Expect(err).NotTo(HaveOccurred())
		for addr, sv := range servers {
			Expect(sv.Up()).To(BeFalse(), "HAProxy has %s up: the scenario needs a backend it never marks up", addr)
		}
		bg, err := readGroup(ctx, a)
		Expect(err).NotTo(HaveOccurred())
		registered := map[string]time.Time{}
		for _, rec := range bg.Status.Backends {
			Expect(rec.RegisteredAt).NotTo(BeNil())
			registered[rec.Pod] = rec.RegisteredAt.Time
		}
		for _, p := range pods(ctx, a) {
			g := gateOf(p, "web")
			Expect(g).NotTo(BeNil())
			Expect(g.Status).To(Equal(corev1.ConditionTrue))
			Expect(g.Reason).To(Equal(v1alpha1.GateReasonReadinessTimeout))
			Expect(g.Message).To(MatchRegexp("last verdict: (Unhealthy|HealthCheckPending): "), "the message gives HAProxy's last verdict")
			Expect(registered).To(HaveKey(p.Name))
			Expect(g.LastTransitionTime.Sub(registered[p.Name])).To(BeNumerically(">=", 9*time.Second), "pod %s released before the timeout", p.Name)
		}
		Eventually(func() (int32, error) {
			bg, err := readGroup(ctx, a)
			return bg.Status.TimedOutPods, err
		}).WithContext(ctx).WithTimeout(time.Minute).Should(BeEquivalentTo(2))
		// One event on each pod; the Service's events about the two pods may
		// be folded into one event series by the events API.
		Eventually(func() []string { return serviceEvents(ctx, a, "ReadinessTimeout") }).WithContext(ctx).WithTimeout(time.Minute).
			ShouldNot(BeEmpty())
		for _, p := range pods(ctx, a) {
			Eventually(func() []string { return objectEvents(ctx, a.Namespace, "Pod", p.Name, "ReadinessTimeout") }).WithContext(ctx).WithTimeout(time.Minute).
				Should(ContainElement(ContainSubstring("readiness timeout of 10s")), "pod %s", p.Name)
		}
	}, SpecTimeout(3*time.Minute))
})
