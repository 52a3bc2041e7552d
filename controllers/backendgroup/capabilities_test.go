package backendgroup

import (
	"net/netip"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbgate/lbgate/controllers/internal/events"
	"github.com/lbgate/lbgate/providers"
)

func TestAcceptance(t *testing.T) {
	cond := func(ok bool, reason string) *metav1.Condition {
		s := metav1.ConditionFalse
		if ok {
			s = metav1.ConditionTrue
		}
		return &metav1.Condition{Type: "Accepted", Status: s, Reason: reason}
	}
	const refused = "spec.slowStart \"30s\": ..."
	type out struct {
		set, ok bool
		reason  string
	}
	tests := []struct {
		name    string
		cur     *metav1.Condition
		refused string
		want    out
	}{
		{"refused, no condition yet (a hand-made group)", nil, refused, out{true, false, events.UnsupportedSetting}},
		{"refused, accepted by the Service controller", cond(true, "AnnotationsValid"), refused, out{true, false, events.UnsupportedSetting}},
		{"refused again: the message is kept current", cond(false, events.UnsupportedSetting), refused, out{true, false, events.UnsupportedSetting}},
		{"refused while the Service's annotations are invalid: that stands", cond(false, events.InvalidAnnotation), refused, out{}},
		{"refused while the Service controller refuses an annotation: that stands", cond(false, events.UnsupportedAnnotation), refused, out{}},
		{"refused while yielding a target: that stands", cond(false, events.TargetConflict), refused, out{}},
		{"honoured after a refusal: lifted", cond(false, events.UnsupportedSetting), "", out{true, true, ReasonSettingsHonoured}},
		{"honoured, never refused, no condition: none written", nil, "", out{}},
		{"honoured, accepted by the Service controller: left alone", cond(true, "AnnotationsValid"), "", out{}},
		{"honoured, another controller's refusal: left alone", cond(false, events.InvalidAnnotation), "", out{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, ok, reason, msg := acceptance(tt.cur, tt.refused)
			if got := (out{set, ok, reason}); got != tt.want {
				t.Errorf("acceptance() = %+v, want %+v", got, tt.want)
			}
			if set && !ok && msg != tt.refused {
				t.Errorf("message %q, want the refusal %q", msg, tt.refused)
			}
		})
	}
}

func TestRegistrations(t *testing.T) {
	a := func(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
	planned := []providers.Backend{
		{Addr: a("10.0.0.1:80"), Weight: 50},                // new
		{Addr: a("10.0.0.2:80"), Weight: 50},                // weight change of a registered one
		{Addr: a("10.0.0.3:80"), Weight: 50, Recheck: true}, // address that changed owner
	}
	lb := map[TargetBackend]providers.BackendStatus{
		{"t", a("10.0.0.2:80")}: {Backend: providers.Backend{Addr: a("10.0.0.2:80"), Weight: 10}},
		{"t", a("10.0.0.3:80")}: {Backend: providers.Backend{Addr: a("10.0.0.3:80"), Weight: 10}},
	}
	if got := registrations(planned, false, lb, "t"); !reflect.DeepEqual(got, planned) {
		t.Errorf("accepted group: %+v, want the plan", got)
	}
	want := []providers.Backend{{Addr: a("10.0.0.3:80"), Weight: 10, Recheck: true}}
	if got := registrations(planned, true, lb, "t"); !reflect.DeepEqual(got, want) {
		t.Errorf("refused group: %+v, want only the recheck, at its current weight: %+v", got, want)
	}
}
