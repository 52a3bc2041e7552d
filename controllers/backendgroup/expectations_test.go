package backendgroup

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

// TestGateExpectationsWithALaggingCache: the cache shows a pod as it was
// before this process's last gate write (issue 8, bug 5). The gate decision
// must read through the write: no second True (the transition time and the
// gate-wait histogram would move), no False over a True the cache has not
// seen yet.
func TestGateExpectationsWithALaggingCache(t *testing.T) {
	const gt = "backend.lbgate.dev/web"
	ts := metav1.NewTime(pfNow)
	healthy := GateVerdict{Status: corev1.ConditionTrue, Reason: v1alpha1.GateReasonHealthy, Message: "load balancer reports healthy on tg-a"}
	pendingV := GateVerdict{Status: corev1.ConditionFalse, Reason: v1alpha1.GateReasonHealthCheckPending, Message: "waiting"}
	stale := pfPod("a", "10.0.0.1") // the cache: gate still False
	stale.Status.Conditions = append(stale.Status.Conditions, corev1.PodCondition{Type: gt, Status: corev1.ConditionFalse, Reason: v1alpha1.GateReasonHealthCheckPending, Message: "waiting"})

	var e gateExpectations
	next, changed := NextGate(e.current(stale, gt), gt, healthy, ts)
	if !changed {
		t.Fatal("first True not written")
	}
	e.wrote(stale, next)

	later := metav1.NewTime(pfNow.Add(time.Second))
	if _, changed := NextGate(e.current(stale, gt), gt, healthy, later); changed {
		t.Error("True written twice from a lagging cache")
	}
	if _, changed := NextGate(e.current(stale, gt), gt, pendingV, later); changed {
		t.Error("False written over a True the cache has not seen")
	}

	caughtUp := stale.DeepCopy()
	caughtUp.Status.Conditions[1] = next
	if got := e.current(caughtUp, gt); got == nil || got.Status != corev1.ConditionTrue {
		t.Fatalf("current = %v once the cache caught up", got)
	}
	if len(e.pending) != 0 {
		t.Errorf("expectation kept after the cache caught up: %v", e.pending)
	}
}
