package backendgroup

import (
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/providers"
)

// gtTB is a backend of pod IP 10.0.0.1 on a target.
func gtTB(target, addr string) TargetBackend {
	return TargetBackend{Target: target, Addr: netip.MustParseAddrPort(addr)}
}

// gtBound is a bound pod plan on tg-a (port 8080) and tg-b (port 9100).
func gtBound() PodPlan {
	return PodPlan{
		Pod:   pfPod("a", "10.0.0.1"),
		State: StateBound,
		Backends: []TargetBackend{
			gtTB("tg-a", "10.0.0.1:8080"),
			gtTB("tg-b", "10.0.0.1:9100"),
		},
	}
}

// gtLB is the load balancer's view: health per target of the bound pod's backends.
func gtLB(a, b providers.Health, reasons ...string) map[TargetBackend]providers.BackendStatus {
	lb := map[TargetBackend]providers.BackendStatus{}
	reason := func(i int) string {
		if i < len(reasons) {
			return reasons[i]
		}
		return ""
	}
	if a != "" {
		lb[gtTB("tg-a", "10.0.0.1:8080")] = providers.BackendStatus{Health: a, Reason: reason(0)}
	}
	if b != "" {
		lb[gtTB("tg-b", "10.0.0.1:9100")] = providers.BackendStatus{Health: b, Reason: reason(1)}
	}
	return lb
}

// gtOwned records every backend of lb as pod's.
func gtOwned(lb map[TargetBackend]providers.BackendStatus, pod *corev1.Pod) map[TargetBackend]v1alpha1.BackendRecord {
	out := map[TargetBackend]v1alpha1.BackendRecord{}
	for tb := range lb {
		out[tb] = record(tb, pod)
	}
	return out
}

// TestVerdictOnlyOwnBackends: a backend is evidence only for the pod the
// records name (issue 8, bug 1: a new pod that got a freed IP inherited the
// previous pod's healthy backend and turned True at once).
func TestVerdictOnlyOwnBackends(t *testing.T) {
	healthyLB := gtLB(providers.HealthHealthy, providers.HealthHealthy)
	previous := pfPod("previous", "10.0.0.1")
	tests := []struct {
		name    string
		records map[TargetBackend]v1alpha1.BackendRecord
		want    GateVerdict
	}{
		{"own backends: True", gtOwned(healthyLB, gtBound().Pod),
			GateVerdict{corev1.ConditionTrue, v1alpha1.GateReasonHealthy, "load balancer reports healthy on tg-a, tg-b"}},
		{"the previous pod's backends: Registering", gtOwned(healthyLB, previous),
			GateVerdict{corev1.ConditionFalse, v1alpha1.GateReasonRegistering, "registering 10.0.0.1:8080 on tg-a, 10.0.0.1:9100 on tg-b"}},
		{"backends of no known pod: Registering", nil,
			GateVerdict{corev1.ConditionFalse, v1alpha1.GateReasonRegistering, "registering 10.0.0.1:8080 on tg-a, 10.0.0.1:9100 on tg-b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := Verdict(gtBound(), healthyLB, tc.records)
			if got != tc.want {
				t.Errorf("verdict:\n got  %+v\n want %+v", got, tc.want)
			}
		})
	}
}

