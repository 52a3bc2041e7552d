package nodesim

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// TestIntegrationNodes: Nodes are registered Ready, untainted and
// schedulable, and their heartbeat and Lease are renewed.
func TestIntegrationNodes(t *testing.T) {
	cfg, c := apiserver(t)
	prefix := nodeName("nodes") + "-"
	sim := startSim(t, cfg, Options{NodeCount: 2, NodeNamePrefix: prefix,
		NetworkModes: map[string][]netip.Prefix{"eni": {netip.MustParsePrefix("127.110.0.0/24")}}})
	ctx := context.Background()
	if got := sim.NodeNames(); len(got) != 2 || got[0] != prefix+"0" {
		t.Fatalf("NodeNames = %v", got)
	}
	for _, name := range sim.NodeNames() {
		node, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ready := false
		for _, cond := range node.Status.Conditions {
			ready = ready || (cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue)
		}
		if !ready {
			t.Fatalf("%s not Ready: %+v", name, node.Status.Conditions)
		}
		if hasTaint(node, TaintNodeNotReady) {
			t.Fatalf("%s still has the not-ready taint: %v", name, node.Spec.Taints)
		}
		if pods := node.Status.Allocatable[corev1.ResourcePods]; pods.Value() != 110 {
			t.Fatalf("%s allocatable pods = %s", name, pods.String())
		}
		if node.Labels[corev1.LabelHostname] != name {
			t.Fatalf("%s labels %v", name, node.Labels)
		}
		lease, err := c.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if *lease.Spec.HolderIdentity != name || len(lease.OwnerReferences) != 1 || lease.OwnerReferences[0].UID != node.UID {
			t.Fatalf("lease %+v", lease)
		}
		first, firstBeat := lease.Spec.RenewTime.Time, heartbeat(node)
		eventually(t, 5*time.Second, name+" lease and heartbeat renewed", func() error {
			l, err := c.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if !l.Spec.RenewTime.After(first) || !heartbeat(n).After(firstBeat) {
				return fmt.Errorf("lease %v heartbeat %v", l.Spec.RenewTime.Time, heartbeat(n))
			}
			return nil
		})
	}
	// A taint put back (the lifecycle controller, a restart) is removed again.
	node, err := c.CoreV1().Nodes().Get(ctx, prefix+"0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Spec.Taints = append(node.Spec.Taints, corev1.Taint{Key: TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule})
	if _, err := c.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "not-ready taint removed", func() error {
		n, err := c.CoreV1().Nodes().Get(ctx, prefix+"0", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if hasTaint(n, TaintNodeNotReady) {
			return fmt.Errorf("taints %v", n.Spec.Taints)
		}
		return nil
	})
}

func heartbeat(n *corev1.Node) time.Time {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.LastHeartbeatTime.Time
		}
	}
	return time.Time{}
}

