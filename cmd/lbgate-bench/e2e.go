package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/controllers"
	"github.com/lbgate/lbgate/e2e/stack"
)

// HAProxy backends of the e2e scenarios.
const (
	beLatency  = "be_latency"
	beGated    = "be_gated"
	beBaseline = "be_baseline"
	beHook     = "be_hook"
	// latencyPods is the latency scenario's Deployment size.
	latencyPods = 100
	// rolloutReplicas is the rollout scenario's Deployment size.
	rolloutReplicas = 30
	// v2Plain is the next version without a warm-up: the rollout compares
	// lbgate's cost, not an application that is slow to serve.
	v2Plain = "example.com/web:v2"
)

// runStack runs the scenarios that need a whole cluster: gate latency
// against HAProxy's own checks, the rollout with and without gates, and
// the webhook's admission latency with and without it.
func (b *bench) runStack(ctx context.Context) []*Scenario {
	lat := newScenario("gate latency", fmt.Sprintf("e2e stack, real HAProxy (check inter 200ms rise 2 fall 2), %d pods created at once, real HTTP backends, lbgate's default --gate-poll-interval (100ms with HAProxy)", latencyPods))
	roll := newScenario("rolling update", fmt.Sprintf("e2e stack, %d replicas, maxSurge 25%%, maxUnavailable 0, v1 → v2 under 100 requests/s through HAProxy (check inter 1s rise 2)", rolloutReplicas))
	hook := newScenario("webhook", "e2e stack, pod CREATE from 1, 5 and 20 concurrent creators (120 pods each), with lbgate's webhook (URL mode, TLS on loopback) and without it")
	all := []*Scenario{lat, roll, hook}
	st, err := b.startStack(ctx)
	if err != nil {
		return failUnfinished(all, err)
	}
	defer stopStack(st, all)
	if err := b.stackClient(st); err != nil {
		return failUnfinished(all, err)
	}
	b.progress("gate latency: %d pods behind %s", latencyPods, beLatency)
	if err := b.latency(ctx, st, lat); err != nil {
		lat.Err = err.Error()
		b.progress("gate latency failed: %v", err)
	}
	gated := stack.App{Namespace: "roll-gated", Name: "web", Backend: beGated, Replicas: rolloutReplicas, Image: stack.ImageV1}
	b.progress("rollout with gates: deploying %d replicas", rolloutReplicas)
	withGates := b.rollout(ctx, st, roll, gated)
	if err := b.webhooks(ctx, st, hook); err != nil {
		return failUnfinished(all, err)
	}
	b.rolloutBaseline(ctx, st, roll, gated, withGates)
	return all
}

// failUnfinished gives err to every scenario that has neither a result
// nor an error of its own, and returns them all.
func failUnfinished(all []*Scenario, err error) []*Scenario {
	for _, s := range all {
		if len(s.Rows) == 0 && s.Err == "" {
			s.Err = err.Error()
		}
	}
	return all
}

// startStack starts the e2e stack with lbgate's pprof on a free address
// and records HAProxy's version.
func (b *bench) startStack(ctx context.Context) (*stack.Stack, error) {
	pprofAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	b.stackPprof = "http://" + pprofAddr + "/debug/pprof"
	st, err := stack.Start(ctx, stack.Options{
		ModuleDir:      b.module,
		OperatorBinary: b.operator,
		WorkDir:        b.workDir("stack"),
		Backends:       []string{beLatency, beGated, beBaseline, beHook},
		DeclaredSlots:  map[string]int{beLatency: latencyPods + 10},
		// What users run: 0 is the provider's default (the stack sets its own).
		OperatorArgs: []string{"--gate-poll-interval=0", "--pprof-bind-address=" + pprofAddr},
		Logf:         b.progress,
	})
	if err != nil {
		return nil, err
	}
	b.versions["haproxy"] = haproxyVersion()
	return st, nil
}

// stackClient gives the bench a client of its own on the stack: the
// stack's own client is throttled by client-go's defaults (5 requests/s),
// the timed creates are not.
func (b *bench) stackClient(st *stack.Stack) error {
	cfg := rest.CopyConfig(st.Config)
	cfg.QPS, cfg.Burst = -1, 0
	var err error
	b.client, err = client.NewWithWatch(cfg, client.Options{Scheme: controllers.NewScheme()})
	return err
}

