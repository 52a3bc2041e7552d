package backendgroup

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestRolloutBlocked: pods wait for a place that nothing will free (issue 10, item 2).
func TestRolloutBlocked(t *testing.T) {
	now, after := pfNow, 30*time.Second
	long := now.Add(-time.Minute)
	waiting := podCounts{waiting: 2}
	bound := PodPlan{Pod: pfPod("a", "10.0.0.1"), State: StateBound}
	leaving := PodPlan{Pod: pfPod("b", "10.0.0.2"), State: StateLeaving}
	for _, tt := range []struct {
		name  string
		plan  Plan
		c     podCounts
		since time.Time
		want  bool
	}{
		{"waiting long, nothing leaves", Plan{Pods: []PodPlan{bound}}, waiting, long, true},
		{"nobody waits", Plan{Pods: []PodPlan{bound}}, podCounts{}, long, false},
		{"not long enough", Plan{Pods: []PodPlan{bound}}, waiting, now.Add(-10 * time.Second), false},
		{"no QuotaExceeded condition yet", Plan{Pods: []PodPlan{bound}}, waiting, time.Time{}, false},
		{"a pod leaves", Plan{Pods: []PodPlan{bound, leaving}}, waiting, long, false},
		{"a backend drains", Plan{Pods: []PodPlan{bound}, NextDeregistration: now.Add(time.Second)}, waiting, long, false},
		{"a backend is deregistered now", Plan{Pods: []PodPlan{bound}, Deregister: map[string][]netip.AddrPort{"tg-a": {netip.MustParseAddrPort("10.0.0.9:8080")}}}, waiting, long, false},
		{"a handover holds a backend", Plan{Pods: []PodPlan{bound}, Held: []TargetBackend{pfTB("tg-a", "10.0.0.9:8080")}}, waiting, long, false},
	} {
		if got := rolloutBlocked(tt.plan, tt.c, tt.since, now, after); got != tt.want {
			t.Errorf("%s: rolloutBlocked = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestDeploymentWorkload resolves rolling-update bounds as the deployment
// controller does: surge rounds up, unavailability down, 25% each when unset.
func TestDeploymentWorkload(t *testing.T) {
	dep := func(replicas int32, surge, unavailable *intstr.IntOrString) *appsv1.Deployment {
		d := &appsv1.Deployment{}
		d.Name = "web"
		d.Spec.Replicas = &replicas
		if surge != nil || unavailable != nil {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: surge, MaxUnavailable: unavailable}
		}
		return d
	}
	pct := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	num := func(n int32) *intstr.IntOrString { v := intstr.FromInt32(n); return &v }
	for _, tt := range []struct {
		name               string
		d                  *appsv1.Deployment
		surge, unavailable int32
	}{
		{"defaults 25%/25% of 10", dep(10, nil, nil), 3, 2},
		{"numbers", dep(5, num(1), num(0)), 1, 0},
		{"percent of 5", dep(5, pct("10%"), pct("10%")), 1, 0},
		{"only surge set", dep(8, num(2), nil), 2, 2},
	} {
		w := deploymentWorkload(tt.d)
		if w.surge != tt.surge || w.unavailable != tt.unavailable || !w.deployment {
			t.Errorf("%s: surge %d unavailable %d, want %d and %d", tt.name, w.surge, w.unavailable, tt.surge, tt.unavailable)
		}
	}
}

// TestBlockedMessage says exactly what to change, naming the workload.
func TestBlockedMessage(t *testing.T) {
	for _, tt := range []struct {
		name string
		w    *workload
		want []string
	}{
		{"Deployment", &workload{kind: "Deployment", name: "web", replicas: 5, surge: 1, unavailable: 0, deployment: true},
			[]string{"3 pods wait for a place under max-backends 5", "Deployment web has 5 replicas, maxSurge 1 and maxUnavailable 0", "lbgate.dev/max-backends to at least 6", "maxUnavailable to at least 1"}},
		{"StatefulSet", &workload{kind: "StatefulSet", name: "db", replicas: 5},
			[]string{"StatefulSet db has 5 replicas", "lbgate.dev/max-backends above 5"}},
		{"owner unknown", nil, []string{"lbgate.dev/max-backends above the workload's replicas plus its surge", "maxUnavailable of at least 1"}},
	} {
		msg := blockedMessage(3, 5, tt.w)
		for _, want := range tt.want {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: %q does not say %q", tt.name, msg, want)
			}
		}
	}
}