// TestIntegrationPodLifecycle follows one pod with a readiness probe, a
// readiness gate and a preStop sleep from creation to removal.
func TestIntegrationPodLifecycle(t *testing.T) {
	cfg, c := apiserver(t)
	podRange := netip.MustParsePrefix("127.111.0.0/24")
	node := nodeName("life")
	sim := startSim(t, cfg, Options{Nodes: []NodeOptions{{Name: node, PodCIDRs: []netip.Prefix{podRange}}}})
	ns := namespace(t, c)
	ctx := context.Background()
	const gate = corev1.PodConditionType("backend.lbgate.dev/web")
	key := createPod(t, c, testPod(ns, "web", node, podOpts{probe: true, failures: 3, gate: gate, preStop: 3, grace: 10}))

	// Address assigned from the node's range, and a real server answers on it.
	pod, ip := waitRunning(t, c, key)
	if !podRange.Contains(ip) {
		t.Fatalf("pod IP %s is not in %s", ip, podRange)
	}
	if pod.Status.HostIP != "127.0.0.1" || len(pod.Status.PodIPs) != 1 || pod.Status.StartTime == nil {
		t.Fatalf("status: hostIP %q podIPs %v startTime %v", pod.Status.HostIP, pod.Status.PodIPs, pod.Status.StartTime)
	}
	if owner := sim.AddressesInUse()[ip]; owner != key.String() {
		t.Fatalf("address table: %s held by %q", ip, owner)
	}
	eventually(t, 5*time.Second, "server answers on the pod IP", func() error {
		code, body, err := fetch(ip, 8080, "/hello")
		if err != nil || code != 200 || body != "pod=web version=v1\n" {
			return fmt.Errorf("%d %q %w", code, body, err)
		}
		return nil
	})

	// The probe passes: ContainersReady True; Ready waits for the gate.
	pod = waitCondition(t, c, key, corev1.ContainersReady, corev1.ConditionTrue, 5*time.Second)
	ready := podCondition(pod, corev1.PodReady)
	if ready.Status != corev1.ConditionFalse || ready.Reason != "ReadinessGatesNotReady" ||
		ready.Message != `corresponding condition of pod readiness gate "backend.lbgate.dev/web" does not exist.` {
		t.Fatalf("Ready before the gate: %+v", ready)
	}
	cs := pod.Status.ContainerStatuses
	if len(cs) != 1 || !cs[0].Ready || cs[0].State.Running == nil || cs[0].Started == nil || !*cs[0].Started {
		t.Fatalf("container status %+v", cs)
	}
	for _, ct := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.PodReadyToStartContainers} {
		if podCondition(pod, ct).Status != corev1.ConditionTrue {
			t.Fatalf("%s: %+v", ct, podCondition(pod, ct))
		}
	}

	// A False gate keeps Ready False with the kubelet's message.
	setGate(t, c, key, gate, corev1.ConditionFalse)
	eventually(t, 3*time.Second, "Ready message names the False gate", func() error {
		p, err := getPod(c, key)
		if err != nil {
			return err
		}
		if m := podCondition(p, corev1.PodReady).Message; m != `the status of pod readiness gate "backend.lbgate.dev/web" is not "True", but False` {
			return fmt.Errorf("message %q", m)
		}
		return nil
	})
	readyFalseSince := podCondition(waitCondition(t, c, key, corev1.PodReady, corev1.ConditionFalse, time.Second), corev1.PodReady).LastTransitionTime

	// The gate turns True: Ready follows at once (not at the 10 s resync).
	gateSet := time.Now()
	setGate(t, c, key, gate, corev1.ConditionTrue)
	pod = waitCondition(t, c, key, corev1.PodReady, corev1.ConditionTrue, 3*time.Second)
	if took := time.Since(gateSet); took > 2*time.Second {
		t.Fatalf("Ready took %v after the gate turned True", took)
	}
	if g := podCondition(pod, gate); g.Reason != "Test" || g.Status != corev1.ConditionTrue {
		t.Fatalf("the gate condition was not kept as written: %+v", g)
	}
	if lt := podCondition(pod, corev1.PodReady).LastTransitionTime; !lt.After(readyFalseSince.Add(-time.Second)) {
		t.Fatalf("Ready lastTransitionTime %v did not move on the transition (was %v)", lt, readyFalseSince)
	}
	t.Logf("Ready True %v after the gate", time.Since(gateSet))

	// The probe fails: unready only after failureThreshold (3) periods of 1 s.
	probeFails := time.Now()
	if err := sim.SetReadinessStatus(key, 500); err != nil {
		t.Fatal(err)
	}
	pod = waitCondition(t, c, key, corev1.ContainersReady, corev1.ConditionFalse, 8*time.Second)
	took := time.Since(probeFails)
	if took < 2*time.Second {
		t.Fatalf("unready after %v: sooner than 3 failures 1 s apart allow", took)
	}
	t.Logf("ContainersReady False %v after the probe began to fail", took)
	if r := podCondition(pod, corev1.PodReady); r.Status != corev1.ConditionFalse || r.Reason != "ContainersNotReady" ||
		r.Message != "containers with unready status: [app]" {
		t.Fatalf("Ready while the probe fails: %+v", r)
	}
	if g := podCondition(pod, gate); g.Status != corev1.ConditionTrue || g.Reason != "Test" {
		t.Fatalf("gate condition touched: %+v", g)
	}
	if err := sim.SetReadinessStatus(key, 200); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, c, key, corev1.PodReady, corev1.ConditionTrue, 5*time.Second)

	// Deletion: preStop sleep (3 s) while still serving, then graceful
	// shutdown that finishes in-flight requests, then the pod is removed.
	w, err := c.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=web", ResourceVersion: pod.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	deleted := time.Now()
	if err := c.CoreV1().Pods(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	type result struct {
		code int
		err  error
		at   time.Time
	}
	inflight := make(chan result, 1)
	go func() {
		code, _, err := fetch(ip, 8080, "/work?delay=4s")
		inflight <- result{code, err, time.Now()}
	}()
	if code, _, err := fetch(ip, 8080, "/during-prestop"); err != nil || code != 200 {
		t.Fatalf("not serving during preStop: %d %v", code, err)
	}
	if p, err := getPod(c, key); err != nil || p.DeletionTimestamp == nil || time.Since(deleted) > 2500*time.Millisecond {
		t.Fatalf("expected to check during preStop of a terminating pod: %v, %v after delete", err, time.Since(deleted))
	}
	eventually(t, 6*time.Second, "new connections refused after preStop", func() error {
		if !refused(ip, 8080) {
			return fmt.Errorf("still accepting")
		}
		return nil
	})
	refusedAt := time.Now()
	if d := refusedAt.Sub(deleted); d < 3*time.Second {
		t.Fatalf("stopped accepting %v after the delete, before the 3 s preStop ended", d)
	}
	r := <-inflight
	if r.err != nil || r.code != 200 || !r.at.After(refusedAt) {
		t.Fatalf("in-flight request: code %d err %v, finished %v after refusal", r.code, r.err, r.at.Sub(refusedAt))
	}
	waitGone(t, c, key, 10*time.Second)
	if _, held := sim.AddressesInUse()[ip]; held {
		t.Fatalf("address %s still held after the pod is gone", ip)
	}

	// The last status written before the delete: Succeeded, exit 0, not ready.
	var last *corev1.Pod
	for done := false; !done; {
		select {
		case ev := <-w.ResultChan():
			if p, ok := ev.Object.(*corev1.Pod); ok {
				last = p
			}
			done = ev.Type == watch.Deleted
		case <-time.After(5 * time.Second):
			t.Fatal("no Deleted event")
		}
	}
	if last.Status.Phase != corev1.PodSucceeded {
		t.Fatalf("final phase %s", last.Status.Phase)
	}
	term := last.Status.ContainerStatuses[0].State.Terminated
	if term == nil || term.ExitCode != 0 || term.Reason != "Completed" {
		t.Fatalf("final container state %+v", last.Status.ContainerStatuses[0].State)
	}
	if r := podCondition(last, corev1.PodReady); r.Status != corev1.ConditionFalse || r.Reason != "PodCompleted" {
		t.Fatalf("final Ready %+v", r)
	}
}