// stopStack stops the stack and notes on every scenario when it did not
// stop cleanly (a log file that lost writes, say).
func stopStack(st *stack.Stack, all []*Scenario) {
	if err := st.Stop(); err != nil {
		for _, s := range all {
			s.note("stopping the e2e stack: %v", err)
		}
	}
}

// rollout deploys app and rolls it out to v2 under 100 requests/s; on
// failure roll.Err says why and the result is nil.
func (b *bench) rollout(ctx context.Context, st *stack.Stack, roll *Scenario, app stack.App) *stack.RolloutResult {
	if err := st.Deploy(ctx, app); err != nil {
		roll.Err = err.Error()
		return nil
	}
	res, err := st.RollOut(ctx, stack.Rollout{App: app, ToImage: v2Plain, RPS: 100})
	if err != nil {
		roll.Err = err.Error()
		return nil
	}
	return res
}

// rolloutBaseline, unless the gated rollout failed, runs the same rollout
// behind beBaseline, whose pods have no gate (lbgate runs without its
// webhook by then), and reports the two.
func (b *bench) rolloutBaseline(ctx context.Context, st *stack.Stack, roll *Scenario, gated stack.App, withGates *stack.RolloutResult) {
	if roll.Err != "" {
		return
	}
	base := gated
	base.Namespace, base.Backend = "roll-baseline", beBaseline
	b.progress("rollout without gates")
	if without := b.rollout(ctx, st, roll, base); without != nil {
		reportRollout(roll, withGates, without)
	}
}

// webhooks times pod creates with lbgate's webhook, then restarts lbgate
// without it and times them again. Its error is the restart's: the stack
// has no lbgate then.
func (b *bench) webhooks(ctx context.Context, st *stack.Stack, hook *Scenario) error {
	const hookNS = "hook"
	b.progress("webhook with lbgate's webhook")
	withHook, hookErr := b.admission(ctx, hookNS, true)

	b.progress("restarting lbgate without its webhook")
	if err := st.RestartOperator(ctx, false); err != nil {
		return err
	}
	b.progress("webhook: without it")
	noHook, noHookErr := b.admission(ctx, hookNS, false)
	if hookErr != nil || noHookErr != nil {
		hook.Err = fmt.Sprint(hookErr, "; ", noHookErr)
		return nil
	}
	b.reportAdmission(hook, withHook, noHook)
	return nil
}

