package backendgroup

import (
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/internal/testbuild"
	"github.com/lbgate/lbgate/providers"
)

// TestDrainUntilIdle: where the load balancer counts sessions, a leaving
// pod's draining backend goes once it has had no session for the quiet
// period, before its deregistration delay; a session keeps it, up to the
// delay (issue 10, item 4).
func TestDrainUntilIdle(t *testing.T) {
	tb := pfTB("tg-a", "10.0.0.1:8080")
	ago := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: pfNow.Add(-d)} }
	// Deleted 5 s ago with a 30 s grace: the 15 s delay is over in 10 s.
	leaving := pfPod("a", "10.0.0.1", testbuild.Deleting(pfNow.Add(25*time.Second), 30))
	for _, tt := range []struct {
		name      string
		status    providers.BackendStatus
		idleSince *metav1.Time
		gone      bool
		wantIdle  *metav1.Time // the record's IdleSince after the pass (nil: none)
		next      time.Time
	}{
		{name: "idle for the first time: the quiet period starts",
			status:   providers.BackendStatus{Health: providers.HealthDraining, SessionsKnown: true},
			wantIdle: ago(0), next: pfNow.Add(drainQuietPeriod)},
		{name: "idle for the quiet period: removed before the delay",
			status: providers.BackendStatus{Health: providers.HealthDraining, SessionsKnown: true}, idleSince: ago(drainQuietPeriod),
			gone: true},
		{name: "idle, not quiet long enough",
			status: providers.BackendStatus{Health: providers.HealthDraining, SessionsKnown: true}, idleSince: ago(time.Second),
			wantIdle: ago(time.Second), next: pfNow.Add(time.Second)},
		{name: "a session again: the quiet period starts over",
			status: providers.BackendStatus{Health: providers.HealthDraining, SessionsKnown: true, Sessions: 2}, idleSince: ago(time.Second),
			next: pfNow.Add(idlePoll)},
		{name: "sessions not counted: the delay decides",
			status: providers.BackendStatus{Health: providers.HealthDraining}, idleSince: ago(time.Minute),
			wantIdle: ago(time.Minute), next: pfNow.Add(10 * time.Second)},
		{name: "not draining yet: drained first, never removed in the same pass",
			status: providers.BackendStatus{Health: providers.HealthHealthy, SessionsKnown: true},
			next:   pfNow.Add(10 * time.Second)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := pfInput(leaving)
			st := tt.status
			st.Backend = providers.Backend{Addr: tb.Addr, Weight: v1alpha1.DefaultWeight}
			in.Registered = map[string][]providers.BackendStatus{"tg-a": {st}}
			rec := record(tb, leaving)
			rec.IdleSince = tt.idleSince
			in.Records = map[TargetBackend]v1alpha1.BackendRecord{tb: rec}
			p := BuildPlan(pfOwned(in))
			if got := slices.Contains(p.Deregister["tg-a"], tb.Addr); got != tt.gone {
				t.Fatalf("deregistered = %v, want %v (plan: drain %v, deregister %v)", got, tt.gone, p.Drain, p.Deregister)
			}
			if tt.gone {
				return
			}
			got := p.Records[tb].IdleSince
			if (got == nil) != (tt.wantIdle == nil) || (got != nil && !got.Time.Equal(tt.wantIdle.Time)) {
				t.Errorf("IdleSince = %v, want %v", got, tt.wantIdle)
			}
			if !p.NextDeregistration.Equal(tt.next) {
				t.Errorf("next look = %v, want %v", p.NextDeregistration, tt.next)
			}
		})
	}
}