func TestVerdictByState(t *testing.T) {
	healthyLB := gtLB(providers.HealthHealthy, providers.HealthHealthy)
	tests := []struct {
		name   string
		state  PodState
		detail string
		ok     bool
		want   GateVerdict
	}{
		{"pending pod: Registering", StatePending, "waiting for the pod IP", true,
			GateVerdict{corev1.ConditionFalse, v1alpha1.GateReasonRegistering, "waiting for the pod IP"}},
		{"waiting for containers: Registering", StateWaitingContainers, "waiting for the pod's containers to be ready before registering", true,
			GateVerdict{corev1.ConditionFalse, v1alpha1.GateReasonRegistering, "waiting for the pod's containers to be ready before registering"}},
		{"quota wait: QuotaExceeded", StateQuotaWait, "waiting for a place under the backend quota of 2", true,
			GateVerdict{corev1.ConditionFalse, v1alpha1.GateReasonQuotaExceeded, "waiting for a place under the backend quota of 2"}},
		{"mode mismatch: NetworkModeMismatch", StateModeMismatch, "pod IP 1.2.3.4 is not in the eni ranges [10.0.0.0/8]", true,
			GateVerdict{corev1.ConditionFalse, v1alpha1.GateReasonNetworkModeMismatch, "pod IP 1.2.3.4 is not in the eni ranges [10.0.0.0/8]"}},
		{"hostNetwork: HostNetwork", StateHostNetwork, "hostNetwork pods are never bound to the load balancer", true,
			GateVerdict{corev1.ConditionFalse, v1alpha1.GateReasonHostNetwork, "hostNetwork pods are never bound to the load balancer"}},
		{"port not found: TargetPortNotFound", StatePortNotFound, `target port "http" (Service port 80) of the Service names no container port of the pod`, true,
			GateVerdict{corev1.ConditionFalse, v1alpha1.GateReasonTargetPortNotFound, `target port "http" (Service port 80) of the Service names no container port of the pod`}},
		{"leaving: gate left as it is", StateLeaving, "pod is leaving", false, GateVerdict{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pp := gtBound() // backends healthy on the LB: the state alone must decide
			pp.State, pp.Detail = tc.state, tc.detail
			got, ok := Verdict(pp, healthyLB, gtOwned(healthyLB, pp.Pod))
			if ok != tc.ok {
				t.Errorf("ok: got %v, want %v", ok, tc.ok)
			}
			if got != tc.want {
				t.Errorf("verdict:\n got  %+v\n want %+v", got, tc.want)
			}
		})
	}
}

func TestVerdictBoundByHealth(t *testing.T) {
	const (
		healthy   = providers.HealthHealthy
		unhealthy = providers.HealthUnhealthy
		initial   = providers.HealthInitial
		draining  = providers.HealthDraining
		unused    = providers.HealthUnused
		missing   = providers.Health("")
	)
	falseV := func(reason, msg string) GateVerdict { return GateVerdict{corev1.ConditionFalse, reason, msg} }
	tests := []struct {
		name string
		lb   map[TargetBackend]providers.BackendStatus
		want GateVerdict
	}{
		{"healthy on every target: True Healthy", gtLB(healthy, healthy),
			GateVerdict{corev1.ConditionTrue, v1alpha1.GateReasonHealthy, "load balancer reports healthy on tg-a, tg-b"}},
		{"one target missing: Registering", gtLB(healthy, missing),
			falseV(v1alpha1.GateReasonRegistering, "registering 10.0.0.1:9100 on tg-b")},
		{"both targets missing: Registering lists both", gtLB(missing, missing),
			falseV(v1alpha1.GateReasonRegistering, "registering 10.0.0.1:8080 on tg-a, 10.0.0.1:9100 on tg-b")},
		{"Initial: HealthCheckPending", gtLB(initial, healthy),
			falseV(v1alpha1.GateReasonHealthCheckPending, "waiting for the load balancer's health check of 10.0.0.1:8080 on tg-a (Initial)")},
		{"Draining: HealthCheckPending", gtLB(healthy, draining),
			falseV(v1alpha1.GateReasonHealthCheckPending, "waiting for the load balancer's health check of 10.0.0.1:9100 on tg-b (Draining)")},
		{"Unused: HealthCheckPending", gtLB(unused, healthy),
			falseV(v1alpha1.GateReasonHealthCheckPending, "waiting for the load balancer's health check of 10.0.0.1:8080 on tg-a (Unused)")},
		{"Initial and Unused: HealthCheckPending lists both", gtLB(initial, unused),
			falseV(v1alpha1.GateReasonHealthCheckPending, "waiting for the load balancer's health check of 10.0.0.1:8080 on tg-a (Initial), 10.0.0.1:9100 on tg-b (Unused)")},
		{"Unhealthy: reason of the LB in the message", gtLB(unhealthy, healthy, "L7STS/500"),
			falseV(v1alpha1.GateReasonUnhealthy, "load balancer reports unhealthy: 10.0.0.1:8080 on tg-a")},
		{"Unhealthy without a reason: dash", gtLB(healthy, unhealthy),
			falseV(v1alpha1.GateReasonUnhealthy, "load balancer reports unhealthy: 10.0.0.1:9100 on tg-b")},
		{"Unhealthy on both targets: both listed", gtLB(unhealthy, unhealthy, "L4CON", "L7TOUT"),
			falseV(v1alpha1.GateReasonUnhealthy, "load balancer reports unhealthy: 10.0.0.1:8080 on tg-a, 10.0.0.1:9100 on tg-b")},
		{"Unhealthy wins over missing", gtLB(unhealthy, missing, "L4CON"),
			falseV(v1alpha1.GateReasonUnhealthy, "load balancer reports unhealthy: 10.0.0.1:8080 on tg-a")},
		{"Unhealthy wins over pending", gtLB(initial, unhealthy, "", "L7STS/503"),
			falseV(v1alpha1.GateReasonUnhealthy, "load balancer reports unhealthy: 10.0.0.1:9100 on tg-b")},
		{"missing wins over pending", gtLB(initial, missing),
			falseV(v1alpha1.GateReasonRegistering, "registering 10.0.0.1:9100 on tg-b")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Verdict(gtBound(), tc.lb, gtOwned(tc.lb, gtBound().Pod))
			if !ok {
				t.Fatalf("ok=false for a bound pod")
			}
			if got != tc.want {
				t.Errorf("verdict:\n got  %+v\n want %+v", got, tc.want)
			}
		})
	}
	t.Run("single target healthy names only that target", func(t *testing.T) {
		pp := gtBound()
		pp.Backends = pp.Backends[:1]
		got, _ := Verdict(pp, gtLB(healthy, missing), gtOwned(gtLB(healthy, missing), pp.Pod))
		want := GateVerdict{corev1.ConditionTrue, v1alpha1.GateReasonHealthy, "load balancer reports healthy on tg-a"}
		if got != want {
			t.Errorf("verdict:\n got  %+v\n want %+v", got, want)
		}
	})
}

