package nodesim

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestIntegrationRestart: a new simulator on the same Nodes restarts the
// apps of running pods on the addresses they already have, and removes a
// pod that was deleted while no simulator ran.
func TestIntegrationRestart(t *testing.T) {
	cfg, c := apiserver(t)
	opts := Options{Nodes: []NodeOptions{{Name: nodeName("restart"), PodCIDRs: []netip.Prefix{netip.MustParsePrefix("127.118.0.0/24")}}}}
	node := opts.Nodes[0].Name
	first := startSim(t, cfg, opts)
	ns := namespace(t, c)
	kept := createPod(t, c, testPod(ns, "kept", node, podOpts{probe: true}))
	leaving := createPod(t, c, testPod(ns, "leaving", node, podOpts{preStop: 60, grace: 120}))
	waitCondition(t, c, kept, corev1.ContainersReady, corev1.ConditionTrue, 5*time.Second)
	_, ip := waitRunning(t, c, kept)
	waitRunning(t, c, leaving)
	if err := c.CoreV1().Pods(ns).Delete(context.Background(), leaving.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	first.Stop()
	if !refused(ip, 8080) {
		t.Fatal("still serving after Stop")
	}

	second := startSim(t, cfg, opts)
	eventually(t, 5*time.Second, "the app is back on its address", func() error {
		if code, body, err := fetch(ip, 8080, "/"); err != nil || code != 200 || body != "pod=kept version=v1\n" {
			return fmt.Errorf("%d %q %w", code, body, err)
		}
		return nil
	})
	if owner := second.AddressesInUse()[ip]; owner != kept.String() {
		t.Fatalf("address %s held by %q", ip, owner)
	}
	pod := waitCondition(t, c, kept, corev1.ContainersReady, corev1.ConditionTrue, 5*time.Second)
	if pod.Status.PodIP != ip.String() {
		t.Fatalf("address changed to %s", pod.Status.PodIP)
	}
	waitGone(t, c, leaving, 5*time.Second)
}

// TestIntegrationOwnConditionsRepaired: a foreign write to a condition the
// kubelet owns is put right, while a gate condition written meanwhile stays.
func TestIntegrationOwnConditionsRepaired(t *testing.T) {
	cfg, c := apiserver(t)
	node := nodeName("repair")
	startSim(t, cfg, Options{Nodes: []NodeOptions{{Name: node, PodCIDRs: []netip.Prefix{netip.MustParsePrefix("127.119.0.0/24")}}}})
	ns := namespace(t, c)
	key := createPod(t, c, testPod(ns, "web", node, podOpts{}))
	waitCondition(t, c, key, corev1.PodReady, corev1.ConditionTrue, 5*time.Second)
	patch := `{"status":{"conditions":[{"type":"Ready","status":"False","reason":"Meddling"},{"type":"example.com/other","status":"True"}]}}`
	if _, err := c.CoreV1().Pods(ns).Patch(context.Background(), key.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	pod := waitCondition(t, c, key, corev1.PodReady, corev1.ConditionTrue, 3*time.Second)
	if podCondition(pod, "example.com/other").Status != corev1.ConditionTrue {
		t.Fatalf("foreign condition lost: %+v", pod.Status.Conditions)
	}
}
