package controllers_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/providers"
)

var _ = Describe("BackendGroup controller", func() {
	var t *testNS
	BeforeEach(func(ctx SpecContext) { t = newTestNS(ctx) })

	It("holds the gate False while the load balancer says unhealthy and flips it True once healthy", func(ctx SpecContext) {
		t.createService(ctx, "web", nil)
		pod := t.runPod(ctx, "web-1", "web")
		a := addr(pod)

		By("registering the pod once its containers are ready; the gate waits for the health check")
		Eventually(backends(t.target)).Should(ConsistOf(a))
		// No False is written while the check runs: the missing condition keeps the pod not Ready (issue 11).
		Consistently(gateState(ctx, pod, "web")).WithTimeout(500 * time.Millisecond).Should(BeEmpty())
		Expect(podReady(ctx, pod)()).To(Equal(corev1.ConditionFalse))

		By("keeping it False while the load balancer reports the backend unhealthy")
		Expect(lb.SetHealth(t.target, a, providers.HealthUnhealthy)).To(BeTrue())
		Eventually(gateState(ctx, pod, "web")).Should(Equal("False/Unhealthy"))
		Consistently(gateState(ctx, pod, "web")).Should(Equal("False/Unhealthy"))
		Expect(podReady(ctx, pod)()).To(Equal(corev1.ConditionFalse))
		falseSince := gate(ctx, pod, "web").LastTransitionTime

		By("flipping it True when the load balancer says healthy, and the kubelet makes the pod Ready")
		Expect(lb.SetHealth(t.target, a, providers.HealthHealthy)).To(BeTrue())
		Eventually(gateState(ctx, pod, "web")).Should(Equal("True/Healthy"))
		Eventually(podReady(ctx, pod)).Should(Equal(corev1.ConditionTrue))
		Expect(gate(ctx, pod, "web").LastTransitionTime.Time).NotTo(BeTemporally("<", falseSince.Time))
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionReady)).Should(HavePrefix("True/BackendsHealthy"))
		bg := group(ctx, t.name, "web")
		Expect([]int32{bg.Status.Desired, bg.Status.Registered, bg.Status.Healthy}).To(Equal([]int32{1, 1, 1}))
	})

	It("does not register a pod before its containers are ready", func(ctx SpecContext) {
		t.createService(ctx, "web", nil)
		pod := t.pod("web-1", "web", "web")
		Expect(k8s.Create(ctx, pod)).To(Succeed())
		running, err := t.kubelet.RunPod(ctx, client.ObjectKeyFromObject(pod), false)
		Expect(err).NotTo(HaveOccurred())

		Consistently(backends(t.target)).Should(BeEmpty())
		Expect(gateState(ctx, running, "web")()).To(BeEmpty(), "no False written for a pod on its way (issue 11)")

		_, err = t.kubelet.SetContainersReady(ctx, client.ObjectKeyFromObject(pod), true)
		Expect(err).NotTo(HaveOccurred())
		Eventually(backends(t.target)).Should(ConsistOf(addr(running)))
	})

	It("writes nothing to a pod whose gate did not change", func(ctx SpecContext) {
		lb.SetNewBackendHealth(providers.HealthHealthy)
		DeferCleanup(func() { lb.SetNewBackendHealth(providers.HealthInitial) })
		t.createService(ctx, "web", nil)
		pod := t.runPod(ctx, "web-1", "web")
		Eventually(podReady(ctx, pod)).Should(Equal(corev1.ConditionTrue))
		cur := &corev1.Pod{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(pod), cur)).To(Succeed())
		rv := cur.ResourceVersion

		By("waking the group up several times (resyncs and Service updates)")
		svc := &corev1.Service{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: t.name, Name: "web"}, svc)).To(Succeed())
		for i := range 3 {
			setAnnotation(ctx, svc, "example.com/touch", fmt.Sprint(i))
		}
		Eventually(func() int32 { return group(ctx, t.name, "web").Status.Healthy }).Should(BeEquivalentTo(1))
		lb.ResetCalls()
		listCalls := func() int {
			n := 0
			for _, c := range lb.CallsOf("List") {
				if c.Target == t.target {
					n++
				}
			}
			return n
		}
		// Settled, the group reads the load balancer once per resync (3 s here),
		// not at the 100 ms pending interval: no busy loop.
		Consistently(listCalls, 2500*time.Millisecond).Should(BeNumerically("<=", 2), "a settled group polls the load balancer")
		Eventually(listCalls, 10*time.Second).Should(BeNumerically(">=", 2), "resyncs still happen")
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(pod), cur)).To(Succeed())
		Expect(cur.ResourceVersion).To(Equal(rv), "the pod was written although its gate did not change")
		Expect(lb.CallsOf("Register")).To(BeEmpty())
	})

	It("drains a leaving pod at once and deregisters it after the deregistration delay", func(ctx SpecContext) {
		lb.SetNewBackendHealth(providers.HealthHealthy)
		DeferCleanup(func() { lb.SetNewBackendHealth(providers.HealthInitial) })
		t.createService(ctx, "web", map[string]string{v1alpha1.AnnotationDeregistrationDelay: "3s"})
		keep := t.runPod(ctx, "web-1", "web")
		leave := t.runPod(ctx, "web-2", "web")
		Eventually(backends(t.target)).Should(ConsistOf(addr(keep), addr(leave)))
		Eventually(gateState(ctx, leave, "web")).Should(Equal("True/Healthy"))

		deleted := time.Now()
		Expect(k8s.Delete(ctx, leave)).To(Succeed()) // bound to a node: stays terminating until the kubelet finishes
		Eventually(health(t.target, addr(leave))).Should(Equal(providers.HealthDraining))
		Eventually(backends(t.target), 10*time.Second).Should(ConsistOf(addr(keep)))
		// deletionTimestamp has whole seconds, so the drain start is known to within a second.
		Expect(time.Since(deleted)).To(BeNumerically(">=", 2*time.Second), "removed before the deregistration delay")
		Expect(gate(ctx, leave, "web").Status).To(Equal(corev1.ConditionTrue), "a leaving pod's gate is left alone")
		Expect(t.kubelet.FinishTermination(ctx, leave)).To(Succeed())
		Consistently(backends(t.target)).Should(ConsistOf(addr(keep)))
	})

	It("deregisters a pod that is gone at once", func(ctx SpecContext) {
		t.createService(ctx, "web", map[string]string{v1alpha1.AnnotationDeregistrationDelay: "1h"})
		pod := t.runPod(ctx, "web-1", "web")
		Eventually(backends(t.target)).Should(ConsistOf(addr(pod)))
		Expect(k8s.Delete(ctx, pod, client.GracePeriodSeconds(0))).To(Succeed())
		Eventually(backends(t.target)).Should(BeEmpty())
	})

	It("never sends the load balancer a batch larger than its limit", func(ctx SpecContext) {
		t.createService(ctx, "web", nil)
		var want []netip.AddrPort
		for i := range 3*batchLimit + 1 {
			want = append(want, addr(t.runPod(ctx, fmt.Sprintf("web-%d", i), "web")))
		}
		Eventually(backends(t.target)).Should(ConsistOf(want))
		for _, c := range lb.Calls() {
			if c.Target == t.target {
				Expect(len(c.Addrs)).To(BeNumerically("<=", batchLimit), "%s call with %d backends", c.Method, len(c.Addrs))
			}
		}
		By("deregistering them all, again in batches")
		Expect(k8s.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(t.name), client.GracePeriodSeconds(0))).To(Succeed())
		Eventually(backends(t.target)).Should(BeEmpty())
		for _, c := range lb.Calls() {
			if c.Target == t.target {
				Expect(len(c.Addrs)).To(BeNumerically("<=", batchLimit))
				Expect(c.Err).NotTo(HaveOccurred())
			}
		}
	})

	It("reports provider errors as Degraded and retries until the load balancer answers", func(ctx SpecContext) {
		t.createService(ctx, "web", nil)
		unavailable := &providers.UnavailableError{Detail: "connection refused"}
		lb.FailNext("Register", unavailable, unavailable, unavailable)
		DeferCleanup(lb.ClearFailures)
		pod := t.runPod(ctx, "web-1", "web")

		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionDegraded)).Should(ContainSubstring("True/ProviderError: registering on target %s: load balancer unavailable: connection refused", t.target))
		Eventually(eventsFor(ctx, t.name, "BackendGroup", "web", "ProviderError")).ShouldNot(BeEmpty())
		Eventually(backends(t.target)).Should(ConsistOf(addr(pod)))
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionDegraded)).Should(HavePrefix("False/ProviderHealthy"))
		Expect(len(lb.CallsOf("Register"))).To(BeNumerically(">=", 4), "three failures and a success")
	})

	It("reports a missing target with its name", func(ctx SpecContext) {
		t.createService(ctx, "web", map[string]string{v1alpha1.AnnotationLoadBalancer: "no-such-backend"})
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionDegraded)).Should(ContainSubstring(`True/TargetNotFound: reading limits of target no-such-backend: target "no-such-backend" not found`))
		Eventually(eventsFor(ctx, t.name, "Service", "web", "TargetNotFound")).Should(ContainElement(ContainSubstring("no-such-backend")))
	})

	It("keeps bound pods in place and makes new ones wait under the quota", func(ctx SpecContext) {
		lb.SetNewBackendHealth(providers.HealthHealthy)
		DeferCleanup(func() { lb.SetNewBackendHealth(providers.HealthInitial) })
		t.createService(ctx, "web", map[string]string{v1alpha1.AnnotationMaxBackends: "2"})
		p1 := t.runPod(ctx, "web-1", "web")
		p2 := t.runPod(ctx, "web-2", "web")
		Eventually(backends(t.target)).Should(ConsistOf(addr(p1), addr(p2)))
		// web-3 is the surge pod of a Deployment's rollout (no deployment
		// controller runs here: the objects only say whose pod it is).
		p3 := t.pod("web-3", "web", "web")
		p3.OwnerReferences = t.deploymentOwner(ctx, "web", 2, intstr.FromInt32(1), intstr.FromInt32(0))
		Expect(k8s.Create(ctx, p3)).To(Succeed())
		p3, err := t.kubelet.RunPod(ctx, client.ObjectKeyFromObject(p3), true)
		Expect(err).NotTo(HaveOccurred())
		Eventually(gateState(ctx, p3, "web")).Should(Equal("False/QuotaExceeded"))
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionQuotaExceeded)).Should(HavePrefix("True/PodsWaiting"))
		Consistently(backends(t.target)).Should(ConsistOf(addr(p1), addr(p2)))

		By("explaining the deadlock: nothing leaves to free a place (issue 10, item 2)")
		advice := "Deployment web has 2 replicas, maxSurge 1 and maxUnavailable 0: raise lbgate.dev/max-backends to at least 3 (replicas + maxSurge), or set maxUnavailable to at least 1"
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionQuotaExceeded)).Should(And(
			HavePrefix("True/RolloutBlocked: rollout blocked: 1 pods wait for a place under max-backends 2"), HaveSuffix(advice)))
		Eventually(eventsFor(ctx, t.name, "Service", "web", "RolloutBlocked")).Should(ConsistOf(ContainSubstring(advice)))

		By("binding the waiting pod once a bound one has left")
		Expect(k8s.Delete(ctx, p1, client.GracePeriodSeconds(0))).To(Succeed())
		Eventually(backends(t.target)).Should(ConsistOf(addr(p2), addr(p3)))
		Eventually(gateState(ctx, p3, "web")).Should(Equal("True/Healthy"))
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionQuotaExceeded)).Should(HavePrefix("False/WithinQuota"))
	})

	It("does not bind a pod whose IP is not of the group's network mode", func(ctx SpecContext) {
		t.createService(ctx, "web", map[string]string{v1alpha1.AnnotationNetworkMode: "global-router"})
		pod := t.pod("web-1", "web", "web")
		Expect(k8s.Create(ctx, pod)).To(Succeed())
		// The suite's global-router range is 127.2.0.0/16; this pod gets a 127.1.x address.
		running, err := t.kubelet.RunPod(ctx, client.ObjectKeyFromObject(pod), true)
		Expect(err).NotTo(HaveOccurred())
		Eventually(gateState(ctx, running, "web")).Should(Equal("False/NetworkModeMismatch"))
		Eventually(eventsFor(ctx, t.name, "Service", "web", "NetworkModeMismatch")).Should(ContainElement(ContainSubstring("web-1")))
		Consistently(backends(t.target)).Should(BeEmpty())
	})

	It("keeps a True gate while a restarted load balancer re-checks its re-registered backends", func(ctx SpecContext) {
		t.createService(ctx, "web", nil)
		pod := t.runPod(ctx, "web-1", "web")
		Eventually(backends(t.target)).Should(ConsistOf(addr(pod)))
		Expect(lb.SetHealth(t.target, addr(pod), providers.HealthHealthy)).To(BeTrue())
		Eventually(gateState(ctx, pod, "web")).Should(Equal("True/Healthy"))

		lb.Forget() // the load balancer restarted and lost its runtime backends
		Eventually(backends(t.target), 10*time.Second).Should(ConsistOf(addr(pod)), "re-registered within a resync")
		Consistently(gateState(ctx, pod, "web")).Should(Equal("True/Healthy"))
		Expect(podReady(ctx, pod)()).To(Equal(corev1.ConditionTrue))
	})

	It("releases the gates of a group whose Service loses its selector or goes, after a grace, and leaves the load balancer as it is", func(ctx SpecContext) {
		svc := t.service("web", nil)
		svc.Annotations = nil // not opted in: the group below is made by hand
		Expect(k8s.Create(ctx, svc)).To(Succeed())
		Expect(k8s.Create(ctx, &v1alpha1.BackendGroup{
			ObjectMeta: metav1.ObjectMeta{Namespace: t.name, Name: "web"},
			Spec:       v1alpha1.BackendGroupSpec{ServiceName: "web", Ports: []v1alpha1.PortBinding{{Port: 80, Target: t.target}}},
		})).To(Succeed())
		healthy, pending := t.healthyAndPending(ctx)

		By("dropping the Service's selector: nothing is selected; during the grace (2s here) the gates hold")
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(svc), svc)).To(Succeed())
		svc.Spec.Selector = nil
		Expect(k8s.Update(ctx, svc)).To(Succeed())
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionReady)).Should(HavePrefix("False/ServiceNotFound"))
		Consistently(gateState(ctx, pending, "web")).WithTimeout(time.Second).Should(BeEmpty())
		Expect(eventsFor(ctx, t.name, "BackendGroup", "web", "ServiceNotFound")()).To(BeEmpty(), "no warning during the grace")

		By("after the grace no pod waits for the group any more")
		Eventually(gateState(ctx, pending, "web")).Should(Equal("True/NotSelected"))
		Eventually(podReady(ctx, pending)).Should(Equal(corev1.ConditionTrue))
		Expect(gateState(ctx, healthy, "web")()).To(Equal("True/Healthy"), "a True gate is never written again (issue 11)")
		Expect(gate(ctx, pending, "web").Message).To(ContainSubstring("Service web does not exist or has no selector"))
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionReady)).Should(ContainSubstring("False/ServiceNotFound: Service web does not exist or has no selector"))
		Eventually(eventsFor(ctx, t.name, "BackendGroup", "web", "ServiceNotFound")).ShouldNot(BeEmpty())
		Consistently(backends(t.target)).Should(ConsistOf(addr(healthy), addr(pending)), "the load balancer is left as it is")

		By("deleting the Service: the group stays, a new pod gated by it is released too")
		Expect(k8s.Delete(ctx, svc)).To(Succeed())
		late := t.runPod(ctx, "web-3", "web")
		Eventually(gateState(ctx, late, "web")).Should(Equal("True/NotSelected"))
		Eventually(podReady(ctx, late)).Should(Equal(corev1.ConditionTrue))
		Expect(backends(t.target)()).To(ConsistOf(addr(healthy), addr(pending)))
	})

	It("releases a gate whose group does not exist, from the API alone, after a manager restart", func(ctx SpecContext) {
		// Issue 8, bug 8: the old code released such gates only in the
		// process that had deleted the group (its removed-groups map).
		mgr.stop()
		pod := t.runPod(ctx, "orphan-1", "gone") // gated by group "gone": no such group, no such Service
		mgr = startManager()
		Eventually(gateState(ctx, pod, "gone")).Should(Equal("True/BackendGroupRemoved"))
		Eventually(podReady(ctx, pod)).Should(Equal(corev1.ConditionTrue))
	})

	It("releases a gate whose group does not exist with exactly the install's permissions", func(ctx SpecContext) {
		// Before it releases such a gate, the controller reads the group
		// and its Service around the cache; the install's RBAC once lacked
		// get on both, and the release never came (a clean-clone e2e run
		// saw the 403s).
		mgr.stop()
		DeferCleanup(func() {
			mgr.stop()
			mgr = startManager()
		})
		pod := t.runPod(ctx, "orphan-2", "gone")
		mgr = startManagerWith(asInstallRBAC(ctx), nil)
		Eventually(gateState(ctx, pod, "gone")).Should(Equal("True/BackendGroupRemoved"))
	})

	It("counts the selected pods without its gate", func(ctx SpecContext) {
		t.createService(ctx, "web", nil)
		p := t.pod("web-ungated", "web", "")
		p.Spec.ReadinessGates = nil
		Expect(k8s.Create(ctx, p)).To(Succeed())
		_, err := t.kubelet.RunPod(ctx, client.ObjectKeyFromObject(p), true)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() int32 { return group(ctx, t.name, "web").Status.UngatedPods }).Should(BeEquivalentTo(1))
		Eventually(eventsFor(ctx, t.name, "BackendGroup", "web", "PodWithoutGate")).Should(HaveLen(1))
	})

	It("converges after a manager restart without registering anything twice", func(ctx SpecContext) {
		t.createService(ctx, "web", nil)
		lb.SetLatency(200 * time.Millisecond) // slow load balancer: the restart lands mid-way
		var pods []*corev1.Pod
		for i := range 6 {
			pods = append(pods, t.runPod(ctx, fmt.Sprintf("web-%d", i), "web"))
		}
		Eventually(func() int { return len(registerCalls(t.target)) }).Should(BeNumerically(">=", 1))
		mgr.stop()
		mgr = startManager()
		lb.SetLatency(0)
		var want []netip.AddrPort
		for _, p := range pods {
			want = append(want, addr(p))
		}
		Eventually(backends(t.target)).Should(ConsistOf(want))
		lb.SetAllHealthy()
		for _, p := range pods {
			Eventually(gateState(ctx, p, "web")).Should(Equal("True/Healthy"))
		}
		for a, n := range registerCalls(t.target) {
			Expect(n).To(Equal(1), "%s registered %d times", a, n)
		}
	})
})