func TestNextGate(t *testing.T) {
	const condType = "backend.lbgate.dev/web"
	then := metav1.NewTime(time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC))
	now := metav1.NewTime(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	cond := func(s corev1.ConditionStatus, reason, msg string, at metav1.Time) *corev1.PodCondition {
		return &corev1.PodCondition{Type: condType, Status: s, Reason: reason, Message: msg, LastTransitionTime: at}
	}
	v := func(s corev1.ConditionStatus, reason, msg string) GateVerdict { return GateVerdict{s, reason, msg} }
	const (
		T, F, U = corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown
	)
	tests := []struct {
		name    string
		current *corev1.PodCondition
		v       GateVerdict
		want    corev1.PodCondition
		changed bool
	}{
		{
			name:    "no condition yet, a reason a person must act on: written False with now",
			v:       v(F, "QuotaExceeded", "waiting for a place under the backend quota of 2"),
			want:    *cond(F, "QuotaExceeded", "waiting for a place under the backend quota of 2", now),
			changed: true,
		},
		{
			name: "no condition yet, Registering: nothing written (a missing condition keeps the pod not Ready)",
			v:    v(F, "Registering", "registering 10.0.0.1:8080 on tg-a"),
		},
		{
			name: "no condition yet, HealthCheckPending: nothing written",
			v:    v(F, "HealthCheckPending", "waiting for the load balancer's health check of 10.0.0.1:8080 on tg-a (Initial)"),
		},
		{
			name:    "no condition yet, Registering of a refused group: written (a person must change the group)",
			v:       v(F, "Registering", "not registered: target tg-a does not take spec.slowStart"),
			want:    *cond(F, "Registering", "not registered: target tg-a does not take spec.slowStart", now),
			changed: true,
		},
		{
			name:    "no condition yet, Unhealthy: written",
			v:       v(F, "Unhealthy", "load balancer reports unhealthy: 10.0.0.1:8080 on tg-a"),
			want:    *cond(F, "Unhealthy", "load balancer reports unhealthy: 10.0.0.1:8080 on tg-a", now),
			changed: true,
		},
		{
			name:    "no condition yet: written True with now",
			v:       v(T, "Healthy", "load balancer reports healthy on tg-a"),
			want:    *cond(T, "Healthy", "load balancer reports healthy on tg-a", now),
			changed: true,
		},
		{
			name:    "unchanged status, reason and message: changed=false, time kept",
			current: cond(F, "QuotaExceeded", "waiting for a place under the backend quota of 2", then),
			v:       v(F, "QuotaExceeded", "waiting for a place under the backend quota of 2"),
			want:    *cond(F, "QuotaExceeded", "waiting for a place under the backend quota of 2", then),
			changed: false,
		},
		{
			name:    "Registering (older lbgate) then HealthCheckPending: not written",
			current: cond(F, "Registering", "registering 10.0.0.1:8080 on tg-a", then),
			v:       v(F, "HealthCheckPending", "waiting for the load balancer's health check of 10.0.0.1:8080 on tg-a (Initial)"),
			want:    *cond(F, "Registering", "registering 10.0.0.1:8080 on tg-a", then),
			changed: false,
		},
		{
			name:    "QuotaExceeded, then the pod gets a place: Registering replaces it, lastTransitionTime kept",
			current: cond(F, "QuotaExceeded", "waiting for a place under the backend quota of 2", then),
			v:       v(F, "Registering", "registering 10.0.0.1:8080 on tg-a"),
			want:    *cond(F, "Registering", "registering 10.0.0.1:8080 on tg-a", then),
			changed: true,
		},
		{
			name:    "NetworkModeMismatch, then HealthCheckPending: replaced",
			current: cond(F, "NetworkModeMismatch", "pod IP 1.2.3.4 is not in the eni ranges [10.0.0.0/8]", then),
			v:       v(F, "HealthCheckPending", "waiting for the load balancer's health check of 10.0.0.1:8080 on tg-a (Initial)"),
			want:    *cond(F, "HealthCheckPending", "waiting for the load balancer's health check of 10.0.0.1:8080 on tg-a (Initial)", then),
			changed: true,
		},
		{
			name:    "refused Registering, then the group is changed: plain Registering replaces it",
			current: cond(F, "Registering", "not registered: target tg-a does not take spec.slowStart", then),
			v:       v(F, "Registering", "registering 10.0.0.1:8080 on tg-a"),
			want:    *cond(F, "Registering", "registering 10.0.0.1:8080 on tg-a", then),
			changed: true,
		},
		{
			name:    "Unhealthy, then the load balancer re-checks: Unhealthy stays",
			current: cond(F, "Unhealthy", "load balancer reports unhealthy: 10.0.0.1:8080 on tg-a", then),
			v:       v(F, "HealthCheckPending", "waiting for the load balancer's health check of 10.0.0.1:8080 on tg-a (Initial)"),
			want:    *cond(F, "Unhealthy", "load balancer reports unhealthy: 10.0.0.1:8080 on tg-a", then),
			changed: false,
		},
		{
			name:    "Unhealthy, then the pod needs a person for another reason: written",
			current: cond(F, "Unhealthy", "load balancer reports unhealthy: 10.0.0.1:8080 on tg-a", then),
			v:       v(F, "TargetConflict", "target tg-a is bound by BackendGroup ns/other"),
			want:    *cond(F, "TargetConflict", "target tg-a is bound by BackendGroup ns/other", then),
			changed: true,
		},
		{
			name:    "same status and reason, new message: changed, lastTransitionTime kept",
			current: cond(F, "QuotaExceeded", "waiting for a place under the backend quota of 2", then),
			v:       v(F, "QuotaExceeded", "waiting for a place under the backend quota of 3"),
			want:    *cond(F, "QuotaExceeded", "waiting for a place under the backend quota of 3", then),
			changed: true,
		},
		{
			name:    "False to True: lastTransitionTime changes",
			current: cond(F, "HealthCheckPending", "waiting", then),
			v:       v(T, "Healthy", "load balancer reports healthy on tg-a"),
			want:    *cond(T, "Healthy", "load balancer reports healthy on tg-a", now),
			changed: true,
		},
		{
			name:    "Unknown to False: lastTransitionTime changes",
			current: cond(U, "", "", then),
			v:       v(F, "Registering", "waiting for the pod IP"),
			want:    *cond(F, "Registering", "waiting for the pod IP", now),
			changed: true,
		},
		{
			name:    "True and healthy again: changed=false",
			current: cond(T, "Healthy", "load balancer reports healthy on tg-a", then),
			v:       v(T, "Healthy", "load balancer reports healthy on tg-a"),
			want:    *cond(T, "Healthy", "load balancer reports healthy on tg-a", then),
			changed: false,
		},
		{
			name:    "True with a new message: never written again",
			current: cond(T, "Healthy", "load balancer reports healthy on tg-a", then),
			v:       v(T, "Healthy", "load balancer reports healthy on tg-a, tg-b"),
			want:    *cond(T, "Healthy", "load balancer reports healthy on tg-a", then),
			changed: false,
		},
		{
			name:    "True by the readiness timeout, then the load balancer approves: not written again",
			current: cond(T, "ReadinessTimeout", "released after the readiness timeout", then),
			v:       v(T, "Healthy", "load balancer reports healthy on tg-a"),
			want:    *cond(T, "ReadinessTimeout", "released after the readiness timeout", then),
			changed: false,
		},
		{
			name:    "sticky: True never flips back to False Unhealthy",
			current: cond(T, "Healthy", "load balancer reports healthy on tg-a", then),
			v:       v(F, "Unhealthy", "load balancer reports unhealthy: 10.0.0.1:8080 on tg-a"),
			want:    *cond(T, "Healthy", "load balancer reports healthy on tg-a", then),
			changed: false,
		},
		{
			name:    "sticky: True never flips back to False Registering (LB restarted)",
			current: cond(T, "Healthy", "load balancer reports healthy on tg-a", then),
			v:       v(F, "Registering", "registering 10.0.0.1:8080 on tg-a"),
			want:    *cond(T, "Healthy", "load balancer reports healthy on tg-a", then),
			changed: false,
		},
		{
			name:    "sticky: True never flips to Unknown",
			current: cond(T, "Healthy", "load balancer reports healthy on tg-a", then),
			v:       v(U, "HealthCheckPending", "waiting"),
			want:    *cond(T, "Healthy", "load balancer reports healthy on tg-a", then),
			changed: false,
		},
		{
			name:    "BackendGroupRemoved on a True gate: not written (it is True already)",
			current: cond(T, "Healthy", "load balancer reports healthy on tg-a", then),
			v:       v(T, "BackendGroupRemoved", "the backend group was removed"),
			want:    *cond(T, "Healthy", "load balancer reports healthy on tg-a", then),
			changed: false,
		},
		{
			name:    "BackendGroupRemoved on a False gate: True, time changes",
			current: cond(F, "QuotaExceeded", "waiting", then),
			v:       v(T, "BackendGroupRemoved", "the backend group was removed"),
			want:    *cond(T, "BackendGroupRemoved", "the backend group was removed", now),
			changed: true,
		},
		{
			name:    "BackendGroupRemoved on a pod without the condition: True",
			v:       v(T, "BackendGroupRemoved", "the backend group was removed"),
			want:    *cond(T, "BackendGroupRemoved", "the backend group was removed", now),
			changed: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before *corev1.PodCondition
			if tc.current != nil {
				c := *tc.current
				before = &c
			}
			got, changed := NextGate(tc.current, condType, tc.v, now)
			if changed != tc.changed {
				t.Errorf("changed: got %v, want %v", changed, tc.changed)
			}
			if got.Type != tc.want.Type || got.Status != tc.want.Status || got.Reason != tc.want.Reason ||
				got.Message != tc.want.Message || !got.LastTransitionTime.Equal(&tc.want.LastTransitionTime) {
				t.Errorf("condition:\n got  %+v\n want %+v", got, tc.want)
			}
			if before != nil && *tc.current != *before {
				t.Errorf("NextGate changed the current condition: %+v", *tc.current)
			}
		})
	}
}

