package fake

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lbgate/lbgate/providers"
)

// addr returns 127.0.0.i:8080.
func addr(i int) netip.AddrPort {
	return netip.MustParseAddrPort(fmt.Sprintf("127.0.0.%d:8080", i))
}

// addrs returns the addresses 127.0.0.i:8080 for every i given.
func addrs(is ...int) []netip.AddrPort {
	out := make([]netip.AddrPort, len(is))
	for n, i := range is {
		out[n] = addr(i)
	}
	return out
}

// backends returns one backend of the given weight for every i given.
func backends(weight int32, is ...int) []providers.Backend {
	out := make([]providers.Backend, len(is))
	for n, i := range is {
		out[n] = providers.Backend{Addr: addr(i), Weight: weight}
	}
	return out
}

// status is a registered backend as the fake reports it.
func status(i int, weight int32, h providers.Health, reason string) providers.BackendStatus {
	return providers.BackendStatus{Backend: providers.Backend{Addr: addr(i), Weight: weight}, Health: h, Reason: reason}
}

// mustRegister registers backends on target and fails the test on error.
func mustRegister(t *testing.T, p *Provider, target string, bs []providers.Backend) {
	t.Helper()
	if err := p.Register(t.Context(), providers.Target{ID: target}, bs); err != nil {
		t.Fatalf("Register(%s, %v): %v", target, bs, err)
	}
}

// assertBackends compares what the fake holds for target with want.
func assertBackends(t *testing.T, p *Provider, target string, want []providers.BackendStatus) {
	t.Helper()
	got := p.Backends(target)
	if !slices.Equal(got, want) {
		t.Errorf("backends of %q:\n got  %v\n want %v", target, got, want)
	}
}

// mutation is one backend-changing call of the Provider interface.
type mutation struct {
	method string
	call   func(ctx context.Context, p *Provider, target string, as []netip.AddrPort) error
}

var mutations = []mutation{
	{"Register", func(ctx context.Context, p *Provider, target string, as []netip.AddrPort) error {
		bs := make([]providers.Backend, len(as))
		for i, a := range as {
			bs[i] = providers.Backend{Addr: a, Weight: 77}
		}
		return p.Register(ctx, providers.Target{ID: target}, bs)
	}},
	{"Drain", func(ctx context.Context, p *Provider, target string, as []netip.AddrPort) error {
		return p.Drain(ctx, target, as)
	}},
	{"Deregister", func(ctx context.Context, p *Provider, target string, as []netip.AddrPort) error {
		return p.Deregister(ctx, target, as)
	}},
}

// every is every call of the Provider interface that takes a target, so
// rules that hold for all of them can be checked for each.
var every = append(slices.Clone(mutations),
	mutation{"List", func(ctx context.Context, p *Provider, target string, _ []netip.AddrPort) error {
		_, err := p.List(ctx, target)
		return err
	}},
	mutation{"Limits", func(ctx context.Context, p *Provider, target string, _ []netip.AddrPort) error {
		_, err := p.Limits(ctx, target)
		return err
	}},
)

func TestNameAndLimitsReportConfiguration(t *testing.T) {
	t.Parallel()
	limits := providers.Limits{MaxBackends: 7, MaxBatch: 3, StaticWeight: true}
	p := New(limits, "be")
	if got := p.Name(); got != "fake" {
		t.Errorf("Name() = %q, want %q", got, "fake")
	}
	got, err := p.Limits(t.Context(), "be")
	if err != nil {
		t.Fatalf("Limits: %v", err)
	}
	want := limits
	want.Capabilities.Applied = providers.AllSettings // limits without capabilities apply everything
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Limits() = %+v, want %+v", got, want)
	}
}

func TestCapabilitiesPerTargetAndSettingsRecorded(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{MaxBatch: 3}, "be", "other")
	narrow := providers.Capabilities{Applied: providers.SettingCheckInterval, Where: map[providers.Setting]string{providers.SettingSlowStart: "nowhere"}}
	p.SetCapabilities("be", narrow)
	for target, want := range map[string]providers.Capabilities{"be": narrow, "other": {Applied: providers.AllSettings}} {
		got, err := p.Limits(t.Context(), target)
		if err != nil {
			t.Fatalf("Limits(%s): %v", target, err)
		}
		if !reflect.DeepEqual(got.Capabilities, want) {
			t.Errorf("Limits(%s).Capabilities = %+v, want %+v", target, got.Capabilities, want)
		}
	}
	hc := &providers.HealthCheck{Interval: 5 * time.Second}
	if err := p.Register(t.Context(), providers.Target{ID: "be", HealthCheck: hc, SlowStart: time.Minute}, []providers.Backend{{Addr: addr(1)}}); err != nil {
		t.Fatal(err)
	}
	calls := p.CallsOf("Register")
	if len(calls) != 1 || calls[0].Settings != (providers.Settings{HealthCheck: *hc, SlowStart: time.Minute}) {
		t.Errorf("Register calls %+v, want one with the target's settings", calls)
	}
}