// TestIntegrationAddresses: addresses come from the pod's network mode, the
// node's ranges or its mode, are unique, and each pod's server answers with
// its own name; a pod without a readiness probe is ready at once.
func TestIntegrationAddresses(t *testing.T) {
	cfg, c := apiserver(t)
	eni, router, own := netip.MustParsePrefix("127.112.0.0/24"), netip.MustParsePrefix("127.113.0.0/24"), netip.MustParsePrefix("127.114.0.0/24")
	eniNode, routerNode, ownNode := nodeName("addr-eni"), nodeName("addr-router"), nodeName("addr-own")
	startSim(t, cfg, Options{
		NetworkModes: map[string][]netip.Prefix{"eni": {eni}, "global-router": {router}},
		Nodes: []NodeOptions{
			{Name: eniNode, NetworkMode: "eni"},
			{Name: routerNode, NetworkMode: "global-router"},
			{Name: ownNode, PodCIDRs: []netip.Prefix{own}},
		},
	})
	node, err := c.CoreV1().Nodes().Get(context.Background(), eniNode, metav1.GetOptions{})
	if err != nil || node.Labels[LabelNetworkMode] != "eni" {
		t.Fatalf("node label: %v %v", node.Labels, err)
	}
	ns := namespace(t, c)
	cases := []struct {
		name, node string
		annotate   map[string]string
		want       netip.Prefix
	}{
		{"eni-a", eniNode, nil, eni},
		{"eni-b", eniNode, nil, eni},
		{"router-a", routerNode, nil, router},
		{"own-a", ownNode, nil, own},
		{"override", eniNode, map[string]string{AnnotationNetworkMode: "global-router"}, router},
	}
	for _, tc := range cases {
		createPod(t, c, testPod(ns, tc.name, tc.node, podOpts{annotate: tc.annotate}))
	}
	seen := map[netip.Addr]string{}
	for _, tc := range cases {
		key := types.NamespacedName{Namespace: ns, Name: tc.name}
		pod, ip := waitRunning(t, c, key)
		if !tc.want.Contains(ip) {
			t.Errorf("%s: %s not in %s", tc.name, ip, tc.want)
		}
		if other, dup := seen[ip]; dup {
			t.Errorf("%s and %s share %s", tc.name, other, ip)
		}
		seen[ip] = tc.name
		// No readiness probe: ready as soon as it runs.
		if podCondition(pod, corev1.PodReady).Status != corev1.ConditionTrue {
			waitCondition(t, c, key, corev1.PodReady, corev1.ConditionTrue, 3*time.Second)
		}
		eventually(t, 5*time.Second, tc.name+" answers", func() error {
			code, body, err := fetch(ip, 8080, "/")
			if err != nil || code != 200 || !strings.HasPrefix(body, "pod="+tc.name+" ") {
				return fmt.Errorf("%d %q %w", code, body, err)
			}
			return nil
		})
	}
}

