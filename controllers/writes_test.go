package controllers_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/providers"
)

// Issue 11, item 2: one pod status write per change a user can act on. A
// missing gate condition already keeps a pod not Ready (the kubelet's rule),
// so a pod on its way to healthy needs no False written; it gets exactly one
// write, True. A True gate is never written again.
var _ = Describe("Gate writes", func() {
	It("writes the gate of pods that go straight to healthy once each: True", func(ctx SpecContext) {
		t := newTestNS(ctx)
		seen := watchGates(ctx, t.name, "web")
		t.createService(ctx, "web", nil)
		var pods []*corev1.Pod
		for i := 1; i <= 3; i++ {
			pods = append(pods, t.runPod(ctx, fmt.Sprintf("web-%d", i), "web"))
		}
		Eventually(backends(t.target)).Should(HaveLen(3))
		// The load balancer checks the new backends (Initial) before it decides.
		Consistently(func() int { return seen.total() }).WithTimeout(500 * time.Millisecond).Should(BeZero())
		for _, p := range pods {
			Expect(lb.SetHealth(t.target, addr(p), providers.HealthHealthy)).To(BeTrue())
		}
		for _, p := range pods {
			Eventually(gateState(ctx, p, "web")).Should(Equal("True/Healthy"))
		}
		Consistently(func() int { return seen.total() }).WithTimeout(2 * time.Second).Should(Equal(3))
		for _, p := range pods {
			Expect(seen.of(p.Name)).To(Equal([]string{"True/Healthy"}), "the gate writes of %s", p.Name)
		}
		GinkgoWriter.Printf("gate writes for 3 pods that went straight to healthy: %d\n", seen.total())
	})

	It("leaves True gates as they are when the group is removed", func(ctx SpecContext) {
		t := newTestNS(ctx)
		svc := t.createService(ctx, "web", nil)
		healthy, pending := t.healthyAndPending(ctx)
		seen := watchGates(ctx, t.name, "web")
		Expect(k8s.Delete(ctx, svc)).To(Succeed())
		Eventually(gateState(ctx, pending, "web")).Should(Equal("True/BackendGroupRemoved"))
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKey{Namespace: t.name, Name: "web"}, &v1alpha1.BackendGroup{})
		}).Should(Satisfy(func(err error) bool { return client.IgnoreNotFound(err) == nil && err != nil }))
		Expect(gateState(ctx, healthy, "web")()).To(Equal("True/Healthy"))
		Expect(seen.of(healthy.Name)).To(BeEmpty(), "a True gate is not written again")
		Expect(seen.of(pending.Name)).To(Equal([]string{"True/BackendGroupRemoved"}))
	})

	It("writes Unhealthy once, and not again while the load balancer keeps the pod down", func(ctx SpecContext) {
		t := newTestNS(ctx)
		seen := watchGates(ctx, t.name, "web")
		t.createService(ctx, "web", nil)
		pod := t.runPod(ctx, "web-1", "web")
		Eventually(backends(t.target)).Should(HaveLen(1))
		Expect(lb.SetHealth(t.target, addr(pod), providers.HealthUnhealthy)).To(BeTrue())
		Eventually(gateState(ctx, pod, "web")).Should(Equal("False/Unhealthy"))
		// Checks go on, and the load balancer re-decides: nothing a person can act on changed.
		Expect(lb.SetHealth(t.target, addr(pod), providers.HealthInitial)).To(BeTrue())
		Consistently(func() []string { return seen.of(pod.Name) }).WithTimeout(time.Second).Should(Equal([]string{"False/Unhealthy"}))
		Expect(lb.SetHealth(t.target, addr(pod), providers.HealthUnhealthy)).To(BeTrue())
		Consistently(func() []string { return seen.of(pod.Name) }).WithTimeout(time.Second).Should(Equal([]string{"False/Unhealthy"}))
		Expect(lb.SetHealth(t.target, addr(pod), providers.HealthHealthy)).To(BeTrue())
		Eventually(gateState(ctx, pod, "web")).Should(Equal("True/Healthy"))
		Expect(seen.of(pod.Name)).To(Equal([]string{"False/Unhealthy", "True/Healthy"}))
	})
})

// gateLog is what a watch saw of one group's gate on a namespace's pods:
// each pod's gate condition every time it changed (a gate write).
type gateLog struct {
	mu    sync.Mutex
	byPod map[string][]string
	last  map[string]corev1.PodCondition
}

// watchGates watches the namespace's pods until the spec ends and logs
// every change of the gate of group bg.
func watchGates(ctx context.Context, ns, bg string) *gateLog {
	w, err := k8s.Watch(ctx, &corev1.PodList{}, client.InNamespace(ns))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(w.Stop)
	g := &gateLog{byPod: map[string][]string{}, last: map[string]corev1.PodCondition{}}
	condType := corev1.PodConditionType(v1alpha1.GateConditionType(bg))
	go func() {
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok || (ev.Type != watch.Added && ev.Type != watch.Modified) {
				continue
			}
			for _, c := range pod.Status.Conditions {
				if c.Type == condType {
					// A pod listed when the watch starts shows what was written before.
					g.saw(pod.Name, c, ev.Type == watch.Modified)
				}
			}
		}
	}()
	return g
}

func (g *gateLog) saw(pod string, c corev1.PodCondition, written bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	prev, ok := g.last[pod]
	if ok && prev.Status == c.Status && prev.Reason == c.Reason && prev.Message == c.Message && prev.LastTransitionTime.Equal(&c.LastTransitionTime) {
		return
	}
	g.last[pod] = c
	if !written {
		return
	}
	g.byPod[pod] = append(g.byPod[pod], string(c.Status)+"/"+c.Reason)
}

// of returns the gate values written on a pod, in order.
func (g *gateLog) of(pod string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.byPod[pod]...)
}

// total counts the gate writes seen on every pod.
func (g *gateLog) total() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, s := range g.byPod {
		n += len(s)
	}
	return n
}