func TestRuleBatchLargerThanMaxBatchIsRefusedAndNothingApplied(t *testing.T) {
	t.Parallel()
	for _, m := range mutations {
		t.Run(m.method, func(t *testing.T) {
			t.Parallel()
			p := New(providers.Limits{MaxBatch: 2}, "be")
			mustRegister(t, p, "be", backends(10, 1, 2))
			before := p.Backends("be")

			// Three addresses, two of them registered: any part applied would show.
			err := m.call(t.Context(), p, "be", addrs(1, 2, 3))
			if !providers.IsQuota(err) {
				t.Fatalf("%s of 3 with MaxBatch 2: err = %v, want a QuotaError", m.method, err)
			}
			var q *providers.QuotaError
			errors.As(err, &q)
			if q.Target != "be" || q.Limit != 2 || q.Want != 3 {
				t.Errorf("QuotaError = %+v, want Target be, Limit 2, Want 3", q)
			}
			list, err := p.List(t.Context(), "be")
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if !slices.Equal(list, before) {
				t.Errorf("refused %s changed the target:\n got  %v\n want %v", m.method, list, before)
			}
		})
	}
}

func TestRuleBatchOfExactlyMaxBatchIsAccepted(t *testing.T) {
	t.Parallel()
	for _, m := range mutations {
		t.Run(m.method, func(t *testing.T) {
			t.Parallel()
			p := New(providers.Limits{MaxBatch: 2}, "be")
			mustRegister(t, p, "be", backends(10, 1, 2))
			if err := m.call(t.Context(), p, "be", addrs(1, 2)); err != nil {
				t.Errorf("%s of 2 with MaxBatch 2: %v, want nil", m.method, err)
			}
		})
	}
}

func TestRuleZeroLimitsMeanNoLimit(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be")
	is := make([]int, 250)
	for i := range is {
		is[i] = i + 1
	}
	mustRegister(t, p, "be", backends(1, is...))
	if got := len(p.Backends("be")); got != len(is) {
		t.Errorf("registered %d backends, want %d", got, len(is))
	}
	for _, m := range mutations[1:] {
		if err := m.call(t.Context(), p, "be", addrs(is...)); err != nil {
			t.Errorf("%s of %d with no limits: %v", m.method, len(is), err)
		}
	}
}

func TestRuleRegisterBeyondMaxBackendsIsRefusedAllOrNothing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		existing []int // registered with weight 10 before the call
		batch    []int // registered with weight 50
		wantWant int   // QuotaError.Want; 0 means the call succeeds
	}{
		{name: "filling up to the limit is accepted", existing: []int{1}, batch: []int{2, 3}},
		{name: "one new backend over the limit is refused", existing: []int{1, 2, 3}, batch: []int{4}, wantWant: 4},
		{name: "a batch over the limit on an empty target is refused", batch: []int{1, 2, 3, 4, 5}, wantWant: 5},
		{name: "updates plus one new backend on a full target is refused whole", existing: []int{1, 2, 3}, batch: []int{1, 2, 4}, wantWant: 4},
		{name: "a weight change on a full target is accepted", existing: []int{1, 2, 3}, batch: []int{1, 2, 3}},
		{name: "a partly new batch that fits is accepted", existing: []int{1, 2}, batch: []int{2, 3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := New(providers.Limits{MaxBackends: 3}, "be")
			if len(tc.existing) > 0 {
				mustRegister(t, p, "be", backends(10, tc.existing...))
			}
			before := p.Backends("be")

			err := p.Register(t.Context(), providers.Target{ID: "be"}, backends(50, tc.batch...))

			if tc.wantWant == 0 {
				if err != nil {
					t.Fatalf("Register: %v, want nil", err)
				}
				// Every backend of the batch is there with the new weight.
				got := map[netip.AddrPort]int32{}
				for _, b := range p.Backends("be") {
					got[b.Addr] = b.Weight
				}
				for _, i := range tc.batch {
					if got[addr(i)] != 50 {
						t.Errorf("backend %s has weight %d, want 50", addr(i), got[addr(i)])
					}
				}
				return
			}
			if !providers.IsQuota(err) {
				t.Fatalf("Register: err = %v, want a QuotaError", err)
			}
			var q *providers.QuotaError
			errors.As(err, &q)
			if q.Target != "be" || q.Limit != 3 || q.Want != tc.wantWant {
				t.Errorf("QuotaError = %+v, want Target be, Limit 3, Want %d", q, tc.wantWant)
			}
			msg := err.Error()
			for _, piece := range []string{`"be"`, "limit 3", fmt.Sprintf("want %d", tc.wantWant)} {
				if !strings.Contains(msg, piece) {
					t.Errorf("error %q does not name %s", msg, piece)
				}
			}
			// All or nothing: no new backend and no weight change.
			assertBackends(t, p, "be", before)
		})
	}
}

func TestRuleReRegisterUpdatesWeightKeepsHealthAndNeedsNoQuota(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{MaxBackends: 2}, "be")
	mustRegister(t, p, "be", backends(10, 1, 2))
	p.SetHealth("be", addr(1), providers.HealthHealthy)

	mustRegister(t, p, "be", []providers.Backend{{Addr: addr(1), Weight: 0}, {Addr: addr(2), Weight: 100}})

	assertBackends(t, p, "be", []providers.BackendStatus{
		status(1, 0, providers.HealthHealthy, ""),
		status(2, 100, providers.HealthInitial, ""),
	})
}

