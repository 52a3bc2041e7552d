package backendgroup

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/providers"
)

// TestWithReadinessTimeout: the readiness timeout releases only registered
// pods that wait on the load balancer's verdict, counting from the latest
// registration of the pod's backends (issue 10, item 1).
func TestWithReadinessTimeout(t *testing.T) {
	now := pfNow
	pending := GateVerdict{Status: corev1.ConditionFalse, Reason: v1alpha1.GateReasonHealthCheckPending, Message: "waiting for the load balancer's health check of 10.0.0.1:8080 on tg-a (initial)"}
	unhealthy := GateVerdict{Status: corev1.ConditionFalse, Reason: v1alpha1.GateReasonUnhealthy, Message: "load balancer reports unhealthy: 10.0.0.1:8080 on tg-a (L7STS/503)"}
	pp := gtBound()
	registeredAgo := func(a, b time.Duration) map[TargetBackend]v1alpha1.BackendRecord {
		recs := gtOwned(gtLB("initial", "initial"), pp.Pod)
		for tb, ago := range map[TargetBackend]time.Duration{pp.Backends[0]: a, pp.Backends[1]: b} {
			rec := recs[tb]
			rec.RegisteredAt = &metav1.Time{Time: now.Add(-ago)}
			recs[tb] = rec
		}
		return recs
	}
	someoneElse := registeredAgo(time.Hour, time.Hour)
	rec := someoneElse[pp.Backends[0]]
	rec.PodUID = "uid-other"
	someoneElse[pp.Backends[0]] = rec
	undated := registeredAgo(time.Hour, time.Hour)
	rec = undated[pp.Backends[1]]
	rec.RegisteredAt = nil
	undated[pp.Backends[1]] = rec

	tests := []struct {
		name     string
		v        GateVerdict
		records  map[TargetBackend]v1alpha1.BackendRecord
		timeout  time.Duration
		released bool
		due      time.Time
	}{
		{name: "off", v: pending, records: registeredAgo(time.Hour, time.Hour), timeout: 0},
		{name: "healthy is left alone", v: GateVerdict{Status: corev1.ConditionTrue, Reason: v1alpha1.GateReasonHealthy}, records: registeredAgo(time.Hour, time.Hour), timeout: 10 * time.Second},
		{name: "pending, not yet due", v: pending, records: registeredAgo(4*time.Second, 4*time.Second), timeout: 10 * time.Second, due: now.Add(6 * time.Second)},
		{name: "pending, due now", v: pending, records: registeredAgo(10*time.Second, 10*time.Second), timeout: 10 * time.Second, released: true},
		{name: "unhealthy, overdue", v: unhealthy, records: registeredAgo(time.Minute, time.Minute), timeout: 10 * time.Second, released: true},
		{name: "the latest registration counts", v: pending, records: registeredAgo(time.Minute, 3*time.Second), timeout: 10 * time.Second, due: now.Add(7 * time.Second)},
		{name: "quota wait is never released (not registered: no traffic)", v: GateVerdict{Status: corev1.ConditionFalse, Reason: v1alpha1.GateReasonQuotaExceeded}, records: registeredAgo(time.Hour, time.Hour), timeout: 10 * time.Second},
		{name: "registering is never released", v: GateVerdict{Status: corev1.ConditionFalse, Reason: v1alpha1.GateReasonRegistering}, records: registeredAgo(time.Hour, time.Hour), timeout: 10 * time.Second},
		{name: "target port not found is never released", v: GateVerdict{Status: corev1.ConditionFalse, Reason: v1alpha1.GateReasonTargetPortNotFound}, records: registeredAgo(time.Hour, time.Hour), timeout: 10 * time.Second},
		{name: "network mode mismatch is never released", v: GateVerdict{Status: corev1.ConditionFalse, Reason: v1alpha1.GateReasonNetworkModeMismatch}, records: registeredAgo(time.Hour, time.Hour), timeout: 10 * time.Second},
		{name: "a backend recorded for another pod is no registration of this one", v: pending, records: someoneElse, timeout: 10 * time.Second},
		{name: "a record without a registration time does not start the clock", v: pending, records: undated, timeout: 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, due := withReadinessTimeout(tt.v, pp, tt.records, tt.timeout, now)
			if !due.Equal(tt.due) {
				t.Errorf("due = %v, want %v", due, tt.due)
			}
			if !tt.released {
				if got != tt.v {
					t.Errorf("verdict = %+v, want it unchanged (%+v)", got, tt.v)
				}
				return
			}
			if got.Status != corev1.ConditionTrue || got.Reason != v1alpha1.GateReasonReadinessTimeout {
				t.Fatalf("verdict = %s/%s, want True/ReadinessTimeout", got.Status, got.Reason)
			}
			for _, want := range []string{tt.timeout.String(), tt.v.Reason, tt.v.Message} {
				if !strings.Contains(got.Message, want) {
					t.Errorf("message %q does not name %q (the timeout and the load balancer's last verdict)", got.Message, want)
				}
			}
		})
	}
}

