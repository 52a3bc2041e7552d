package conditions

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSet(t *testing.T) {
	var conds []metav1.Condition
	if !Set(&conds, 1, "Ready", false, "Pending", "waiting") {
		t.Fatal("first Set reported no change")
	}
	first := conds[0]
	if first.Status != metav1.ConditionFalse || first.ObservedGeneration != 1 || first.LastTransitionTime.IsZero() {
		t.Fatalf("first condition: %+v", first)
	}
	if Set(&conds, 1, "Ready", false, "Pending", "waiting") {
		t.Error("the same condition again reported a change")
	}

	// A new message or generation is a change, but not a transition.
	conds[0].LastTransitionTime = metav1.NewTime(time.Unix(1000, 0))
	if !Set(&conds, 2, "Ready", false, "Pending", "still waiting") {
		t.Error("a new message and generation reported no change")
	}
	if got := conds[0]; got.ObservedGeneration != 2 || got.Message != "still waiting" || !got.LastTransitionTime.Equal(&metav1.Time{Time: time.Unix(1000, 0)}) {
		t.Errorf("after a message change: %+v, want generation 2 and the old transition time", got)
	}

	// A new status is a transition.
	if !Set(&conds, 2, "Ready", true, "Healthy", "ok") {
		t.Error("a status change reported no change")
	}
	if got := conds[0]; got.Status != metav1.ConditionTrue || got.LastTransitionTime.Time.Equal(time.Unix(1000, 0)) {
		t.Errorf("after a status change: %+v, want True with a new transition time", got)
	}
	if !IsTrue(conds, "Ready") || IsTrue(conds, "Degraded") {
		t.Error("IsTrue: want Ready True and a missing Degraded not True")
	}

	// Other types are independent.
	Set(&conds, 2, "Degraded", true, "ProviderError", "boom")
	if len(conds) != 2 || !IsTrue(conds, "Ready") {
		t.Errorf("setting Degraded touched Ready: %+v", conds)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"short", "hello"},
		{"exactly the limit", strings.Repeat("a", maxMessage)},
		{"one over", strings.Repeat("a", maxMessage+1)},
		{"multi-byte rune across the cut", strings.Repeat("a", maxMessage-4) + strings.Repeat("é", 10)},
		{"only multi-byte runes", strings.Repeat("日", maxMessage)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := truncate(tt.in)
			if len(got) > maxMessage {
				t.Errorf("len %d > %d", len(got), maxMessage)
			}
			if !utf8.ValidString(got) {
				t.Errorf("cut inside a rune: %q", got[len(got)-8:])
			}
			if len(tt.in) <= maxMessage {
				if got != tt.in {
					t.Errorf("a message within the limit was changed")
				}
				return
			}
			if !strings.HasSuffix(got, "...") || !strings.HasPrefix(tt.in, strings.TrimSuffix(got, "...")) {
				t.Errorf("not a marked prefix of the input: ...%q", got[len(got)-8:])
			}
		})
	}
}