// Rule (providers.Backend.Recheck): re-registering with Recheck takes a
// healthy backend back to the health of a new backend, as HAProxy's
// "health down" on a re-checked slot does; it needs no quota.
func TestRuleReRegisterWithRecheckChecksAgain(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{MaxBackends: 1}, "be")
	mustRegister(t, p, "be", backends(10, 1))
	p.SetHealth("be", addr(1), providers.HealthHealthy)

	mustRegister(t, p, "be", []providers.Backend{{Addr: addr(1), Weight: 10, Recheck: true}})

	assertBackends(t, p, "be", []providers.BackendStatus{status(1, 10, providers.HealthInitial, "")})
}

// Two entries for one address add one backend, so they must not count twice
// against MaxBackends.
func TestRuleRegisterDuplicateAddressesInBatchCountOnceAgainstMaxBackends(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{MaxBackends: 1}, "be")
	err := p.Register(t.Context(), providers.Target{ID: "be"}, []providers.Backend{
		{Addr: addr(1), Weight: 1},
		{Addr: addr(1), Weight: 2},
	})
	if err != nil {
		t.Fatalf("Register of one address twice with MaxBackends 1: %v, want nil", err)
	}
	if got := p.Backends("be"); len(got) != 1 {
		t.Errorf("backends = %v, want exactly one", got)
	}
}

func TestRuleNewBackendsStartWithNewBackendHealth(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		set  providers.Health // "" leaves the default
		want providers.Health
	}{
		{name: "default is Initial", want: providers.HealthInitial},
		{name: "Healthy", set: providers.HealthHealthy, want: providers.HealthHealthy},
		{name: "Unhealthy", set: providers.HealthUnhealthy, want: providers.HealthUnhealthy},
		{name: "Unused", set: providers.HealthUnused, want: providers.HealthUnused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := New(providers.Limits{}, "be")
			if tc.set != "" {
				p.SetNewBackendHealth(tc.set)
			}
			mustRegister(t, p, "be", backends(5, 1, 2))
			assertBackends(t, p, "be", []providers.BackendStatus{
				status(1, 5, tc.want, ""),
				status(2, 5, tc.want, ""),
			})
		})
	}
}

func TestRuleNewBackendHealthAppliesOnlyToLaterBackends(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be")
	mustRegister(t, p, "be", backends(5, 1))
	p.SetNewBackendHealth(providers.HealthHealthy)
	mustRegister(t, p, "be", backends(5, 1, 2))
	assertBackends(t, p, "be", []providers.BackendStatus{
		status(1, 5, providers.HealthInitial, ""),
		status(2, 5, providers.HealthHealthy, ""),
	})
}

func TestRuleSetHealthChangesOneBackend(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be", "other")
	mustRegister(t, p, "be", backends(5, 1, 2))
	mustRegister(t, p, "other", backends(5, 1))
	p.ResetCalls()

	if !p.SetHealth("be", addr(1), providers.HealthUnhealthy) {
		t.Fatalf("SetHealth of a registered backend reported false")
	}
	assertBackends(t, p, "be", []providers.BackendStatus{
		status(1, 5, providers.HealthUnhealthy, ""),
		status(2, 5, providers.HealthInitial, ""),
	})
	assertBackends(t, p, "other", []providers.BackendStatus{status(1, 5, providers.HealthInitial, "")})

	unknown := []struct {
		name   string
		target string
		addr   netip.AddrPort
	}{
		{"unknown address", "be", addr(9)},
		{"same IP other port", "be", netip.MustParseAddrPort("127.0.0.1:9090")},
		{"unknown target", "missing", addr(1)},
	}
	for _, u := range unknown {
		if p.SetHealth(u.target, u.addr, providers.HealthHealthy) {
			t.Errorf("SetHealth(%s): reported true for a backend that does not exist", u.name)
		}
	}
	if got := p.Backends("missing"); len(got) != 0 {
		t.Errorf("SetHealth on an unknown target created backends: %v", got)
	}
	if got := len(p.Backends("be")); got != 2 {
		t.Errorf("SetHealth on unknown addresses changed the backend count to %d", got)
	}
	if calls := p.Calls(); len(calls) != 0 {
		t.Errorf("SetHealth recorded provider calls: %v", calls)
	}
}

func TestRuleSetAllHealthyMarksEveryNonDrainingBackend(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be", "other", "empty")
	mustRegister(t, p, "be", backends(5, 1, 2, 3, 4))
	mustRegister(t, p, "other", backends(5, 1))
	p.SetHealth("be", addr(2), providers.HealthUnhealthy)
	p.SetHealth("be", addr(3), providers.HealthHealthy)
	if err := p.Drain(t.Context(), "be", addrs(4)); err != nil {
		t.Fatal(err)
	}

	// be/1 (Initial), be/2 (Unhealthy) and other/1 (Initial) change.
	if n := p.SetAllHealthy(); n != 3 {
		t.Errorf("SetAllHealthy() = %d, want 3", n)
	}
	assertBackends(t, p, "be", []providers.BackendStatus{
		status(1, 5, providers.HealthHealthy, ""),
		status(2, 5, providers.HealthHealthy, ""),
		status(3, 5, providers.HealthHealthy, ""),
		status(4, 5, providers.HealthDraining, "draining"),
	})
	assertBackends(t, p, "other", []providers.BackendStatus{status(1, 5, providers.HealthHealthy, "")})
	if n := p.SetAllHealthy(); n != 0 {
		t.Errorf("second SetAllHealthy() = %d, want 0", n)
	}
}

