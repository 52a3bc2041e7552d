package metrics

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/fake"
)

func TestResult(t *testing.T) {
	cases := map[string]error{
		"ok":          nil,
		"not_found":   &providers.NotFoundError{Target: "x"},
		"throttled":   &providers.ThrottledError{},
		"quota":       &providers.QuotaError{},
		"unavailable": &providers.UnavailableError{Detail: "refused"},
		"permission":  &providers.PermissionError{},
		"error":       errors.New("boom"),
	}
	for want, err := range cases {
		if got := Result(err); got != want {
			t.Errorf("Result(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestWrapCountsCallsAndErrors(t *testing.T) {
	lb := fake.New(providers.Limits{}, "be")
	p := Wrap(lb)
	ctx := context.Background()
	a := netip.MustParseAddrPort("127.0.0.2:80")
	before := testutil.ToFloat64(calls.WithLabelValues("fake", "Register", "ok"))
	if err := p.Register(ctx, providers.Target{ID: "be"}, []providers.Backend{{Addr: a, Weight: 1}}); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(calls.WithLabelValues("fake", "Register", "ok")) - before; got != 1 {
		t.Errorf("ok Register calls counted %v, want 1", got)
	}
	beforeNF := testutil.ToFloat64(calls.WithLabelValues("fake", "List", "not_found"))
	if _, err := p.List(ctx, "missing"); !providers.IsNotFound(err) {
		t.Fatalf("List of a missing target: %v, want NotFound", err)
	}
	if got := testutil.ToFloat64(calls.WithLabelValues("fake", "List", "not_found")) - beforeNF; got != 1 {
		t.Errorf("not_found List calls counted %v, want 1", got)
	}
	if got := lb.Backends("be"); len(got) != 1 || got[0].Addr != a {
		t.Errorf("the wrapped provider did not get the call: %v", got)
	}
}

// observerLB is a provider that reads several targets in one call.
type observerLB struct {
	*fake.Provider
	observed [][]string
}

func (o *observerLB) Observe(_ context.Context, ts []string) (map[string]providers.Observation, error) {
	o.observed = append(o.observed, ts)
	out := map[string]providers.Observation{}
	for _, t := range ts {
		out[t] = providers.Observation{Err: &providers.NotFoundError{Target: t}}
	}
	return out, nil
}

// A provider's Observe is reached through the wrapper, and counted and
// timed like every other call (before, ObserverOf went around the wrapper
// through Unwrap and the reads were not counted).
func TestWrapCountsObserve(t *testing.T) {
	inner := &observerLB{Provider: fake.New(providers.Limits{})}
	p := Wrap(inner)
	o, ok := providers.ObserverOf(p)
	if !ok {
		t.Fatal("the wrapper of an Observer is no Observer")
	}
	before := testutil.ToFloat64(calls.WithLabelValues("fake", "Observe", "ok"))
	if _, err := o.Observe(context.Background(), []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(calls.WithLabelValues("fake", "Observe", "ok")) - before; got != 1 {
		t.Errorf("Observe calls counted %v, want 1", got)
	}
	if len(inner.observed) != 1 || len(inner.observed[0]) != 2 {
		t.Errorf("the wrapped provider did not get the call: %v", inner.observed)
	}
	// A provider without Observe stays without it behind the wrapper: the
	// controller then reads with Limits and List.
	if _, ok := providers.ObserverOf(Wrap(fake.New(providers.Limits{}))); ok {
		t.Error("the wrapper of a provider without Observe offers Observe")
	}
}
