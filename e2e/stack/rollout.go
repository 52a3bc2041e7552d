package stack

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/e2e/loadgen"
)

// Rollout is a rolling update under load.
type Rollout struct {
	App App
	// ToImage is the new image.
	ToImage string
	// RPS and Mode of the load through HAProxy (defaults 100 rps, keep-alive).
	RPS  int
	Mode loadgen.Mode
	// Before and After are how long the load runs before the update starts and after it ends (default 2 s each).
	Before, After time.Duration
	// Timeout bounds the rollout (default 4 minutes).
	Timeout time.Duration
	// During runs once the update has started, in parallel with it (a fault to inject), if set.
	During func(ctx context.Context) error
	// ExpectStall: the rollout is expected not to finish; the load stops after Timeout.
	ExpectStall bool
}

// RolloutResult is what a rollout showed.
type RolloutResult struct {
	Load     *loadgen.Report
	Duration time.Duration
	Finished bool
	// EarlyReady lists pods that turned Ready while the load balancer did not yet send them traffic after a passed check.
	EarlyReady []string
	// ReadyPods is how many pods turned Ready during the rollout.
	ReadyPods int
}

// RollOut runs a rolling update under load and reports failed requests,
// rollout time, and every pod that turned Ready before the load balancer had it up.
func (s *Stack) RollOut(ctx context.Context, r Rollout) (*RolloutResult, error) {
	if r.RPS == 0 {
		r.RPS = 100
	}
	if r.Before == 0 {
		r.Before = 2 * time.Second
	}
	if r.After == 0 {
		r.After = 2 * time.Second
	}
	if r.Timeout == 0 {
		r.Timeout = 4 * time.Minute
	}
	res := &RolloutResult{}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	early, err := s.watchReady(watchCtx, r.App)
	if err != nil {
		return nil, err
	}

	url, err := s.lbOf(r.App).Frontend(r.App.Backend)
	if err != nil {
		return nil, err
	}
	gen, err := loadgen.Start(ctx, loadgen.Options{
		URL: url + "/", RPS: float64(r.RPS), Mode: r.Mode,
		Duration: r.Before + r.Timeout + r.After + time.Minute, // stopped explicitly below
	})
	if err != nil {
		return nil, err
	}
	defer gen.Stop()
	if err := sleep(ctx, r.Before); err != nil {
		return nil, err
	}

	began := time.Now()
	if err := s.SetImage(ctx, r.App, r.ToImage); err != nil {
		return nil, err
	}
	faultErr := make(chan error, 1)
	if r.During != nil {
		go func() { faultErr <- r.During(ctx) }()
	} else {
		faultErr <- nil
	}
	rolloutErr := s.WaitRolledOut(ctx, r.App, r.Timeout)
	res.Duration = time.Since(began)
	res.Finished = rolloutErr == nil
	if err := <-faultErr; err != nil {
		return nil, fmt.Errorf("fault injection: %w", err)
	}
	if rolloutErr != nil && !r.ExpectStall {
		return nil, rolloutErr
	}
	if err := sleep(ctx, r.After); err != nil {
		return nil, err
	}
	res.Load = gen.Stop()
	stopWatch()
	res.EarlyReady, res.ReadyPods = early.result()
	return res, nil
}

// readyWatch records pods of an app that turn Ready, and which of them HAProxy did not have up at that moment.
type readyWatch struct {
	mu    sync.Mutex
	seen  map[string]bool
	early []string
}

func (w *readyWatch) result() ([]string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := append([]string(nil), w.early...)
	sort.Strings(out)
	return out, len(w.seen)
}

func (s *Stack) watchReady(ctx context.Context, a App) (*readyWatch, error) {
	rw := &readyWatch{seen: map[string]bool{}}
	initial := &corev1.PodList{}
	if err := s.Client.List(ctx, initial, client.InNamespace(a.Namespace), client.MatchingLabels{"app": a.Name}); err != nil {
		return nil, err
	}
	already := map[string]bool{}
	for _, p := range initial.Items {
		if podReady(&p) {
			already[p.Name] = true
		}
	}
	w, err := s.Client.Watch(ctx, &corev1.PodList{}, client.InNamespace(a.Namespace), client.MatchingLabels{"app": a.Name})
	if err != nil {
		return nil, err
	}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type == watch.Deleted || already[pod.Name] || !podReady(pod) || pod.DeletionTimestamp != nil {
				continue
			}
			rw.mu.Lock()
			if rw.seen[pod.Name] {
				rw.mu.Unlock()
				continue
			}
			rw.seen[pod.Name] = true
			rw.mu.Unlock()
			servers, err := s.lbOf(a).Servers(a.Backend)
			addr := net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(8080))
			if err != nil || !servers[addr].Up() {
				state := "absent"
				if sv, ok := servers[addr]; ok {
					state = sv.Status + "/" + sv.CheckStatus
				}
				rw.mu.Lock()
				rw.early = append(rw.early, fmt.Sprintf("%s (load balancer: %s)", pod.Name, state))
				rw.mu.Unlock()
			}
		}
	}()
	return rw, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// Summary renders a rollout result in a few lines.
func (r *RolloutResult) Summary(title string) string {
	var b strings.Builder
	l := r.Load
	fmt.Fprintf(&b, "%s: %d requests, %d failed %v, p99 %s, rollout %s, %d of %d pods Ready before the load balancer had them up\n",
		title, l.Sent, l.Failed, l.FailedByKind, l.Latency.P99.Round(time.Millisecond), r.Duration.Round(100*time.Millisecond), len(r.EarlyReady), r.ReadyPods)
	return b.String()
}