var _ = Describe("Service controller", func() {
	var t *testNS
	BeforeEach(func(ctx SpecContext) { t = newTestNS(ctx) })

	It("creates a BackendGroup owned by the Service with the annotations' spec", func(ctx SpecContext) {
		svc := t.createService(ctx, "web", map[string]string{v1alpha1.AnnotationWeight: "30"})
		bg := group(ctx, t.name, "web")
		Expect(bg.OwnerReferences).To(ContainElement(HaveField("UID", svc.UID)))
		Expect(bg.Spec.Ports).To(Equal([]v1alpha1.PortBinding{{Port: 80, Target: t.target}}))
		Expect(*bg.Spec.Weight).To(BeEquivalentTo(30))
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionAccepted)).Should(HavePrefix("True/AnnotationsValid"))
	})

	It("keeps the last good binding when an annotation is malformed, and says which", func(ctx SpecContext) {
		lb.SetNewBackendHealth(providers.HealthHealthy)
		DeferCleanup(func() { lb.SetNewBackendHealth(providers.HealthInitial) })
		svc := t.createService(ctx, "web", map[string]string{v1alpha1.AnnotationWeight: "30"})
		pod := t.runPod(ctx, "web-1", "web")
		Eventually(gateState(ctx, pod, "web")).Should(Equal("True/Healthy"))

		setAnnotation(ctx, svc, v1alpha1.AnnotationWeight, "heavy")
		want := `annotation "lbgate.dev/weight" has invalid value "heavy"`
		Eventually(eventsFor(ctx, t.name, "Service", "web", "InvalidAnnotation")).Should(ContainElement(ContainSubstring(want)))
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionAccepted)).Should(ContainSubstring("False/InvalidAnnotation: " + want))
		Expect(*group(ctx, t.name, "web").Spec.Weight).To(BeEquivalentTo(30))
		Consistently(func() []providers.BackendStatus { return lb.Backends(t.target) }).Should(ConsistOf(HaveField("Weight", BeEquivalentTo(30))))
		Expect(gate(ctx, pod, "web").Status).To(Equal(corev1.ConditionTrue))
		Expect(eventsFor(ctx, t.name, "Service", "web", "InvalidAnnotation")()).To(HaveLen(1), "one event per distinct problem")

		By("taking the fixed value")
		setAnnotation(ctx, svc, v1alpha1.AnnotationWeight, "50")
		Eventually(func() []providers.BackendStatus { return lb.Backends(t.target) }).Should(ConsistOf(HaveField("Weight", BeEquivalentTo(50))))
		Eventually(condition(ctx, t.name, "web", v1alpha1.ConditionAccepted)).Should(HavePrefix("True/AnnotationsValid"))
	})

	It("refuses a target another group already binds, and leaves that group's backends alone", func(ctx SpecContext) {
		t.createService(ctx, "web", nil)
		pod := t.runPod(ctx, "web-1", "web")
		Eventually(backends(t.target)).Should(ConsistOf(addr(pod)))

		t.createService(ctx, "api", nil) // same target
		apiPod := t.runPod(ctx, "api-1", "api")
		Eventually(condition(ctx, t.name, "api", v1alpha1.ConditionDegraded)).Should(ContainSubstring(
			"True/TargetConflict: target %s is bound by BackendGroup %s/web", t.target, t.name))
		// Issue 8, bug 3: the yielding group says why on the pods it gates
		// (the old code wrote nothing: the pod waited with no reason).
		Eventually(gateState(ctx, apiPod, "api")).Should(Equal("False/TargetConflict"))
		Expect(gate(ctx, apiPod, "api").Message).To(ContainSubstring("is bound by BackendGroup " + t.name + "/web"))
		Eventually(eventsFor(ctx, t.name, "BackendGroup", "api", "TargetConflict")).ShouldNot(BeEmpty())
		Consistently(backends(t.target)).Should(ConsistOf(addr(pod)))
	})

	It("rejects a BackendGroup whose name cannot be a readiness gate condition type", func(ctx SpecContext) {
		long := &v1alpha1.BackendGroup{
			ObjectMeta: metav1.ObjectMeta{Namespace: t.name, Name: strings.Repeat("a", 64)},
			Spec:       v1alpha1.BackendGroupSpec{ServiceName: "web", Ports: []v1alpha1.PortBinding{{Port: 80, Target: t.target}}},
		}
		err := k8s.Create(ctx, long)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("metadata.name must be at most 63 characters"))
	})

	It("moves the backends when the Service binds another target", func(ctx SpecContext) {
		svc := t.createService(ctx, "web", nil)
		pod := t.runPod(ctx, "web-1", "web")
		Eventually(backends(t.target)).Should(ConsistOf(addr(pod)))
		other := t.target + "-new"
		lb.AddTarget(other)

		setAnnotation(ctx, svc, v1alpha1.AnnotationLoadBalancer, other)
		Eventually(backends(other)).Should(ConsistOf(addr(pod)))
		// Make before break (issue 8, bug 4; the old code emptied the old
		// target in the pass that registered on the new one): the old
		// target keeps serving until the pod passes the new target's check.
		Consistently(backends(t.target), "1s").Should(ConsistOf(addr(pod)), "the old target is emptied before the new one checked the pod")
		Expect(lb.SetHealth(other, addr(pod), providers.HealthHealthy)).To(BeTrue())
		Eventually(backends(t.target)).Should(BeEmpty(), "the old target keeps no orphan")
		Eventually(func() []string { return group(ctx, t.name, "web").Status.Targets }).Should(Equal([]string{other}))
	})

	DescribeTable("releases every gate and every backend when the Service leaves",
		func(ctx SpecContext, leave func(ctx context.Context, svc *corev1.Service)) {
			svc := t.createService(ctx, "web", nil)
			healthy, pending := t.healthyAndPending(ctx)

			leave(ctx, svc)
			Eventually(func() bool {
				return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Namespace: t.name, Name: "web"}, &v1alpha1.BackendGroup{}))
			}).Should(BeTrue())
			Expect(backends(t.target)()).To(BeEmpty())
			Expect(gateState(ctx, healthy, "web")()).To(Equal("True/Healthy"), "a True gate is never written again (issue 11)")
			Expect(gateState(ctx, pending, "web")()).To(Equal("True/BackendGroupRemoved"))
			Eventually(podReady(ctx, pending)).Should(Equal(corev1.ConditionTrue))
		},
		Entry("opt-out", func(ctx context.Context, svc *corev1.Service) {
			setAnnotation(ctx, svc, v1alpha1.AnnotationDirectAccess, "false")
		}),
		Entry("Service deletion", func(ctx context.Context, svc *corev1.Service) {
			Expect(k8s.Delete(ctx, svc)).To(Succeed())
		}),
	)
})