func TestRuleDrainMarksDrainingAndIgnoresUnknownAddresses(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be")
	p.SetNewBackendHealth(providers.HealthHealthy)
	mustRegister(t, p, "be", backends(5, 1, 2))

	if err := p.Drain(t.Context(), "be", addrs(1, 9)); err != nil {
		t.Fatalf("Drain with an unknown address: %v, want nil", err)
	}
	want := []providers.BackendStatus{
		status(1, 5, providers.HealthDraining, "draining"),
		status(2, 5, providers.HealthHealthy, ""),
	}
	assertBackends(t, p, "be", want)

	// Idempotent: draining again changes nothing.
	if err := p.Drain(t.Context(), "be", addrs(1)); err != nil {
		t.Fatalf("second Drain: %v", err)
	}
	assertBackends(t, p, "be", want)
}

func TestRuleDrainingStaysUntilDeregistered(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be")
	mustRegister(t, p, "be", backends(5, 1))
	if err := p.Drain(t.Context(), "be", addrs(1)); err != nil {
		t.Fatal(err)
	}

	// The load balancer's own checks do not undo a drain.
	if !p.SetHealth("be", addr(1), providers.HealthHealthy) {
		t.Errorf("SetHealth of a draining backend reported false, want true (it exists)")
	}
	p.SetAllHealthy()
	assertBackends(t, p, "be", []providers.BackendStatus{status(1, 5, providers.HealthDraining, "draining")})

	// Registering it again undoes the drain: the backend is checked again
	// from the start, as HAProxy does with a slot taken back from drain.
	mustRegister(t, p, "be", backends(9, 1))
	assertBackends(t, p, "be", []providers.BackendStatus{status(1, 9, providers.HealthInitial, "")})

	// Deregister and register again: a new backend.
	if err := p.Deregister(t.Context(), "be", addrs(1)); err != nil {
		t.Fatal(err)
	}
	mustRegister(t, p, "be", backends(9, 1))
	assertBackends(t, p, "be", []providers.BackendStatus{status(1, 9, providers.HealthInitial, "")})
}

func TestRuleDeregisterRemovesAndIgnoresUnknownAddresses(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be")
	mustRegister(t, p, "be", backends(5, 1, 2, 3))

	if err := p.Deregister(t.Context(), "be", addrs(1, 3, 9)); err != nil {
		t.Fatalf("Deregister with an unknown address: %v, want nil", err)
	}
	want := []providers.BackendStatus{status(2, 5, providers.HealthInitial, "")}
	assertBackends(t, p, "be", want)

	// Idempotent: deregistering what is gone is a no-op.
	if err := p.Deregister(t.Context(), "be", addrs(1, 3)); err != nil {
		t.Fatalf("second Deregister: %v, want nil", err)
	}
	assertBackends(t, p, "be", want)
}

func TestRuleDeregisterFreesQuota(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{MaxBackends: 2}, "be")
	mustRegister(t, p, "be", backends(5, 1, 2))
	if err := p.Register(t.Context(), providers.Target{ID: "be"}, backends(5, 3)); !providers.IsQuota(err) {
		t.Fatalf("Register on a full target: %v, want a QuotaError", err)
	}
	if err := p.Deregister(t.Context(), "be", addrs(1)); err != nil {
		t.Fatal(err)
	}
	mustRegister(t, p, "be", backends(5, 3))
}

func TestRuleUnknownTargetIsNotFound(t *testing.T) {
	t.Parallel()
	for _, m := range every {
		t.Run(m.method, func(t *testing.T) {
			t.Parallel()
			p := New(providers.Limits{}, "be")
			err := m.call(t.Context(), p, "missing", addrs(1))
			if !providers.IsNotFound(err) {
				t.Fatalf("%s on an unknown target: err = %v, want a NotFoundError", m.method, err)
			}
			var nf *providers.NotFoundError
			errors.As(err, &nf)
			if nf.Target != "missing" {
				t.Errorf("NotFoundError.Target = %q, want %q", nf.Target, "missing")
			}
			// The call did not create the target.
			if _, err := p.List(t.Context(), "missing"); !providers.IsNotFound(err) {
				t.Errorf("after %s the unknown target exists: List err = %v", m.method, err)
			}
		})
	}
}