// latency deploys latencyPods pods at once behind an HAProxy backend with
// declared slots (check inter 200ms rise 2) and compares, per pod, when
// HAProxy marked it UP with when its gate turned True.
func (b *bench) latency(ctx context.Context, st *stack.Stack, sc *Scenario) error {
	app := stack.App{Namespace: "latency", Name: "lat", Backend: beLatency, Replicas: latencyPods, Image: stack.ImageV1}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	gates, err := watchGates(watchCtx, st.Client, "", map[string]string{"app": app.Name})
	if err != nil {
		return err
	}
	up := pollUp(watchCtx, st, beLatency, 20*time.Millisecond)
	profile := filepath.Join(b.dir, "stack", "latency-cpu.pprof")
	op := &operatorProc{Pprof: b.stackPprof}
	waitProfile := op.profileCPU(10, profile)
	if err := st.Deploy(ctx, app); err != nil {
		return err
	}
	if err := waitProfile(); err != nil {
		sc.note("CPU profile: %v", err)
	} else {
		sc.note("CPU profile of lbgate for the first 10 s of the Deployment (%s), go tool pprof -top:\n%s", profile, strings.Join(pprofTop(b.operator, profile), "\n"))
	}
	if n := gates.waitTrue(ctx, latencyPods, time.Minute); n < latencyPods {
		return fmt.Errorf("%d of %d gates True a minute after the Deployment was available", n, latencyPods)
	}
	stopWatch()
	upAt := up.wait()
	gateTrue, contReady, ips := gates.snapshot()
	var upToGate, readyToGate, readyToUp durations
	for key, g := range gateTrue {
		u, ok := upAt[ips[key]+":8080"]
		r, okR := contReady[key]
		if !ok || !okR {
			continue
		}
		upToGate = append(upToGate, g.Sub(u))
		readyToGate = append(readyToGate, g.Sub(r))
		readyToUp = append(readyToUp, u.Sub(r))
	}
	if len(upToGate) == 0 {
		return fmt.Errorf("no pod with all three times (ContainersReady, HAProxy UP, gate True)")
	}
	ratio := float64(readyToGate.sum()) / float64(readyToUp.sum())
	sc.row("pods measured", fmt.Sprintf("%d", len(upToGate)), "")
	sc.target("HAProxy UP → gate True p50 / p99", fmt.Sprintf("%s / %s", fmtDur(upToGate.quantile(0.5)), fmtDur(upToGate.quantile(0.99))), "", "p99 ≤ +250ms", upToGate.quantile(0.99) <= 250*time.Millisecond)
	sc.row("container ready → gate True p50 / p99", fmt.Sprintf("%s / %s", fmtDur(readyToGate.quantile(0.5)), fmtDur(readyToGate.quantile(0.99))), "")
	sc.row("container ready → HAProxy UP p50 / p99 (the limit)", fmt.Sprintf("%s / %s", fmtDur(readyToUp.quantile(0.5)), fmtDur(readyToUp.quantile(0.99))), "")
	sc.target("(ready → gate) / (ready → UP), summed over pods", fmt.Sprintf("%.2f", ratio), "", "≤ 1.2", ratio <= 1.2)
	sc.note("times are when the bench saw them: pod conditions on a watch, HAProxy UP by `show stat` every 20 ms (so UP is late by 10 ms on average, which flatters lbgate by as much)")
	sc.Data["pods"] = float64(len(upToGate))
	sc.Data["upToGateP50Ms"], sc.Data["upToGateP99Ms"] = ms(upToGate.quantile(0.5)), ms(upToGate.quantile(0.99))
	sc.Data["readyToGateP50Ms"], sc.Data["readyToGateP99Ms"] = ms(readyToGate.quantile(0.5)), ms(readyToGate.quantile(0.99))
	sc.Data["readyToUpP50Ms"], sc.Data["readyToUpP99Ms"] = ms(readyToUp.quantile(0.5)), ms(readyToUp.quantile(0.99))
	sc.Data["ratio"] = ratio
	return nil
}

// upPoll records when each server of an HAProxy backend is first seen UP.
type upPoll struct {
	mu   sync.Mutex
	at   map[string]time.Time
	done chan struct{}
}

func pollUp(ctx context.Context, st *stack.Stack, backend string, every time.Duration) *upPoll {
	p := &upPoll{at: map[string]time.Time{}, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			servers, err := st.Servers(backend)
			now := time.Now()
			if err == nil {
				p.mu.Lock()
				for addr, s := range servers {
					if _, seen := p.at[addr]; !seen && s.Up() {
						p.at[addr] = now
					}
				}
				p.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// wait waits for the poll to end (its context) and returns what it saw.
func (p *upPoll) wait() map[string]time.Time {
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.at
}

func reportRollout(sc *Scenario, gated, base *stack.RolloutResult) {
	ratio := gated.Duration.Seconds() / base.Duration.Seconds()
	sc.row("rollout time", fmtDur(gated.Duration), fmtDur(base.Duration))
	sc.row("ratio with / without gates", fmt.Sprintf("%.2f", ratio), "")
	sc.row("requests sent", fmt.Sprint(gated.Load.Sent), fmt.Sprint(base.Load.Sent))
	sc.row("failed requests", fmt.Sprint(gated.Load.Failed), fmt.Sprint(base.Load.Failed))
	sc.row("pods Ready before HAProxy had them UP", fmt.Sprintf("%d of %d", len(gated.EarlyReady), gated.ReadyPods), fmt.Sprintf("%d of %d", len(base.EarlyReady), base.ReadyPods))
	sc.note("baseline column: the same rollout with lbgate bound to HAProxy but no readiness gates (webhook off)")
	if base.Load.Failed > 0 {
		sc.note("failures without gates: %v", base.Load.FailedByKind)
	}
	sc.Data["gatedSeconds"], sc.Data["baselineSeconds"], sc.Data["ratio"] = gated.Duration.Seconds(), base.Duration.Seconds(), ratio
	sc.Data["gatedFailed"], sc.Data["baselineFailed"] = float64(gated.Load.Failed), float64(base.Load.Failed)
}
