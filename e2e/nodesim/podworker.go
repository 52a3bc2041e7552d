package nodesim

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// retryDelay is how soon a failed API write is tried again.
const retryDelay = time.Second

// errPodGone means the pod is no longer on the server (or is another pod of the same name).
var errPodGone = errors.New("pod is gone")

// podWorker plays the kubelet for one pod, from its start until it is
// deleted: it owns the pod's address, its containers' apps and probes, and
// writes the pod's status. One goroutine runs its loop; probes and the
// termination run in goroutines of their own that report back through wake.
type podWorker struct {
	sim  *Simulator
	node *simNode
	uid  types.UID
	key  types.NamespacedName
	log  logr.Logger

	wake chan struct{}
	wg   sync.WaitGroup

	mu          sync.Mutex
	latest      *corev1.Pod
	gone        bool
	full        bool
	started     bool
	ip          netip.Addr
	allocated   bool
	hostIP      string
	startTime   time.Time
	containers  []*container
	terminating bool
	cut         context.CancelFunc
	cutCtx      context.Context
	stopped     bool
}

func newPodWorker(s *Simulator, node *simNode, pod *corev1.Pod) *podWorker {
	key := types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}
	return &podWorker{
		sim: s, node: node, uid: pod.UID, key: key, latest: pod,
		log:  s.log.WithValues("pod", key.String(), "node", node.opts.Name),
		wake: make(chan struct{}, 1),
	}
}

// update hands the worker the newest copy of its pod from the informer.
func (w *podWorker) update(pod *corev1.Pod) {
	w.mu.Lock()
	w.latest = pod
	w.mu.Unlock()
	w.kick(false)
}

// markGone tells the worker its pod was removed from the API.
func (w *podWorker) markGone() {
	w.mu.Lock()
	w.gone = true
	if w.cut != nil {
		w.cut()
	}
	w.mu.Unlock()
	w.kick(false)
}

// kick wakes the worker; full asks for a status write checked against a
// fresh copy from the server instead of the informer's copy.
func (w *podWorker) kick(full bool) {
	if full {
		w.mu.Lock()
		w.full = true
		w.mu.Unlock()
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run is the worker's loop. It returns when the pod is gone or the simulator stops.
func (w *podWorker) run(ctx context.Context) {
	defer w.sim.workerDone(w)
	defer w.cleanup()
	resync := time.NewTicker(w.sim.opts.StatusResync)
	defer resync.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		done, err := w.step(ctx)
		if done || ctx.Err() != nil {
			return
		}
		if err != nil {
			w.log.Error(err, "Pod sync failed; retrying")
			retry.Reset(retryDelay)
		}
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-resync.C:
			w.kick(true)
		case <-retry.C:
			w.kick(true)
		}
	}
}

// step does what the pod needs next and reports whether the worker is done.
func (w *podWorker) step(ctx context.Context) (bool, error) {
	w.mu.Lock()
	pod, gone, started, terminating, stopped := w.latest, w.gone, w.started, w.terminating, w.stopped
	w.mu.Unlock()

	if !started {
		switch {
		case gone:
			return true, nil
		case pod.DeletionTimestamp != nil:
			// Deleted before it ran here: nothing to stop.
			return w.deletePod(ctx)
		}
		if err := w.start(ctx, pod); err != nil {
			return false, err
		}
		w.kick(true)
		return false, nil
	}
	if (gone || pod.DeletionTimestamp != nil) && !terminating {
		grace := int64(0)
		if !gone {
			grace = gracePeriodSeconds(pod)
		}
		w.beginTermination(ctx, grace)
	}
	switch {
	case gone:
		return stopped, nil
	case stopped:
		// Containers stopped: report the terminal phase, tear the sandbox
		// down (its address goes back to the pool, as CNI DEL does when the
		// kubelet stops the sandbox), and only then remove the pod.
		if err := w.sync(ctx); err != nil {
			if errors.Is(err, errPodGone) {
				return true, nil
			}
			return false, err
		}
		w.releaseAddress()
		return w.deletePod(ctx)
	}
	err := w.sync(ctx)
	if errors.Is(err, errPodGone) {
		w.markGone()
		return false, nil
	}
	return false, err
}