func TestRuleAddTargetAndRemoveTarget(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{})
	ctx := t.Context()
	if _, err := p.List(ctx, "be"); !providers.IsNotFound(err) {
		t.Fatalf("List before AddTarget: %v, want NotFound", err)
	}

	p.AddTarget("be")
	list, err := p.List(ctx, "be")
	if err != nil || len(list) != 0 {
		t.Fatalf("List after AddTarget = %v, %v; want empty, nil", list, err)
	}
	mustRegister(t, p, "be", backends(5, 1))

	// AddTarget of an existing target keeps its backends.
	p.AddTarget("be")
	assertBackends(t, p, "be", []providers.BackendStatus{status(1, 5, providers.HealthInitial, "")})

	// RemoveTarget deletes the target and its backends.
	p.RemoveTarget("be")
	for _, m := range every {
		if err := m.call(ctx, p, "be", addrs(1)); !providers.IsNotFound(err) {
			t.Errorf("%s after RemoveTarget: %v, want NotFound", m.method, err)
		}
	}
	p.AddTarget("be")
	assertBackends(t, p, "be", []providers.BackendStatus{})

	// Removing an unknown target is harmless.
	p.RemoveTarget("never")
}

func TestRuleCreateTargetsOnUseMakesUnknownTargetsExist(t *testing.T) {
	t.Parallel()
	for _, m := range every {
		t.Run(m.method, func(t *testing.T) {
			t.Parallel()
			p := New(providers.Limits{})
			p.CreateTargetsOnUse(true)
			if err := m.call(t.Context(), p, "new", addrs(1)); err != nil {
				t.Fatalf("%s on an unknown target with CreateTargetsOnUse: %v, want nil", m.method, err)
			}
			p.CreateTargetsOnUse(false)
			if _, err := p.List(t.Context(), "new"); err != nil {
				t.Errorf("the target created on use by %s does not exist: %v", m.method, err)
			}
			if err := m.call(t.Context(), p, "other", addrs(1)); !providers.IsNotFound(err) {
				t.Errorf("%s with CreateTargetsOnUse switched off: %v, want NotFound", m.method, err)
			}
		})
	}
}

func TestRuleCreateTargetsOnUseRegistersOnTheNewTarget(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{MaxBackends: 1})
	p.CreateTargetsOnUse(true)
	mustRegister(t, p, "new", backends(5, 1))
	assertBackends(t, p, "new", []providers.BackendStatus{status(1, 5, providers.HealthInitial, "")})
	// Limits hold on a target created on use too.
	if err := p.Register(t.Context(), providers.Target{ID: "new"}, backends(5, 2)); !providers.IsQuota(err) {
		t.Errorf("Register over MaxBackends on a target created on use: %v, want a QuotaError", err)
	}
}

func TestRuleFailNextReturnsErrorsInOrder(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be")
	e1, e2 := errors.New("first"), errors.New("second")
	p.FailNext("Register", e1, e2)

	for i, want := range []error{e1, e2, nil} {
		err := p.Register(t.Context(), providers.Target{ID: "be"}, backends(5, 1))
		if !errors.Is(err, want) {
			t.Errorf("Register #%d: err = %v, want %v", i+1, err, want)
		}
	}
}

func TestRuleFailNextQueuesAddUp(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be")
	e1, e2 := errors.New("first"), errors.New("second")
	p.FailNext("List", e1)
	p.FailNext("List", e2)
	for i, want := range []error{e1, e2, nil} {
		if _, err := p.List(t.Context(), "be"); !errors.Is(err, want) {
			t.Errorf("List #%d: err = %v, want %v", i+1, err, want)
		}
	}
}

func TestRuleFailNextMethodQueueBeforeAnyMethodQueue(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be")
	eAny, eList := errors.New("any"), errors.New("list")
	// Queued in the "wrong" order on purpose: the method queue still wins.
	p.FailNext("", eAny)
	p.FailNext("List", eList)

	if _, err := p.List(t.Context(), "be"); !errors.Is(err, eList) {
		t.Errorf("List #1: err = %v, want the List error", err)
	}
	if _, err := p.List(t.Context(), "be"); !errors.Is(err, eAny) {
		t.Errorf("List #2: err = %v, want the any-method error", err)
	}
	if _, err := p.List(t.Context(), "be"); err != nil {
		t.Errorf("List #3: err = %v, want nil", err)
	}
}

func TestRuleFailNextAnyMethodQueueServesEveryMethod(t *testing.T) {
	t.Parallel()
	for _, m := range every {
		t.Run(m.method, func(t *testing.T) {
			t.Parallel()
			p := New(providers.Limits{}, "be")
			eAny := errors.New("any")
			p.FailNext("", eAny)
			if err := m.call(t.Context(), p, "be", addrs(1)); !errors.Is(err, eAny) {
				t.Errorf("%s: err = %v, want the any-method error", m.method, err)
			}
			if err := m.call(t.Context(), p, "be", addrs(1)); err != nil {
				t.Errorf("%s after the queue ran dry: %v, want nil", m.method, err)
			}
		})
	}
}

func TestRuleFailNextMethodQueueLeavesOtherMethodsAlone(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be")
	eReg := errors.New("register")
	p.FailNext("Register", eReg)
	for _, m := range every {
		if m.method == "Register" {
			continue
		}
		if err := m.call(t.Context(), p, "be", addrs(1)); err != nil {
			t.Errorf("%s with only a Register failure queued: %v, want nil", m.method, err)
		}
	}
	if err := p.Register(t.Context(), providers.Target{ID: "be"}, backends(5, 1)); !errors.Is(err, eReg) {
		t.Errorf("Register: err = %v, want the queued error", err)
	}
}

