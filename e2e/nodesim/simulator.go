package nodesim

import (
	"context"
	"fmt"
	"net/netip"
	"sync"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
)

// Simulator plays the kubelet for the pods bound to its Nodes. Create it
// with Start and end it with Stop.
type Simulator struct {
	opts   Options
	log    logr.Logger
	client kubernetes.Interface
	ipam   *ipam
	prober *prober
	nodes  map[string]*simNode

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	stop   sync.Once

	mu       sync.Mutex
	pods     map[types.UID]*podWorker
	finished map[types.UID]bool
}

// Start registers the Nodes, waits until they are Ready and untainted and
// the pod watches are in sync, and then plays the kubelet for their pods
// until Stop is called or ctx ends. Start itself gives up after
// Options.StartTimeout. On error nothing is left running.
func Start(ctx context.Context, opts Options) (*Simulator, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(o.Config)
	if cfg.QPS == 0 && cfg.Burst == 0 {
		cfg.QPS, cfg.Burst = 50, 100 // the kubelet's defaults
	}
	cfg.UserAgent = "nodesim"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("nodesim: client: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	s := &Simulator{
		opts: o, log: o.Logger, client: client, ipam: newIPAM(), prober: newProber(),
		nodes: map[string]*simNode{}, ctx: runCtx, cancel: cancel,
		pods: map[types.UID]*podWorker{}, finished: map[types.UID]bool{},
	}
	if err := s.start(runCtx); err != nil {
		s.Stop()
		return nil, err
	}
	s.log.Info("Node simulator started", "nodes", len(s.nodes))
	return s, nil
}

// start registers the nodes and starts their heartbeats and pod watches.
func (s *Simulator) start(runCtx context.Context) error {
	ctx, cancel := context.WithTimeout(runCtx, s.opts.StartTimeout)
	defer cancel()
	if err := s.ensureLeaseNamespace(ctx); err != nil {
		return fmt.Errorf("nodesim: namespace %s: %w", corev1.NamespaceNodeLease, err)
	}
	var synced []toolscache.InformerSynced
	for _, no := range s.opts.Nodes {
		n := &simNode{opts: no, log: s.log.WithValues("node", no.Name)}
		if err := s.registerNode(ctx, n); err != nil {
			return fmt.Errorf("nodesim: register node %s: %w", no.Name, err)
		}
		s.nodes[no.Name] = n
		s.wg.Go(func() { s.heartbeat(runCtx, n) })
		synced = append(synced, s.watchPods(runCtx, n))
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), synced...) {
		return fmt.Errorf("nodesim: pod watches did not sync: %w", context.Cause(ctx))
	}
	return nil
}

// Stop ends the simulator as if its kubelets were killed: every HTTP
// server closes, probes and heartbeats stop, and Stop returns once every
// goroutine it started has ended. Pods and Nodes stay on the server as they
// are. Stop may be called more than once.
func (s *Simulator) Stop() {
	s.stop.Do(func() {
		s.cancel()
		s.wg.Wait()
		s.prober.close()
		s.log.Info("Node simulator stopped")
	})
}

// NodeNames lists the simulated Nodes.
func (s *Simulator) NodeNames() []string {
	names := make([]string, 0, len(s.opts.Nodes))
	for _, n := range s.opts.Nodes {
		names = append(names, n.Name)
	}
	return names
}

// AddressesInUse returns the pod addresses currently held, with the
// namespace/name of the pod holding each. An address is released once its
// pod's servers are closed and the pod is deleted.
func (s *Simulator) AddressesInUse() map[netip.Addr]string { return s.ipam.snapshot() }

// SetReadinessStatus makes the readiness-probe path of every container of
// a running pod answer with code from now on (for example 500 to make the
// probe fail), as an app that turns unready at run time.
func (s *Simulator) SetReadinessStatus(pod types.NamespacedName, code int) error {
	return s.setStatusCodes(pod, code, 0)
}

// SetHealthzStatus makes /healthz of every container of a running pod
// answer with code from now on.
func (s *Simulator) SetHealthzStatus(pod types.NamespacedName, code int) error {
	return s.setStatusCodes(pod, 0, code)
}

func (s *Simulator) setStatusCodes(key types.NamespacedName, readiness, healthz int) error {
	for _, code := range []int{readiness, healthz} {
		if code != 0 && (code < 100 || code > 599) {
			return fmt.Errorf("nodesim: %d is not an HTTP status code", code)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.pods {
		if w.key == key {
			w.mu.Lock()
			started := w.started
			w.mu.Unlock()
			if !started {
				break
			}
			w.setStatusCodes(readiness, healthz)
			return nil
		}
	}
	return fmt.Errorf("nodesim: pod %s does not run on a simulated node", key)
}

// podEvent handles an added or updated pod of node n.
func (s *Simulator) podEvent(n *simNode, pod *corev1.Pod) {
	if s.ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if w, ok := s.pods[pod.UID]; ok {
		w.update(pod)
		return
	}
	if s.finished[pod.UID] {
		return
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		if pod.DeletionTimestamp != nil {
			// A terminal pod left behind (the simulator restarted): remove it.
			s.finished[pod.UID] = true
			s.wg.Go(func() { s.deleteTerminal(pod) })
		}
		return
	}
	w := newPodWorker(s, n, pod)
	s.pods[pod.UID] = w
	s.wg.Go(func() { w.run(s.ctx) })
}

// podDeleted handles a pod that was removed from the API.
func (s *Simulator) podDeleted(pod *corev1.Pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.finished, pod.UID)
	if w, ok := s.pods[pod.UID]; ok {
		w.markGone()
	}
}

// workerDone forgets a pod whose worker ended. Its later events (the
// informer may still deliver some) must not start it again.
func (s *Simulator) workerDone(w *podWorker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pods, w.uid)
	w.mu.Lock()
	gone := w.gone
	w.mu.Unlock()
	if !gone {
		s.finished[w.uid] = true
	}
}

// deleteTerminal removes a terminal pod with a deletion timestamp.
func (s *Simulator) deleteTerminal(pod *corev1.Pod) {
	uid := pod.UID
	err := s.client.CoreV1().Pods(pod.Namespace).Delete(s.ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64(0)), Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && s.ctx.Err() == nil {
		s.log.Error(err, "Cannot remove terminal pod", "pod", pod.Namespace+"/"+pod.Name)
	}
}