// start gives the pod its address and starts its containers.
func (w *podWorker) start(ctx context.Context, pod *corev1.Pod) error {
	ip, allocated, err := w.address(pod)
	if err != nil {
		return fmt.Errorf("no pod address: %w", err)
	}
	now := time.Now()
	var cs []*container
	for _, ic := range pod.Spec.InitContainers {
		cs = append(cs, newContainer(ic, !isSidecar(&ic), pod.UID))
	}
	for _, c := range pod.Spec.Containers {
		cs = append(cs, newContainer(c, false, pod.UID))
	}
	w.mu.Lock()
	w.ip, w.allocated, w.hostIP, w.startTime, w.containers, w.started = ip, allocated, w.node.opts.InternalIP.String(), now, cs, true
	for _, c := range cs {
		c.start(pod.Name, ip, now, w.log)
		if c.configErr != nil {
			w.log.Error(c.configErr, "Container cannot start", "container", c.spec.Name)
		}
		if c.probe != nil && c.running() {
			w.wg.Add(1)
			go w.runProbes(ctx, c)
		}
	}
	w.mu.Unlock()
	w.log.Info("Pod started", "ip", ip.String())
	return nil
}

// address picks the pod's IP: the node's for hostNetwork pods, the one it
// already has when it is in its ranges and free (the simulator restarted),
// else a free address from its ranges on which none of its ports is taken.
func (w *podWorker) address(pod *corev1.Pod) (netip.Addr, bool, error) {
	if pod.Spec.HostNetwork {
		return w.node.opts.InternalIP, false, nil
	}
	ranges, err := podRanges(pod, w.node.opts, w.sim.opts)
	if err != nil {
		return netip.Addr{}, false, err
	}
	owner := w.key.String()
	if old, err := netip.ParseAddr(pod.Status.PodIP); err == nil && inRanges(old, ranges) {
		if err := w.sim.ipam.reserve(old, owner); err != nil {
			return netip.Addr{}, false, err
		}
		return old, true, nil
	}
	ports := podPorts(pod)
	free := func(a netip.Addr) bool { return portsFree(a, ports) }
	if pod.Annotations[AnnotationStickyAddress] == "true" {
		if ip, ok := w.sim.ipam.allocateLast(ranges, owner, free); ok {
			return ip, true, nil
		}
	}
	ip, err := w.sim.ipam.allocate(ranges, owner, free)
	return ip, err == nil, err
}

// view snapshots what the worker knows, for buildStatus. Call with w.mu held.
func (w *podWorker) viewLocked() podView {
	v := podView{HostIP: w.hostIP, PodIP: w.ip.String(), StartTime: metav1.NewTime(truncate(w.startTime)), Phase: corev1.PodPending}
	var exits []int32
	anyRunning := false
	for _, c := range w.containers {
		st := c.status()
		if c.initOnly || isSidecar(&c.spec) {
			v.InitContainers = append(v.InitContainers, st)
		} else {
			v.Containers = append(v.Containers, st)
		}
		if c.initOnly {
			continue
		}
		switch {
		case c.running():
			anyRunning = true
		case c.terminated:
			exits = append(exits, c.exitCode)
		default:
			exits = append(exits, 1) // never started
		}
	}
	switch {
	case w.stopped:
		v.Phase = terminalPhase(exits)
	case anyRunning:
		v.Phase = corev1.PodRunning
	}
	return v
}

// sync writes the pod's status when it differs from the server's. Unless a
// full sync is due, it first compares with the informer's copy and skips
// the round trip when nothing changed (an event caused by its own write);
// otherwise it reads the pod, builds the status on that copy, and sends a
// strategic-merge patch carrying the pod UID, as the kubelet's status manager.
func (w *podWorker) sync(ctx context.Context) error {
	w.mu.Lock()
	full, cached, v := w.full, w.latest, w.viewLocked()
	w.full = false
	w.mu.Unlock()
	now := metav1.NewTime(truncate(time.Now()))
	if !full {
		if _, unchanged, err := statusPatch(cached.UID, cached.Status, buildStatus(cached, v, now)); err == nil && unchanged {
			return nil
		}
	}
	err := w.writeStatus(ctx, v, now)
	if err != nil && !errors.Is(err, errPodGone) {
		w.kick(true)
	}
	return err
}

