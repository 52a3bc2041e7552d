package tencent_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/tencent"
	"github.com/lbgate/lbgate/providers/tencent/clbsim"
)

// These tests run the provider against the local CLB (clbsim).

const id, secret = "AKIDprovider", "provider-secret"

// setup runs a simulator with lb-1: lbl-4 (TCP) and lbl-7 (HTTP, rule
// loc-1, checking /healthz), and a provider for it.
func setup(t *testing.T, cfg clbsim.Config, opts tencent.Options) (*clbsim.Server, *tencent.Provider) {
	t.Helper()
	cfg.SecretID, cfg.SecretKey = id, secret
	s, err := clbsim.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.AddLoadBalancer("lb-1")
	fast := clbsim.HealthCheck{Interval: 20 * time.Millisecond, Timeout: 200 * time.Millisecond, Healthy: 2, Unhealthy: 2}
	s.AddListener("lb-1", "lbl-4", "TCP", fast)
	s.AddListener("lb-1", "lbl-7", "HTTP", fast)
	hc := fast
	hc.HTTP, hc.Path = true, "/healthz"
	s.AddRule("lb-1", "lbl-7", "loc-1", hc)
	if opts.Credentials.SecretID == "" {
		opts.Credentials = tencent.Credentials{SecretID: id, SecretKey: secret}
	}
	opts.Region = "ap-guangzhou"
	opts.Endpoint = "http://" + s.Endpoint()
	if opts.TaskPollInterval == 0 {
		opts.TaskPollInterval = 20 * time.Millisecond
	}
	p, err := tencent.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

// app is an HTTP server on 127.0.0.1 that answers /healthz with 200.
func app(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return netip.MustParseAddrPort(ln.Addr().String())
}

// healthOf lists target and returns the health of addr ("" when not bound).
func healthOf(t *testing.T, p *tencent.Provider, target string, addr netip.AddrPort) (providers.Health, int32) {
	t.Helper()
	list, err := p.List(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range list {
		if b.Addr == addr {
			return b.Health, b.Weight
		}
	}
	return "", 0
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(60 * time.Millisecond)
	}
}

// The life of a backend on a layer-4 listener and a layer-7 rule:
// registered (Initial until the CLB's check passes), Healthy, weight
// updated without losing health, drained (weight 0, Draining),
// deregistered; every call idempotent.
func TestLifecycle(t *testing.T) {
	for _, target := range []string{"lb-1/lbl-4", "lb-1/lbl-7/loc-1"} {
		t.Run(target, func(t *testing.T) {
			s, p := setup(t, clbsim.Config{TaskDuration: 50 * time.Millisecond}, tencent.Options{})
			ctx := context.Background()
			addr := app(t)
			be := providers.Backend{Addr: addr, Weight: 10}
			if err := p.Register(ctx, providers.Target{ID: target}, []providers.Backend{be}); err != nil {
				t.Fatal(err)
			}
			// Register returns once the bind task is live.
			if got := len(s.Backends(simWhere(target))); got != 1 {
				t.Fatalf("after Register the CLB holds %d targets, want 1", got)
			}
			if h, _ := healthOf(t, p, target, addr); h != providers.HealthInitial && h != providers.HealthHealthy {
				t.Fatalf("a new backend is %s", h)
			}
			eventually(t, "Healthy", func() bool { h, _ := healthOf(t, p, target, addr); return h == providers.HealthHealthy })
			if err := p.Register(ctx, providers.Target{ID: target}, []providers.Backend{be}); err != nil {
				t.Fatalf("registering again: %v", err)
			}
			be.Weight = 60
			if err := p.Register(ctx, providers.Target{ID: target}, []providers.Backend{be}); err != nil {
				t.Fatal(err)
			}
			if h, w := healthOf(t, p, target, addr); h != providers.HealthHealthy || w != 60 {
				t.Fatalf("after a weight change: %s, weight %d; want Healthy, 60", h, w)
			}
			for range 2 {
				if err := p.Drain(ctx, target, []netip.AddrPort{addr}); err != nil {
					t.Fatal(err)
				}
			}
			if h, w := healthOf(t, p, target, addr); h != providers.HealthDraining || w != 0 {
				t.Fatalf("after Drain: %s, weight %d; want Draining, 0", h, w)
			}
			for range 2 {
				if err := p.Deregister(ctx, target, []netip.AddrPort{addr}); err != nil {
					t.Fatal(err)
				}
			}
			if h, _ := healthOf(t, p, target, addr); h != "" {
				t.Fatalf("after Deregister: still bound, %s", h)
			}
		})
	}
}

func simWhere(target string) (string, string, string) {
	if target == "lb-1/lbl-4" {
		return "lb-1", "lbl-4", ""
	}
	return "lb-1", "lbl-7", "loc-1"
}

// Recheck unbinds and binds again: the CLB checks the address anew, from
// Unknown, and does not keep the old binding's Alive.
func TestRecheckStartsFromUnknown(t *testing.T) {
	s, p := setup(t, clbsim.Config{}, tencent.Options{})
	// One check at bind time, then none for an hour: one pass makes a
	// target Alive, three failures Dead.
	s.AddListener("lb-1", "lbl-slow", "TCP", clbsim.HealthCheck{Interval: time.Hour, Healthy: 1, Unhealthy: 3})
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddrPort(ln.Addr().String())
	target := "lb-1/lbl-slow"
	if err := p.Register(ctx, providers.Target{ID: target}, []providers.Backend{{Addr: addr, Weight: 10}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Healthy", func() bool { h, _ := healthOf(t, p, target, addr); return h == providers.HealthHealthy })
	_ = ln.Close() // the address now belongs to a pod that does not answer
	if err := p.Register(ctx, providers.Target{ID: target}, []providers.Backend{{Addr: addr, Weight: 10, Recheck: true}}); err != nil {
		t.Fatal(err)
	}
	if h, _ := healthOf(t, p, target, addr); h != providers.HealthInitial {
		t.Fatalf("after Recheck: %s, want Initial (checked anew)", h)
	}
}

// Rule: at most 500 targets a call; the provider says so in Limits and
// refuses a larger batch as a quota error without calling.
func TestBatchLimit(t *testing.T) {
	s, p := setup(t, clbsim.Config{TargetBindQuota: 1000}, tencent.Options{})
	ctx := context.Background()
	l, err := p.Limits(ctx, "lb-1/lbl-4")
	if err != nil {
		t.Fatal(err)
	}
	if l.MaxBatch != 500 || l.MaxBackends != 1000 || l.StaticWeight {
		t.Fatalf("Limits = %+v, want MaxBatch 500, MaxBackends 1000 (TOTAL_TARGET_BIND_QUOTA), weights not static", l)
	}
	batch := func(n int) []providers.Backend {
		var out []providers.Backend
		for i := range n {
			out = append(out, providers.Backend{Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(2000+i)), Weight: 10})
		}
		return out
	}
	if err := p.Register(ctx, providers.Target{ID: "lb-1/lbl-4"}, batch(501)); !providers.IsQuota(err) {
		t.Fatalf("501 backends: %v, want a quota error", err)
	}
	if err := p.Register(ctx, providers.Target{ID: "lb-1/lbl-4"}, batch(500)); err != nil {
		t.Fatal(err)
	}
	if got := len(s.Backends("lb-1", "lbl-4", "")); got != 500 {
		t.Fatalf("%d bound, want 500", got)
	}
}

// The quota (TOTAL_TARGET_BIND_QUOTA) surfaces as a QuotaError naming the limit.
func TestQuota(t *testing.T) {
	s, p := setup(t, clbsim.Config{TargetBindQuota: 2}, tencent.Options{})
	ctx := context.Background()
	a, b, c := app(t), app(t), app(t)
	if err := p.Register(ctx, providers.Target{ID: "lb-1/lbl-4"}, []providers.Backend{{Addr: a, Weight: 10}, {Addr: b, Weight: 10}}); err != nil {
		t.Fatal(err)
	}
	err := p.Register(ctx, providers.Target{ID: "lb-1/lbl-4"}, []providers.Backend{{Addr: c, Weight: 10}})
	var q *providers.QuotaError
	if !providers.IsQuota(err) {
		t.Fatalf("a third backend on a quota of 2: %v, want a quota error", err)
	}
	if errors.As(err, &q); q.Limit != 2 || q.Want != 3 {
		t.Fatalf("quota error %+v, want limit 2, want 3", q)
	}
	if got := len(s.Backends("lb-1", "lbl-4", "")); got != 2 {
		t.Fatalf("%d bound, want 2", got)
	}
	// Re-registering the bound ones is no new bind: allowed at the quota.
	if err := p.Register(ctx, providers.Target{ID: "lb-1/lbl-4"}, []providers.Backend{{Addr: a, Weight: 20}}); err != nil {
		t.Fatalf("reweighting at the quota: %v", err)
	}
}

// Rule: 20 requests a second per action. Many concurrent List calls stay
// under it (measured on the CLB's side) and none is refused.
func TestThrottlingHonoured(t *testing.T) {
	s, p := setup(t, clbsim.Config{}, tencent.Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			_, err := p.List(context.Background(), "lb-1/lbl-4")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
	}
	var at []time.Time
	for _, c := range s.Calls() {
		if c.Action != tencent.ActionDescribeTargetHealth {
			continue
		}
		if c.Code != "" {
			t.Fatalf("a call was answered %s", c.Code)
		}
		at = append(at, c.At)
	}
	if len(at) != 50 {
		t.Fatalf("%d calls seen, want 50", len(at))
	}
	// The provider spaces each action's calls 50ms apart (20 a second):
	// 50 calls span at least 49 spaces, and no 21 calls fall in much less
	// than a second. The margins allow for scheduling jitter between the
	// provider's clock and the server's record of each call.
	if span := at[len(at)-1].Sub(at[0]); span < 2200*time.Millisecond {
		t.Fatalf("50 calls within %s: more than 20 a second", span)
	}
	for i := 20; i < len(at); i++ {
		if d := at[i].Sub(at[i-20]); d < 800*time.Millisecond {
			t.Fatalf("calls %d to %d within %s: more than 20 a second", i-20, i, d)
		}
	}
}

// A RequestLimitExceeded answer is a ThrottledError with a retry delay.
func TestThrottledAnswer(t *testing.T) {
	s, p := setup(t, clbsim.Config{}, tencent.Options{RetryAfter: 3 * time.Second})
	s.InjectError(tencent.ActionDescribeTargetHealth, tencent.ErrRequestLimitExceeded)
	_, err := p.List(context.Background(), "lb-1/lbl-4")
	if d, ok := providers.RetryAfter(err); !ok || d != 3*time.Second {
		t.Fatalf("List: %v, want throttled with retry after 3s", err)
	}
}

// A task of someone else on the load balancer makes a change throttled
// (ResourceInOperating); a task that fails fails the call.
func TestTasks(t *testing.T) {
	s, p := setup(t, clbsim.Config{TaskDuration: time.Hour}, tencent.Options{})
	c, err := tencent.NewClient(tencent.Credentials{SecretID: id, SecretKey: secret}, "ap-guangzhou", "http://"+s.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	// Someone else's task, running for an hour.
	w := int64(10)
	if err := c.Call(context.Background(), tencent.ActionBatchRegisterTargets, tencent.BatchTargetsRequest{LoadBalancerId: "lb-1",
		Targets: []tencent.BatchTarget{{ListenerId: "lbl-7", LocationId: "loc-1", Port: 9, EniIp: "127.0.0.9", Weight: &w}}}, &tencent.BatchTargetsResponse{}); err != nil {
		t.Fatal(err)
	}
	err = p.Register(context.Background(), providers.Target{ID: "lb-1/lbl-4"}, []providers.Backend{{Addr: app(t), Weight: 10}})
	if !providers.IsThrottled(err) {
		t.Fatalf("Register while another task runs: %v, want throttled", err)
	}
	// A change whose task does not end before the caller's deadline is to be tried again.
	_, p2 := setup(t, clbsim.Config{TaskDuration: time.Hour}, tencent.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = p2.Register(ctx, providers.Target{ID: "lb-1/lbl-4"}, []providers.Backend{{Addr: app(t), Weight: 10}})
	if !providers.IsUnavailable(err) && !providers.IsThrottled(err) || !strings.Contains(err.Error(), "still run") {
		t.Fatalf("Register past its deadline: %v, want unavailable or throttled, saying the task still runs", err)
	}
	s3, p3 := setup(t, clbsim.Config{}, tencent.Options{})
	s3.FailNextTasks(1)
	addr := app(t)
	if err := p3.Register(context.Background(), providers.Target{ID: "lb-1/lbl-4"}, []providers.Backend{{Addr: addr, Weight: 10}}); err == nil {
		t.Fatal("Register whose task failed succeeded")
	}
	if err := p3.Register(context.Background(), providers.Target{ID: "lb-1/lbl-4"}, []providers.Backend{{Addr: addr, Weight: 10}}); err != nil {
		t.Fatalf("Register again after a failed task: %v", err)
	}
}

// Errors are typed: a wrong key is a permission error, an unknown load
// balancer, listener or rule is not found.
func TestErrors(t *testing.T) {
	_, bad := setup(t, clbsim.Config{}, tencent.Options{Credentials: tencent.Credentials{SecretID: id, SecretKey: "wrong"}})
	if _, err := bad.List(context.Background(), "lb-1/lbl-4"); !providers.IsPermission(err) {
		t.Fatalf("wrong key: %v, want a permission error", err)
	}
	_, p := setup(t, clbsim.Config{}, tencent.Options{})
	for _, target := range []string{"lb-9/lbl-4", "lb-1/lbl-9", "lb-1/lbl-7/loc-9", "lb-1/lbl-4/loc-1", "not-a-target"} {
		if _, err := p.List(context.Background(), target); !providers.IsNotFound(err) {
			t.Errorf("List(%s): %v, want not found", target, err)
		}
		if _, err := p.Limits(context.Background(), target); !providers.IsNotFound(err) {
			t.Errorf("Limits(%s): %v, want not found", target, err)
		}
		if err := p.Register(context.Background(), providers.Target{ID: target}, []providers.Backend{{Addr: app(t), Weight: 10}}); !providers.IsNotFound(err) {
			t.Errorf("Register(%s): %v, want not found", target, err)
		}
	}
	// A layer-7 listener without its rule: Limits, which the controller
	// asks before anything else, says the id needs the rule.
	if _, err := p.Limits(context.Background(), "lb-1/lbl-7"); !providers.IsNotFound(err) || !strings.Contains(err.Error(), "needs its rule") {
		t.Errorf("Limits(lb-1/lbl-7): %v, want not found, saying the id needs its rule", err)
	}
	// Nothing listens: unavailable.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	down, err := tencent.New(tencent.Options{Credentials: tencent.Credentials{SecretID: id, SecretKey: secret}, Region: "ap-guangzhou", Endpoint: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := down.List(context.Background(), "lb-1/lbl-4"); !providers.IsUnavailable(err) {
		t.Fatalf("no server: %v, want unavailable", err)
	}
}

// A batch that fails on the target's listener (FailListenerIdSet) fails
// the call, naming the listener; the next call binds.
func TestPartialFailureFailsTheCall(t *testing.T) {
	s, p := setup(t, clbsim.Config{}, tencent.Options{})
	addr := app(t)
	s.FailListenerParts("lbl-4")
	err := p.Register(context.Background(), providers.Target{ID: "lb-1/lbl-4"}, []providers.Backend{{Addr: addr, Weight: 10}})
	if err == nil || !strings.Contains(err.Error(), "lbl-4") {
		t.Fatalf("Register whose listener failed: %v, want an error naming lbl-4", err)
	}
	if err := p.Register(context.Background(), providers.Target{ID: "lb-1/lbl-4"}, []providers.Backend{{Addr: addr, Weight: 10}}); err != nil {
		t.Fatal(err)
	}
	if got := len(s.Backends("lb-1", "lbl-4", "")); got != 1 {
		t.Fatalf("%d bound after the retry, want 1", got)
	}
}

// Limits reads the check of the target's listener or rule: a group asking
// for that check is honoured, one asking for another is refused, naming
// the CLB's value.
func TestLimitsReportTheListenersCheck(t *testing.T) {
	s, p := setup(t, clbsim.Config{}, tencent.Options{})
	s.AddRule("lb-1", "lbl-7", "loc-2", clbsim.HealthCheck{HTTP: true, Path: "/ready", Interval: 2 * time.Second, Timeout: 2 * time.Second, Healthy: 3, Unhealthy: 3})
	l, err := p.Limits(context.Background(), "lb-1/lbl-7/loc-2")
	if err != nil {
		t.Fatal(err)
	}
	same := providers.Settings{HealthCheck: providers.HealthCheck{Protocol: "http", Path: "/ready", Interval: 2 * time.Second, HealthyThreshold: 3}}
	if r := l.Capabilities.Refusals(same); len(r) != 0 {
		t.Fatalf("the rule's own check refused: %+v", r)
	}
	other := providers.Settings{HealthCheck: providers.HealthCheck{Protocol: "http", Path: "/healthz"}}
	r := l.Capabilities.Refusals(other)
	if len(r) != 1 || r[0].Setting != providers.SettingCheckPath || r[0].InForce != "/ready" {
		t.Fatalf("another path: refusals %+v, want the path refused with /ready in force", r)
	}
	l4, err := p.Limits(context.Background(), "lb-1/lbl-4")
	if err != nil {
		t.Fatal(err)
	}
	if r := l4.Capabilities.Refusals(providers.Settings{HealthCheck: providers.HealthCheck{Protocol: "tcp"}}); len(r) != 0 {
		t.Fatalf("tcp on a TCP-checked listener refused: %+v", r)
	}
}

// A LimitExceeded answer (someone else bound targets since the provider
// last read the quota) is a quota error naming the limit and the want.
func TestQuotaAnswer(t *testing.T) {
	s, p := setup(t, clbsim.Config{}, tencent.Options{})
	if _, err := p.Limits(context.Background(), "lb-1/lbl-4"); err != nil {
		t.Fatal(err)
	}
	s.InjectError(tencent.ActionBatchRegisterTargets, tencent.ErrLimitExceeded)
	err := p.Register(context.Background(), providers.Target{ID: "lb-1/lbl-4"}, []providers.Backend{{Addr: app(t), Weight: 10}})
	var q *providers.QuotaError
	if !errors.As(err, &q) || q.Limit != 200 || q.Want != 1 || q.Target != "lb-1/lbl-4" {
		t.Fatalf("Register answered LimitExceeded: %v, want a quota error on lb-1/lbl-4, limit 200, want 1", err)
	}
}

// A gateway error (HTTP 5xx) and an answer slower than the caller's
// deadline are unavailable: try again.
func TestUnavailable(t *testing.T) {
	s, p := setup(t, clbsim.Config{}, tencent.Options{})
	s.InjectHTTPStatus(http.StatusBadGateway)
	if _, err := p.List(context.Background(), "lb-1/lbl-4"); !providers.IsUnavailable(err) {
		t.Fatalf("HTTP 502: %v, want unavailable", err)
	}
	if _, err := p.List(context.Background(), "lb-1/lbl-4"); err != nil {
		t.Fatalf("the next call: %v", err)
	}
	s.SetLatency(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := p.List(ctx, "lb-1/lbl-4"); !providers.IsUnavailable(err) {
		t.Fatalf("an answer slower than the deadline: %v, want unavailable", err)
	}
}