func TestRuleFailNextTypedErrorsPassThrough(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be")
	p.FailNext("Drain", &providers.ThrottledError{RetryAfter: 2 * time.Second, Detail: "slow down"})
	err := p.Drain(t.Context(), "be", addrs(1))
	if d, ok := providers.RetryAfter(err); !ok || d != 2*time.Second {
		t.Errorf("RetryAfter(%v) = %v, %v; want 2s, true", err, d, ok)
	}
}

func TestRuleClearFailuresEmptiesEveryQueue(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be")
	p.FailNext("", errors.New("any"))
	p.FailNext("Register", errors.New("register"))
	p.FailNext("List", errors.New("list"))
	p.ClearFailures()
	for _, m := range every {
		if err := m.call(t.Context(), p, "be", addrs(1)); err != nil {
			t.Errorf("%s after ClearFailures: %v, want nil", m.method, err)
		}
	}
	// Queueing still works after a clear.
	e := errors.New("again")
	p.FailNext("List", e)
	if _, err := p.List(t.Context(), "be"); !errors.Is(err, e) {
		t.Errorf("List after ClearFailures and FailNext: %v, want the queued error", err)
	}
}

func TestRuleSessionsAreReportedOnlyWhereAsked(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be", "other")
	mustRegister(t, p, "be", backends(5, 1))
	mustRegister(t, p, "other", backends(5, 1))
	a := addrs(1)[0]
	if !p.SetSessions("be", a, 3) || !p.SetSessions("other", a, 3) {
		t.Fatal("SetSessions did not find the registered backend")
	}
	if p.SetSessions("be", netip.MustParseAddrPort("127.9.9.9:1"), 1) {
		t.Error("SetSessions found a backend that is not registered")
	}
	p.ReportSessions("be")
	for target, want := range map[string]providers.BackendStatus{
		"be":    {Sessions: 3, SessionsKnown: true},
		"other": {}, // a target that does not report sessions says nothing of them
	} {
		list, err := p.List(t.Context(), target)
		if err != nil || len(list) != 1 {
			t.Fatalf("List %s: %v, %v", target, list, err)
		}
		if list[0].Sessions != want.Sessions || list[0].SessionsKnown != want.SessionsKnown {
			t.Errorf("List %s: sessions %d (known %v), want %d (known %v)", target, list[0].Sessions, list[0].SessionsKnown, want.Sessions, want.SessionsKnown)
		}
	}
}

func TestRuleCutOffFailsEveryCallOnThatTargetOnly(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be", "other")
	mustRegister(t, p, "be", backends(5, 1))
	cut := errors.New("link down")
	p.CutOff("be", cut)
	for _, m := range every {
		for i := range 2 { // not used up, unlike FailNext
			if err := m.call(t.Context(), p, "be", addrs(1)); !errors.Is(err, cut) {
				t.Errorf("%s #%d on the cut-off target: %v, want the cut-off error", m.method, i+1, err)
			}
		}
		if err := m.call(t.Context(), p, "other", addrs(1)); err != nil {
			t.Errorf("%s on another target: %v, want nil", m.method, err)
		}
	}
	assertBackends(t, p, "be", []providers.BackendStatus{status(1, 5, providers.HealthInitial, "")})
	p.ClearFailures()
	if _, err := p.List(t.Context(), "be"); err != nil {
		t.Errorf("List after ClearFailures: %v, want nil", err)
	}
}

func TestRuleFailedCallChangesNothing(t *testing.T) {
	t.Parallel()
	for _, m := range mutations {
		t.Run(m.method, func(t *testing.T) {
			t.Parallel()
			p := New(providers.Limits{}, "be")
			mustRegister(t, p, "be", backends(10, 1, 2))
			before := p.Backends("be")
			injected := &providers.UnavailableError{Detail: "injected"}
			p.FailNext(m.method, injected)

			// Addresses 1 and 2 are registered, 3 is new: any effect would show.
			if err := m.call(t.Context(), p, "be", addrs(1, 2, 3)); !errors.Is(err, injected) {
				t.Fatalf("%s: err = %v, want the injected error", m.method, err)
			}
			assertBackends(t, p, "be", before)
		})
	}
}

// With CreateTargetsOnUse a call that fails should not leave the target behind
// either: a real load balancer that refused a call has not created anything.
func TestRuleFailedCallDoesNotCreateTargetOnUse(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{})
	p.CreateTargetsOnUse(true)
	injected := errors.New("injected")
	p.FailNext("Register", injected)
	if err := p.Register(t.Context(), providers.Target{ID: "new"}, backends(5, 1)); !errors.Is(err, injected) {
		t.Fatalf("Register: err = %v, want the injected error", err)
	}
	p.CreateTargetsOnUse(false)
	if _, err := p.List(t.Context(), "new"); !providers.IsNotFound(err) {
		t.Errorf("a failed Register created the target: List err = %v, want NotFound", err)
	}
}

