//go:build e2e

package e2e_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/e2e/loadgen"
	"github.com/lbgate/lbgate/e2e/stack"
)

// notUpSeen polls HAProxy's servers of a backend every 100 ms and
// remembers, per address, the last time it was not up (absent, down, or in
// its first checks): the trace of a fresh check.
type notUpSeen struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func watchNotUp(ctx context.Context, backend string) *notUpSeen {
	w := &notUpSeen{last: map[string]time.Time{}}
	go func() {
		for ctx.Err() == nil {
			servers, err := st.Servers(backend)
			now := time.Now()
			if err == nil {
				w.mu.Lock()
				for addr, sv := range servers {
					if !sv.Up() || sv.Status != "UP" {
						w.last[addr] = now
					}
				}
				w.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *notUpSeen) lastNotUp(addr string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last[addr]
}

func serverAddrs(backend string) []string {
	servers, err := st.Servers(backend)
	Expect(err).NotTo(HaveOccurred())
	var out []string
	for a, sv := range servers {
		if sv.Up() {
			out = append(out, a)
		}
	}
	return out
}

var _ = Describe("Gate integrity under churn", Ordered, func() {
	// Blue/green (issue 8, bug 4): the Service's selector moves from a Ready
	// blue Deployment to a Ready green one. The old code drained every blue
	// backend in the pass that registered the green ones, and the backend
	// was empty for a check cycle (measured: 455 of 6,653 requests failed).
	It("switches a Service from blue to green pods under load with zero failed requests", func(ctx SpecContext) {
		blue := stack.App{Namespace: "bluegreen", Name: "blue", Backend: "be_bluegreen", Replicas: 4, Image: stack.ImageV1}
		Expect(st.Deploy(ctx, blue)).To(Succeed())
		green := blue
		green.Name = "green"
		Expect(st.Client.Create(ctx, green.Deployment())).To(Succeed())
		Expect(st.WaitRolledOut(ctx, green, 3*time.Minute)).To(Succeed())
		greenPods, err := st.PodsOf(ctx, green)
		Expect(err).NotTo(HaveOccurred())
		var greenAddrs []string
		for _, p := range greenPods {
			greenAddrs = append(greenAddrs, net.JoinHostPort(p.Status.PodIP, "8080"))
		}

		gen, err := loadgen.Start(ctx, loadgen.Options{URL: st.HAProxy.Frontend(blue.Backend) + "/", RPS: 200, Mode: loadgen.KeepAlive, Duration: 3 * time.Minute})
		Expect(err).NotTo(HaveOccurred())
		defer gen.Stop()
		Eventually(func() int64 { return gen.Snapshot().Sent }).Should(BeNumerically(">", 200))

		svc := &corev1.Service{}
		Expect(st.Client.Get(ctx, client.ObjectKey{Namespace: blue.Namespace, Name: blue.Name}, svc)).To(Succeed())
		before := svc.DeepCopy()
		svc.Spec.Selector = map[string]string{"app": green.Name}
		Expect(st.Client.Patch(ctx, svc, client.MergeFrom(before))).To(Succeed())

		Eventually(func() []string { return serverAddrs(blue.Backend) }, 2*time.Minute).Should(ConsistOf(greenAddrs), "HAProxy serves only the green pods")
		sent := gen.Snapshot().Sent
		Eventually(func() int64 { return gen.Snapshot().Sent }).Should(BeNumerically(">", sent+400))
		rep := gen.Stop()
		AddReportEntry("blue/green selector switch", rep.String())
		GinkgoWriter.Print(rep.Table())
		Expect(rep.Failed).To(BeZero(), rep.Table())
		Expect(rep.ByVersion()).NotTo(BeEmpty())
	})

	// Address reuse (issue 8, bug 1): a StatefulSet whose recreated pods
	// get their predecessor's address back. Each new pod's gate may turn
	// True only after HAProxy checked the new pod: its server must have been
	// seen not up after the pod was created. Over a minute: four pods
	// replaced one after another, each waiting for its preStop sleep (3 s)
	// and two passed checks.
	It("rolls a StatefulSet whose pods reuse their addresses, with zero failed requests and a fresh check per pod", SpecTimeout(5*time.Minute), func(ctx SpecContext) {
		a := stack.App{Namespace: "sticky", Name: "web", Backend: "be_sticky", Replicas: 4, Image: stack.ImageV1}
		Expect(st.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: a.Namespace}})).To(Succeed())
		Expect(st.Client.Create(ctx, a.Service())).To(Succeed())
		Expect(st.Client.Create(ctx, a.StatefulSet())).To(Succeed())
		Expect(st.WaitStatefulSetRolledOut(ctx, a, 3*time.Minute)).To(Succeed())
		Expect(st.WaitServersUp(ctx, a.Backend, 4, time.Minute)).To(Succeed())
		old, err := st.PodsOf(ctx, a)
		Expect(err).NotTo(HaveOccurred())
		oldUID, oldAddr := map[types.UID]bool{}, map[string]string{}
		for _, p := range old {
			oldUID[p.UID] = true
			oldAddr[p.Name] = p.Status.PodIP
		}

		seen := watchNotUp(ctx, a.Backend)
		gen, err := loadgen.Start(ctx, loadgen.Options{URL: st.HAProxy.Frontend(a.Backend) + "/", RPS: 200, Mode: loadgen.KeepAlive, Duration: 4 * time.Minute})
		Expect(err).NotTo(HaveOccurred())
		defer gen.Stop()
		Eventually(func() int64 { return gen.Snapshot().Sent }).Should(BeNumerically(">", 200))

		ss := a.StatefulSet()
		Expect(st.Client.Get(ctx, client.ObjectKeyFromObject(ss), ss)).To(Succeed())
		before := ss.DeepCopy()
		ss.Spec.Template.Spec.Containers[0].Image = stack.ImageV2
		Expect(st.Client.Patch(ctx, ss, client.MergeFrom(before))).To(Succeed())
		Expect(st.WaitStatefulSetRolledOut(ctx, a, 4*time.Minute)).To(Succeed())
		rep := gen.Stop()
		AddReportEntry("StatefulSet rollout with reused addresses", rep.String())
		GinkgoWriter.Print(rep.Table())

		pods, err := st.PodsOf(ctx, a)
		Expect(err).NotTo(HaveOccurred())
		for _, p := range pods {
			Expect(oldUID[p.UID]).To(BeFalse(), "pod %s was not replaced", p.Name)
			Expect(p.Status.PodIP).To(Equal(oldAddr[p.Name]), "pod %s did not get its predecessor's address back", p.Name)
			g := gateOf(p, a.Name)
			Expect(g).NotTo(BeNil())
			Expect(g.Status).To(Equal(corev1.ConditionTrue))
			addr := net.JoinHostPort(p.Status.PodIP, "8080")
			Expect(seen.lastNotUp(addr)).To(BeTemporally(">", p.CreationTimestamp.Time),
				fmt.Sprintf("pod %s: HAProxy never checked %s afresh after the pod was created", p.Name, addr))
			Expect(seen.lastNotUp(addr)).To(BeTemporally("<=", g.LastTransitionTime.Add(time.Second)),
				fmt.Sprintf("pod %s: gate True before HAProxy had checked it", p.Name))
		}
		Expect(rep.Failed).To(BeZero(), rep.Table())
	})
})