// writeStatus reads the pod from the server and patches its status.
func (w *podWorker) writeStatus(ctx context.Context, v podView, now metav1.Time) error {
	pods := w.sim.client.CoreV1().Pods(w.key.Namespace)
	pod, err := pods.Get(ctx, w.key.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return errPodGone
	case err != nil:
		return err
	case pod.UID != w.uid:
		return errPodGone
	}
	st := buildStatus(pod, v, now)
	patch, unchanged, err := statusPatch(pod.UID, pod.Status, st)
	if err != nil || unchanged {
		return err
	}
	if _, err := pods.Patch(ctx, w.key.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return errPodGone
		}
		return fmt.Errorf("patch status: %w", err)
	}
	if w.log.V(1).Enabled() {
		w.log.V(1).Info("Status written", "phase", st.Phase, "patch", string(patch))
	}
	return nil
}

// deletePod removes the pod as the kubelet does once its containers
// stopped: grace period 0 and the pod's UID as precondition.
func (w *podWorker) deletePod(ctx context.Context) (bool, error) {
	uid := w.uid
	err := w.sim.client.CoreV1().Pods(w.key.Namespace).Delete(ctx, w.key.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64(0)),
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return false, fmt.Errorf("delete pod: %w", err)
	}
	w.log.Info("Pod removed")
	return true, nil
}

// runProbes runs a container's readiness probe: first when the initial
// delay has passed, then every period (a ticker, as the kubelet's worker),
// until the container stops.
func (w *podWorker) runProbes(ctx context.Context, c *container) {
	defer w.wg.Done()
	w.mu.Lock()
	first, s, podIP := c.startedAt.Add(c.settings.InitialDelay), c.settings, w.ip.String()
	w.mu.Unlock()
	if !waitUntil(ctx, c.stopProbe, first) {
		return
	}
	tick := time.NewTicker(s.Period)
	defer tick.Stop()
	for {
		// Always due here (the first probe waited for the initial delay);
		// kept as the kubelet's check.
		if probeDue(c.startedAt, time.Now(), s) {
			w.probeOnce(ctx, c, podIP)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.stopProbe:
			return
		case <-tick.C:
		}
	}
}

// probeOnce runs one readiness probe and records its result.
func (w *podWorker) probeOnce(ctx context.Context, c *container, podIP string) {
	res, err := w.sim.prober.probe(ctx, c.spec.ReadinessProbe, &c.spec, podIP)
	if err != nil {
		// A prober error: the kubelet throws the result away.
		w.log.V(1).Info("Readiness probe errored", "container", c.spec.Name, "error", err.Error())
		return
	}
	w.mu.Lock()
	changed := c.observe(res)
	ready := c.probe.Ready()
	w.mu.Unlock()
	if changed {
		w.log.Info("Container readiness changed", "container", c.spec.Name, "ready", ready)
		w.kick(true)
	}
}

// waitUntil waits for t unless ctx ends or stop closes first.
func waitUntil(ctx context.Context, stop <-chan struct{}, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	case <-stop:
		return false
	}
}

// cleanup stops whatever still runs, waits for the worker's goroutines,
// and releases the pod's address.
func (w *podWorker) cleanup() {
	w.mu.Lock()
	cs := w.containers
	if w.cut != nil {
		w.cut()
	}
	w.mu.Unlock()
	for _, c := range cs {
		c.endProbe()
		if c.app != nil {
			c.app.kill()
		}
	}
	w.wg.Wait()
	w.releaseAddress()
}

// releaseAddress stops the probes and returns the pod's address to the pool, once.
func (w *podWorker) releaseAddress() {
	w.mu.Lock()
	cs := w.containers
	w.mu.Unlock()
	for _, c := range cs {
		c.endProbe()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.allocated {
		w.sim.ipam.release(w.ip)
		w.allocated = false
		w.log.V(1).Info("Address released", "ip", w.ip.String())
	}
}

// setStatusCodes changes the status codes of the readiness path and of
// /healthz (0 keeps one as it is) on every container of the pod.
func (w *podWorker) setStatusCodes(readiness, healthz int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.containers {
		if readiness != 0 {
			c.state.readinessStatus.Store(int32(readiness))
		}
		if healthz != 0 {
			c.state.healthzStatus.Store(int32(healthz))
		}
	}
}