func TestRuleLatencyEndsWithTheContext(t *testing.T) {
	t.Parallel()
	const latency = time.Hour
	// Generous: a cancelled call must come back far sooner than the latency.
	const bound = 30 * time.Second
	ctxs := []struct {
		name  string
		ctx   func(t *testing.T) context.Context
		cause error
	}{
		{"cancelled", func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return ctx
		}, context.Canceled},
		{"deadline", func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, context.DeadlineExceeded},
	}
	for _, m := range every {
		for _, c := range ctxs {
			t.Run(m.method+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				p := New(providers.Limits{}, "be")
				mustRegister(t, p, "be", backends(10, 1, 2))
				before := p.Backends("be")
				p.SetLatency(latency)

				start := time.Now()
				err := m.call(c.ctx(t), p, "be", addrs(1, 2, 3))
				if elapsed := time.Since(start); elapsed > bound {
					t.Errorf("%s took %v with a %s context, want well under %v", m.method, elapsed, c.name, latency)
				}
				if !providers.IsUnavailable(err) {
					t.Fatalf("%s: err = %v, want an UnavailableError", m.method, err)
				}
				if !errors.Is(err, c.cause) {
					t.Errorf("%s: err = %v, want it to wrap %v", m.method, err, c.cause)
				}
				assertBackends(t, p, "be", before)
				calls := p.CallsOf(m.method)
				if len(calls) == 0 || !errors.Is(calls[len(calls)-1].Err, err) {
					t.Errorf("the cancelled %s was not recorded with its error: %v", m.method, calls)
				}
			})
		}
	}
}

func TestRuleLatencyDelaysThenActs(t *testing.T) {
	t.Parallel()
	const latency = 20 * time.Millisecond
	p := New(providers.Limits{}, "be")
	p.SetLatency(latency)
	start := time.Now()
	mustRegister(t, p, "be", backends(5, 1))
	if elapsed := time.Since(start); elapsed < latency {
		t.Errorf("Register returned after %v, want at least the latency %v", elapsed, latency)
	}
	assertBackends(t, p, "be", []providers.BackendStatus{status(1, 5, providers.HealthInitial, "")})

	// SetLatency(0) switches it off: a cancelled context no longer matters.
	p.SetLatency(0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.List(ctx, "be"); err != nil {
		t.Errorf("List without latency on a cancelled context: %v, want nil", err)
	}
}

// wantCall is a Call with the error matched by a predicate.
type wantCall struct {
	method, target string
	addrs          []netip.AddrPort
	err            func(error) bool
}

func noErr(err error) bool { return err == nil }

func assertCalls(t *testing.T, got []Call, want []wantCall) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("recorded %d calls, want %d:\n got %v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Method != w.method || g.Target != w.target || !slices.Equal(g.Addrs, w.addrs) || !w.err(g.Err) {
			t.Errorf("call %d = %+v, want %s(%s, %v) with a matching error", i, g, w.method, w.target, w.addrs)
		}
	}
}

func TestRuleCallsRecordEveryCall(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{MaxBatch: 2}, "be")
	ctx := t.Context()
	injected := errors.New("injected")

	in := backends(5, 2, 1)
	_ = p.Register(ctx, providers.Target{ID: "be"}, in)
	in[0].Addr = addr(9)
	drain := addrs(1)
	_ = p.Drain(ctx, "be", drain)
	// The record is a copy of the caller's slice.
	drain[0] = addr(9)
	_ = p.Deregister(ctx, "be", addrs(1, 2, 3)) // over MaxBatch
	_ = p.Deregister(ctx, "be", nil)
	_, _ = p.List(ctx, "be")
	_, _ = p.List(ctx, "missing")
	p.FailNext("Drain", injected)
	_ = p.Drain(ctx, "be", addrs(2))

	isErr := func(want error) func(error) bool { return func(err error) bool { return errors.Is(err, want) } }
	assertCalls(t, p.Calls(), []wantCall{
		{"Register", "be", addrs(2, 1), noErr},
		{"Drain", "be", addrs(1), noErr},
		{"Deregister", "be", addrs(1, 2, 3), providers.IsQuota},
		{"Deregister", "be", nil, noErr},
		{"List", "be", nil, noErr},
		{"List", "missing", nil, providers.IsNotFound},
		{"Drain", "be", addrs(2), isErr(injected)},
	})

	// CallsOf keeps the order and only the one method.
	assertCalls(t, p.CallsOf("Drain"), []wantCall{
		{"Drain", "be", addrs(1), noErr},
		{"Drain", "be", addrs(2), isErr(injected)},
	})
	if got := p.CallsOf("Nope"); len(got) != 0 {
		t.Errorf("CallsOf an unknown method = %v, want none", got)
	}

	// Calls returns a copy.
	calls := p.Calls()
	calls[0].Method = "Tampered"
	_ = append(calls[:1], Call{Method: "Extra"})
	if got := p.Calls(); got[0].Method != "Register" || got[1].Method != "Drain" || len(got) != 7 {
		t.Errorf("changing the slice Calls returned changed the record: %v", got)
	}

	// ResetCalls forgets, and recording goes on afterwards.
	p.ResetCalls()
	if got := p.Calls(); len(got) != 0 {
		t.Errorf("Calls after ResetCalls = %v, want none", got)
	}
	_, _ = p.List(ctx, "be")
	assertCalls(t, p.Calls(), []wantCall{{"List", "be", nil, noErr}})
}