// TestIntegrationKnobs: start-up delay, /healthz status from the image tag,
// warm-up, and a bad knob.
func TestIntegrationKnobs(t *testing.T) {
	cfg, c := apiserver(t)
	node := nodeName("knobs")
	startSim(t, cfg, Options{Nodes: []NodeOptions{{Name: node, PodCIDRs: []netip.Prefix{netip.MustParsePrefix("127.115.0.0/24")}}}})
	ns := namespace(t, c)
	env := func(kv ...string) []corev1.EnvVar {
		var out []corev1.EnvVar
		for i := 0; i < len(kv); i += 2 {
			out = append(out, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	slow := createPod(t, c, testPod(ns, "slow", node, podOpts{probe: true, env: env(EnvStartupDelay, "2s")}))
	broken := createPod(t, c, testPod(ns, "broken", node, podOpts{probe: true, image: "example.com/web:v2--healthz-500"}))
	bad := createPod(t, c, testPod(ns, "bad", node, podOpts{env: env(EnvHealthzStatus, "lots")}))

	// Start-up delay: the container runs but nothing listens, so the probe fails until then.
	_, slowIP := waitRunning(t, c, slow)
	running := time.Now()
	if !refused(slowIP, 8080) {
		t.Fatal("listening before the start-up delay")
	}
	pod := waitCondition(t, c, slow, corev1.ContainersReady, corev1.ConditionTrue, 6*time.Second)
	if d := podCondition(pod, corev1.ContainersReady).LastTransitionTime.Sub(pod.Status.StartTime.Time); d < time.Second {
		t.Fatalf("ready %v after the start, before the 2 s start-up delay", d)
	}
	t.Logf("start-up delay pod ready %v after it was seen running", time.Since(running))

	// healthz-500 from the image tag: readiness passes, /healthz fails, version v2.
	waitCondition(t, c, broken, corev1.ContainersReady, corev1.ConditionTrue, 5*time.Second)
	_, brokenIP := waitRunning(t, c, broken)
	if code, _, err := fetch(brokenIP, 8080, HealthzPath); err != nil || code != 500 {
		t.Fatalf("/healthz: %d %v", code, err)
	}
	if code, body, err := fetch(brokenIP, 8080, "/"); err != nil || code != 200 || body != "pod=broken version=v2\n" {
		t.Fatalf("/: %d %q %v", code, body, err)
	}

	// Warm-up in fail mode: the probe path answers at once, app requests fail for 3 s.
	warm := createPod(t, c, testPod(ns, "warm", node, podOpts{probe: true, env: env(EnvWarmup, "3s", EnvWarmupMode, WarmupFail)}))
	_, warmIP := waitRunning(t, c, warm)
	eventually(t, 3*time.Second, "warming up: requests fail, the probe path passes", func() error {
		code, _, err := fetch(warmIP, 8080, "/")
		if err != nil || code != 503 {
			return fmt.Errorf("/: %d %w", code, err)
		}
		if code, _, err := fetch(warmIP, 8080, "/ready"); err != nil || code != 200 {
			return fmt.Errorf("/ready: %d %w", code, err)
		}
		return nil
	})
	waitCondition(t, c, warm, corev1.ContainersReady, corev1.ConditionTrue, 3*time.Second)
	eventually(t, 6*time.Second, "warm-up over", func() error {
		if code, _, err := fetch(warmIP, 8080, "/"); err != nil || code != 200 {
			return fmt.Errorf("%d %w", code, err)
		}
		return nil
	})

	// A bad knob: the container does not start (CreateContainerConfigError).
	eventually(t, 5*time.Second, "bad knob reported", func() error {
		p, err := getPod(c, bad)
		if err != nil {
			return err
		}
		if len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Waiting == nil ||
			p.Status.ContainerStatuses[0].State.Waiting.Reason != "CreateContainerConfigError" || p.Status.Phase != corev1.PodPending {
			return fmt.Errorf("phase %s statuses %+v", p.Status.Phase, p.Status.ContainerStatuses)
		}
		return nil
	})
}