func TestHasGateAndGateCondition(t *testing.T) {
	const condType = "backend.lbgate.dev/web"
	pod := pfPod("a", "10.0.0.1")
	if HasGate(pod, condType) {
		t.Errorf("HasGate on a pod without gates: true")
	}
	if c := GateCondition(pod, condType); c != nil {
		t.Errorf("GateCondition on a pod without the condition: %+v", c)
	}
	pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "other"}, {ConditionType: condType}}
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{Type: condType, Status: corev1.ConditionFalse, Reason: "Registering"})
	if !HasGate(pod, condType) {
		t.Errorf("HasGate: false, want true")
	}
	if HasGate(pod, "backend.lbgate.dev/other") {
		t.Errorf("HasGate for another group: true")
	}
	c := GateCondition(pod, condType)
	if c == nil || c.Reason != "Registering" {
		t.Fatalf("GateCondition: got %+v", c)
	}
	c.Reason = "Healthy"
	if pod.Status.Conditions[1].Reason != "Healthy" {
		t.Errorf("GateCondition does not point into the pod's conditions")
	}
}

// TestUnhealthyMessageStable: the gate's Unhealthy message does not change
// from check to check (each change would be a pod write); the load
// balancer's words go to the event (UnhealthyDetail).
func TestUnhealthyMessageStable(t *testing.T) {
	pp := gtBound()
	first := gtLB(providers.HealthUnhealthy, providers.HealthHealthy, "L7STS/500 (DOWN)")
	second := gtLB(providers.HealthUnhealthy, providers.HealthHealthy, "L4CON (DOWN)")
	v1, _ := Verdict(pp, first, gtOwned(first, pp.Pod))
	v2, _ := Verdict(pp, second, gtOwned(second, pp.Pod))
	if v1 != v2 {
		t.Errorf("the verdict changed with the check's words:\n %+v\n %+v", v1, v2)
	}
	tests := []struct {
		name string
		lb   map[TargetBackend]providers.BackendStatus
		want string
	}{
		{"one unhealthy, with its words", first, "10.0.0.1:8080 on tg-a (L7STS/500 (DOWN))"},
		{"both, one without words", gtLB(providers.HealthUnhealthy, providers.HealthUnhealthy, "L4CON"), "10.0.0.1:8080 on tg-a (L4CON), 10.0.0.1:9100 on tg-b (-)"},
		{"healthy and pending: nothing", gtLB(providers.HealthHealthy, providers.HealthInitial), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := UnhealthyDetail(pp, tc.lb, gtOwned(tc.lb, pp.Pod)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	other := pfPod("previous", "10.0.0.1")
	if got := UnhealthyDetail(pp, first, gtOwned(first, other)); got != "" {
		t.Errorf("another pod's backend counted: %q", got)
	}
}

// TestNotRegistered: pods that are not registered get a False gate only
// when a person must act (refused settings, a load balancer that refuses
// the registration for good); a retry fixes the rest.
func TestNotRegistered(t *testing.T) {
	refusedGroup := &v1alpha1.BackendGroup{}
	refusedGroup.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionAccepted, Status: metav1.ConditionFalse, Reason: "UnsupportedSetting", Message: "target tg-a does not take spec.slowStart"}}
	plain := &v1alpha1.BackendGroup{}
	tests := []struct {
		name string
		bg   *v1alpha1.BackendGroup
		err  error
		want string
	}{
		{"nothing wrong", plain, nil, ""},
		{"settings refused", refusedGroup, nil, "target tg-a does not take spec.slowStart"},
		{"unreachable network mode", plain, &providers.UnreachableError{Target: "tg-a", Detail: "no route"}, (&providers.UnreachableError{Target: "tg-a", Detail: "no route"}).Error()},
		{"target not found", plain, &providers.NotFoundError{Target: "tg-a"}, (&providers.NotFoundError{Target: "tg-a"}).Error()},
		{"throttled: a retry fixes it", plain, &providers.ThrottledError{}, ""},
		{"unavailable: a retry fixes it", plain, &providers.UnavailableError{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := notRegistered(tc.bg, tc.err); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			v := withRefusal(GateVerdict{Status: corev1.ConditionFalse, Reason: v1alpha1.GateReasonRegistering, Message: "registering 10.0.0.1:8080 on tg-a"}, tc.want)
			if written := !onTheWay(v.Status, v.Reason, v.Message); written != (tc.want != "") {
				t.Errorf("verdict %+v written: %v", v, written)
			}
		})
	}
}
