package backendgroup

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/providers"
)

// TestPendingPoll: fast while a check is due, then doubling each window,
// capped (issue 10, item 6).
func TestPendingPoll(t *testing.T) {
	const base, window, limit = 250 * time.Millisecond, 4 * time.Second, 5 * time.Second
	for _, tt := range []struct {
		age  time.Duration
		want time.Duration
	}{
		{0, base},
		{3999 * time.Millisecond, base},
		{4 * time.Second, 500 * time.Millisecond},
		{8 * time.Second, time.Second},
		{12 * time.Second, 2 * time.Second},
		{16 * time.Second, 4 * time.Second},
		{20 * time.Second, limit},
		{time.Hour, limit},
		{-time.Second, base}, // a clock step back: poll fast
	} {
		if got := pendingPoll(tt.age, window, base, limit); got != tt.want {
			t.Errorf("pendingPoll(age %s) = %s, want %s", tt.age, got, tt.want)
		}
	}
	if got := pendingPoll(time.Hour, 0, base, limit); got != base {
		t.Errorf("without a window: %s, want the base %s", got, base)
	}
	if got := pendingPoll(time.Hour, window, 10*time.Second, limit); got != 10*time.Second {
		t.Errorf("a base above the limit: %s, want the base", got)
	}
}

func TestCheckWindow(t *testing.T) {
	i32 := func(n int32) *int32 { return &n }
	for _, tt := range []struct {
		name         string
		spec, status *v1alpha1.HealthCheck
		want         time.Duration
	}{
		{"defaults", nil, nil, 6 * time.Second},
		{"spec", &v1alpha1.HealthCheck{IntervalSeconds: i32(5), HealthyThreshold: i32(3)}, nil, 20 * time.Second},
		{"status over spec", &v1alpha1.HealthCheck{IntervalSeconds: i32(5)}, &v1alpha1.HealthCheck{IntervalSeconds: i32(1), HealthyThreshold: i32(1)}, 2 * time.Second},
		{"partial status keeps the spec's rest", &v1alpha1.HealthCheck{IntervalSeconds: i32(5), HealthyThreshold: i32(3)}, &v1alpha1.HealthCheck{IntervalSeconds: i32(1)}, 4 * time.Second},
	} {
		bg := &v1alpha1.BackendGroup{}
		bg.Spec.HealthCheck, bg.Status.HealthCheck = tt.spec, tt.status
		if got := checkWindow(bg); got != tt.want {
			t.Errorf("%s: checkWindow = %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestCountPodsWaitingOnLB: every bound pod the load balancer does not
// report healthy is waited on, with its gate or without (a provider may
// finish a registration only when it is listed: HAProxy puts a slot in
// traffic once its check passed; seen in the e2e baseline without gates,
// whose servers never came up), and the latest registration of the waiting
// pods says how soon a check is due.
func TestCountPodsWaitingOnLB(t *testing.T) {
	gate := v1alpha1.GateConditionType("web")
	gated := func(name, ip string) *corev1.Pod {
		p := pfPod(name, ip)
		p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: corev1.PodConditionType(gate)}}
		return p
	}
	t1, t2 := metav1.NewTime(pfNow.Add(-time.Minute)), metav1.NewTime(pfNow.Add(-10*time.Second))
	plan := Plan{}
	lb := map[TargetBackend]providers.BackendStatus{}
	records := map[TargetBackend]v1alpha1.BackendRecord{}
	for _, p := range []struct {
		pod *corev1.Pod
		at  *metav1.Time
	}{{gated("a", "10.0.0.1"), &t1}, {gated("b", "10.0.0.2"), &t2}, {pfPod("ungated", "10.0.0.3"), &t1}} {
		tb := pfTB("tg-a", p.pod.Status.PodIP+":8080")
		plan.Pods = append(plan.Pods, PodPlan{Pod: p.pod, State: StateBound, Backends: []TargetBackend{tb}})
		lb[tb] = providers.BackendStatus{Health: providers.HealthUnhealthy}
		rec := record(tb, p.pod)
		rec.RegisteredAt = p.at
		records[tb] = rec
	}
	c := countPods(plan, lb, records, gate)
	if c.waitingOnLB != 3 {
		t.Errorf("waitingOnLB = %d, want 3 (the pod without the gate is waited on too)", c.waitingOnLB)
	}
	if c.justRegistered || !c.lastRegistered.Equal(t2.Time) {
		t.Errorf("lastRegistered = %v (just registered %v), want %v", c.lastRegistered, c.justRegistered, t2.Time)
	}
	if len(c.withoutGate) != 1 || c.withoutGate[0] != "ungated" {
		t.Errorf("withoutGate = %v, want [ungated]", c.withoutGate)
	}
}