func TestRuleCallsRecordLimits(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be")
	if _, err := p.Limits(t.Context(), "missing"); !providers.IsNotFound(err) {
		t.Fatalf("Limits of an unknown target: %v, want NotFound", err)
	}
	assertCalls(t, p.CallsOf("Limits"), []wantCall{{"Limits", "missing", nil, providers.IsNotFound}})
}

// "Calls returns a copy of every call so far": a successful Limits is a call too.
func TestRuleCallsRecordSuccessfulLimits(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be")
	if _, err := p.Limits(t.Context(), "be"); err != nil {
		t.Fatal(err)
	}
	assertCalls(t, p.CallsOf("Limits"), []wantCall{{"Limits", "be", nil, noErr}})
}

func TestRuleListIsSortedByAddress(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be")
	// Out of order, with 10 after 2 (numeric, not string order) and two ports on one IP.
	mustRegister(t, p, "be", []providers.Backend{
		{Addr: addr(10), Weight: 1},
		{Addr: netip.MustParseAddrPort("127.0.0.2:9090"), Weight: 2},
		{Addr: addr(1), Weight: 3},
		{Addr: addr(2), Weight: 4},
	})
	want := []netip.AddrPort{
		addr(1),
		addr(2),
		netip.MustParseAddrPort("127.0.0.2:9090"),
		addr(10),
	}
	list, err := p.List(t.Context(), "be")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]netip.AddrPort, len(list))
	for i, b := range list {
		got[i] = b.Addr
	}
	if !slices.Equal(got, want) {
		t.Errorf("List order = %v, want %v", got, want)
	}
}

func TestRuleBackendsIsListWithoutRecordingACall(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be")
	mustRegister(t, p, "be", backends(5, 3, 1, 2))
	p.SetHealth("be", addr(2), providers.HealthHealthy)
	p.ResetCalls()

	got := p.Backends("be")
	if calls := p.Calls(); len(calls) != 0 {
		t.Errorf("Backends recorded calls: %v", calls)
	}
	list, err := p.List(t.Context(), "be")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, list) {
		t.Errorf("Backends = %v, List = %v; want the same", got, list)
	}
	if got := p.Backends("missing"); len(got) != 0 {
		t.Errorf("Backends of an unknown target = %v, want none", got)
	}
}

func TestRuleListReturnsACopy(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{}, "be")
	mustRegister(t, p, "be", backends(5, 1))
	list, err := p.List(t.Context(), "be")
	if err != nil {
		t.Fatal(err)
	}
	list[0].Health = providers.HealthUnused
	list[0].Weight = 99
	got := p.Backends("be")
	got[0].Health = providers.HealthUnused
	assertBackends(t, p, "be", []providers.BackendStatus{status(1, 5, providers.HealthInitial, "")})
}

func TestRuleForgetDropsBackendsButKeepsTargets(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{MaxBackends: 2}, "be", "other", "empty")
	mustRegister(t, p, "be", backends(5, 1, 2))
	mustRegister(t, p, "other", backends(5, 1))
	p.SetAllHealthy()
	if err := p.Drain(t.Context(), "be", addrs(2)); err != nil {
		t.Fatal(err)
	}

	p.Forget()

	for _, target := range []string{"be", "other", "empty"} {
		list, err := p.List(t.Context(), target)
		if err != nil {
			t.Errorf("List(%s) after Forget: %v, want the target to still exist", target, err)
		}
		if len(list) != 0 {
			t.Errorf("List(%s) after Forget = %v, want no backends", target, list)
		}
	}
	if _, err := p.List(t.Context(), "missing"); !providers.IsNotFound(err) {
		t.Errorf("Forget created a target: List(missing) err = %v", err)
	}
	// Registering again starts from scratch: new health, the full quota free.
	mustRegister(t, p, "be", backends(5, 3, 4))
	assertBackends(t, p, "be", []providers.BackendStatus{
		status(3, 5, providers.HealthInitial, ""),
		status(4, 5, providers.HealthInitial, ""),
	})
}

func TestConcurrentCallsAreSafe(t *testing.T) {
	t.Parallel()
	p := New(providers.Limits{MaxBatch: 4}, "be")
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			a := addr(g + 1)
			for range 50 {
				_ = p.Register(ctx, providers.Target{ID: "be"}, []providers.Backend{{Addr: a, Weight: 1}})
				p.SetHealth("be", a, providers.HealthHealthy)
				_ = p.Drain(ctx, "be", []netip.AddrPort{a})
				_, _ = p.List(ctx, "be")
				_ = p.Backends("be")
				_ = p.CallsOf("Register")
				_ = p.Deregister(ctx, "be", []netip.AddrPort{a})
			}
		})
	}
	wg.Wait()
	if got := p.Backends("be"); len(got) != 0 {
		t.Errorf("every goroutine deregistered its backend, yet %v remain", got)
	}
	if got := len(p.CallsOf("Register")); got != 8*50 {
		t.Errorf("recorded %d Register calls, want %d", got, 8*50)
	}
}