// TestTimedOut: a gate counts as timed out from its release until the load
// balancer approves the pod.
func TestTimedOut(t *testing.T) {
	released := &corev1.PodCondition{Status: corev1.ConditionTrue, Reason: v1alpha1.GateReasonReadinessTimeout}
	healthyGate := &corev1.PodCondition{Status: corev1.ConditionTrue, Reason: v1alpha1.GateReasonHealthy}
	pending := GateVerdict{Status: corev1.ConditionFalse, Reason: v1alpha1.GateReasonHealthCheckPending}
	healthy := GateVerdict{Status: corev1.ConditionTrue, Reason: v1alpha1.GateReasonHealthy}
	timeout := GateVerdict{Status: corev1.ConditionTrue, Reason: v1alpha1.GateReasonReadinessTimeout}
	for _, tt := range []struct {
		name string
		cur  *corev1.PodCondition
		v    GateVerdict
		want bool
	}{
		{"released now", nil, timeout, true},
		{"released before, still not approved", released, pending, true},
		{"released before, approved since", released, healthy, false},
		{"healthy once, unhealthy now (drift, not a timeout)", healthyGate, pending, false},
		{"waiting", nil, pending, false},
	} {
		if got := timedOut(tt.cur, tt.v); got != tt.want {
			t.Errorf("%s: timedOut = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestPlanRecordsRegistrationTime: a record carries when its backend was
// registered for a fresh check; the readiness timeout counts from it, so a
// backend kept as it is keeps its time, and one registered again for a
// fresh check (new, another owner's, wanted again while draining) gets now.
func TestPlanRecordsRegistrationTime(t *testing.T) {
	t0 := metav1.NewTime(pfNow.Add(-time.Hour))
	tb := pfTB("tg-a", "10.0.0.1:8080")
	web := pfPod("web-1", "10.0.0.1")
	tests := []struct {
		name       string
		registered map[string][]providers.BackendStatus
		record     *v1alpha1.BackendRecord
		want       time.Time
	}{
		{name: "new backend", want: pfNow},
		{name: "own backend kept", registered: pfRegistered(pfB{"tg-a", "10.0.0.1:8080", providers.HealthInitial, 0}),
			record: &v1alpha1.BackendRecord{Target: "tg-a", Address: "10.0.0.1:8080", Pod: "web-1", PodUID: web.UID, RegisteredAt: &t0}, want: t0.Time},
		{name: "own backend from before registration times", registered: pfRegistered(pfB{"tg-a", "10.0.0.1:8080", providers.HealthInitial, 0}),
			record: &v1alpha1.BackendRecord{Target: "tg-a", Address: "10.0.0.1:8080", Pod: "web-1", PodUID: web.UID}, want: pfNow},
		{name: "another pod's backend, checked afresh", registered: pfRegistered(pfB{"tg-a", "10.0.0.1:8080", providers.HealthHealthy, 0}),
			record: &v1alpha1.BackendRecord{Target: "tg-a", Address: "10.0.0.1:8080", Pod: "old", PodUID: "uid-old", RegisteredAt: &t0}, want: pfNow},
		{name: "own draining backend wanted again", registered: pfRegistered(pfB{"tg-a", "10.0.0.1:8080", providers.HealthDraining, 0}),
			record: &v1alpha1.BackendRecord{Target: "tg-a", Address: "10.0.0.1:8080", Pod: "web-1", PodUID: web.UID, RegisteredAt: &t0}, want: pfNow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := pfInput(web)
			if tt.registered != nil {
				in.Registered = tt.registered
			}
			in.Records = map[TargetBackend]v1alpha1.BackendRecord{}
			if tt.record != nil {
				in.Records[tb] = *tt.record
			}
			in = pfOwned(in)
			got, ok := BuildPlan(in).Records[tb]
			if !ok || got.RegisteredAt == nil {
				t.Fatalf("record = %+v (found %v), want one with a registration time", got, ok)
			}
			if !got.RegisteredAt.Time.Equal(tt.want) {
				t.Errorf("RegisteredAt = %v, want %v", got.RegisteredAt.Time, tt.want)
			}
			if got.PodUID != web.UID {
				t.Errorf("owner = %q, want %q", got.PodUID, web.UID)
			}
		})
	}
}
