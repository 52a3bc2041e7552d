package nodesim

import (
	"context"
	"io"
	"sync"
	"time"
)

// beginTermination starts killing the pod's running containers with the
// given grace period, as the kubelet does after a delete (KUBELET-RULES
// "Termination"). Containers are stopped in parallel; each runs its preStop
// hook, then gets SIGTERM (graceful shutdown of its servers), then SIGKILL
// when the rest of the grace period runs out. Probes keep running until
// each container has stopped.
func (w *podWorker) beginTermination(ctx context.Context, grace int64) {
	w.mu.Lock()
	w.terminating = true
	w.cutCtx, w.cut = context.WithCancel(ctx)
	if w.gone {
		w.cut()
	}
	cutCtx := w.cutCtx
	var running []*container
	for _, c := range w.containers {
		if c.running() {
			running = append(running, c)
		}
	}
	w.mu.Unlock()
	w.log.Info("Stopping pod", "gracePeriodSeconds", grace, "containers", len(running))
	w.wg.Add(1)
	go w.terminate(ctx, cutCtx, grace, running)
}

// terminate kills the containers and marks the pod stopped.
func (w *podWorker) terminate(ctx, cutCtx context.Context, grace int64, running []*container) {
	defer w.wg.Done()
	var wg sync.WaitGroup
	for _, c := range running {
		wg.Go(func() {
			code := w.killContainer(ctx, cutCtx, c, grace)
			w.mu.Lock()
			c.exited(code, time.Now())
			w.mu.Unlock()
			w.log.Info("Container stopped", "container", c.spec.Name, "exitCode", code)
			w.kick(true)
		})
	}
	wg.Wait()
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	w.kick(true)
}

// killContainer is the kubelet's killContainer for one container: preStop
// with the whole grace period as timeout, then SIGTERM with what is left of
// it (at least 2 s) before SIGKILL. When the pod disappears from the API
// meanwhile (cutCtx ends: a force delete), preStop is cut short and the
// stop window is the minimum. It returns the exit code.
func (w *podWorker) killContainer(ctx, cutCtx context.Context, c *container, grace int64) int32 {
	start := time.Now()
	if runsPreStop(&c.spec, grace) {
		w.runPreStop(cutCtx, c, preStopTimeout(grace))
	}
	window := stopWindow(grace, time.Since(start))
	if cutCtx.Err() != nil && ctx.Err() == nil {
		window = stopWindow(0, 0)
	}
	w.log.V(1).Info("Sending SIGTERM", "container", c.spec.Name, "window", window.String())
	return c.app.stop(ctx, window)
}

// runPreStop runs a preStop hook until it ends or timeout passes. sleep
// sleeps, httpGet sends the request to the pod, exec cannot run here and
// returns at once. The container keeps serving meanwhile.
func (w *podWorker) runPreStop(ctx context.Context, c *container, timeout time.Duration) {
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	h := c.spec.Lifecycle.PreStop
	begin := time.Now()
	switch {
	case h.Sleep != nil:
		d, _ := preStopSleep(&c.spec)
		sleepCtx(hctx, d)
	case h.HTTPGet != nil:
		w.mu.Lock()
		ip := w.ip.String()
		w.mu.Unlock()
		req, err := httpGetRequest(hctx, h.HTTPGet, &c.spec, ip)
		if err != nil {
			w.log.Error(err, "PreStop hook failed", "container", c.spec.Name)
			break
		}
		res, err := w.sim.prober.transport.RoundTrip(req)
		if err != nil {
			w.log.Error(err, "PreStop hook failed", "container", c.spec.Name)
			break
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
	default:
		w.log.Info("PreStop exec hooks cannot run in the simulator; skipped", "container", c.spec.Name)
	}
	w.log.V(1).Info("PreStop hook done", "container", c.spec.Name, "took", time.Since(begin).String())
}
