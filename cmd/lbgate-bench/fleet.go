package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

// fleet builds pods and Services on an envtest control plane, where no
// kubelet runs: the bench sets each pod Running with an IP and its
// containers ready (one status write), as a kubelet would once the
// readiness probe passed. Nothing recomputes Ready from the gates: the
// scenarios measure the gate, which is lbgate's write.
type fleet struct {
	c client.WithWatch
	// next pod IP index: pods get 10.x.y.z from it.
	next atomic.Uint32
}

// benchLabel marks every object the bench creates.
const benchLabel = "lbgate.dev/bench"

func (f *fleet) namespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := f.c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// service creates an opted-in Service selecting app=name, bound to the fake target tg-<ns>-<name>.
func (f *fleet) service(ctx context.Context, ns, name string) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{benchLabel: "true"}, Annotations: map[string]string{
			v1alpha1.AnnotationDirectAccess: "true",
			v1alpha1.AnnotationLoadBalancer: "tg-" + ns + "-" + name,
		}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
	return f.c.Create(ctx, svc)
}

// podSpec is a pod of app, with the gate of group gate when gate is not empty.
func podSpec(ns, name, app, gate string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": app, benchLabel: "true"}},
		Spec: corev1.PodSpec{
			NodeName: "bench-node",
			Containers: []corev1.Container{{
				Name: "app", Image: "example.com/web:v1",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			}},
		},
	}
	if gate != "" {
		pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: corev1.PodConditionType(v1alpha1.GateConditionType(gate))}}
	}
	return pod
}

// podIP hands out the next address in 10.0.0.0/8.
func (f *fleet) podIP() string {
	i := f.next.Add(1)
	return fmt.Sprintf("10.%d.%d.%d", (i>>16)&255, (i>>8)&255, i&255)
}

// runPod creates the pod, then makes it Running with an IP and its
// containers ready, with a strategic merge patch that leaves any condition
// lbgate wrote alone. It returns the pod's IP.
func (f *fleet) runPod(ctx context.Context, pod *corev1.Pod, withStatus bool) (string, error) {
	if err := f.c.Create(ctx, pod); err != nil {
		return "", fmt.Errorf("creating pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if !withStatus {
		return "", nil
	}
	ip := f.podIP()
	now := metav1.Now()
	ready := corev1.ConditionTrue
	podReady := corev1.ConditionFalse // the gate is not True yet
	if len(pod.Spec.ReadinessGates) == 0 {
		podReady = corev1.ConditionTrue
	}
	status := map[string]any{"status": corev1.PodStatus{
		Phase:     corev1.PodRunning,
		PodIP:     ip,
		PodIPs:    []corev1.PodIP{{IP: ip}},
		StartTime: &now,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: ready, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: podReady, LastTransitionTime: now},
		},
		ContainerStatuses: []corev1.ContainerStatus{{
			Name: "app", Image: "example.com/web:v1", Ready: true, Started: ptr(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		}},
	}}
	b, err := json.Marshal(status)
	if err != nil {
		return "", err
	}
	if err := f.c.Status().Patch(ctx, pod, client.RawPatch(types.StrategicMergePatchType, b)); err != nil {
		return "", fmt.Errorf("running pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return ip, nil
}

// parallel runs fn(i) for i in [0,n) on workers goroutines and returns the first error.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// gateWatch records, for every pod with a readiness gate, when the bench
// first saw the gate True and (for pods the e2e stack runs) when it first
// saw ContainersReady True.
type gateWatch struct {
	mu        sync.Mutex
	gateTrue  map[string]time.Time // namespace/name
	contReady map[string]time.Time
	ips       map[string]string // namespace/name -> pod IP
	changed   chan struct{}
	trueTotal int
}

// watchGates watches pods (in namespace ns, "" for all) with the given labels until ctx ends.
func watchGates(ctx context.Context, c client.WithWatch, ns string, labels map[string]string) (*gateWatch, error) {
	g := &gateWatch{gateTrue: map[string]time.Time{}, contReady: map[string]time.Time{}, ips: map[string]string{}, changed: make(chan struct{}, 1)}
	opts := []client.ListOption{client.MatchingLabels(labels)}
	if ns != "" {
		opts = append(opts, client.InNamespace(ns))
	}
	w, err := c.Watch(ctx, &corev1.PodList{}, opts...)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			g.drain(ctx, w)
			w.Stop()
			// The apiserver ends watches (timeouts, a consumer too slow):
			// watch again; pods seen again keep their first times.
			for ctx.Err() == nil {
				if w, err = c.Watch(ctx, &corev1.PodList{}, opts...); err == nil {
					break
				}
				_ = sleepCtx(ctx, 100*time.Millisecond)
			}
			if ctx.Err() != nil {
				return
			}
		}
	}()
	return g, nil
}

// drain records the watch's events until it ends or ctx does.
func (g *gateWatch) drain(ctx context.Context, w watch.Interface) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.ResultChan():
			if !ok {
				return
			}
			if pod, isPod := ev.Object.(*corev1.Pod); isPod && ev.Type != watch.Deleted {
				g.observe(pod, time.Now())
			}
		}
	}
}

func (g *gateWatch) observe(pod *corev1.Pod, now time.Time) {
	key := pod.Namespace + "/" + pod.Name
	g.mu.Lock()
	defer g.mu.Unlock()
	if pod.Status.PodIP != "" {
		g.ips[key] = pod.Status.PodIP
	}
	for _, c := range pod.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch {
		case c.Type == corev1.ContainersReady:
			if _, seen := g.contReady[key]; !seen {
				g.contReady[key] = now
			}
		case len(pod.Spec.ReadinessGates) > 0 && c.Type == pod.Spec.ReadinessGates[0].ConditionType:
			if _, seen := g.gateTrue[key]; !seen {
				g.gateTrue[key] = now
				g.trueTotal++
				select {
				case g.changed <- struct{}{}:
				default:
				}
			}
		}
	}
}

// waitTrue waits until n gates are True or timeout passes; it returns how many are.
func (g *gateWatch) waitTrue(ctx context.Context, n int, timeout time.Duration) int {
	deadline := time.After(timeout)
	for {
		g.mu.Lock()
		got := g.trueTotal
		g.mu.Unlock()
		if got >= n {
			return got
		}
		select {
		case <-g.changed:
		case <-deadline:
			return got
		case <-ctx.Done():
			return got
		}
	}
}

// snapshot copies what the watch recorded.
func (g *gateWatch) snapshot() (gateTrue, contReady map[string]time.Time, ips map[string]string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	gateTrue, contReady, ips = map[string]time.Time{}, map[string]time.Time{}, map[string]string{}
	for k, v := range g.gateTrue {
		gateTrue[k] = v
	}
	for k, v := range g.contReady {
		contReady[k] = v
	}
	for k, v := range g.ips {
		ips[k] = v
	}
	return gateTrue, contReady, ips
}

func ptr[T any](v T) *T { return &v }

// waitGatesTrue lists the bench's pods every poll until n of them have
// their (first) gate True, and returns how many have.
func waitGatesTrue(ctx context.Context, c client.Client, n int, timeout, poll time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	for {
		pods := &corev1.PodList{}
		if err := c.List(ctx, pods, client.MatchingLabels{benchLabel: "true"}); err != nil {
			return 0, err
		}
		got := 0
		for i := range pods.Items {
			if gateIsTrue(&pods.Items[i]) {
				got++
			}
		}
		if got >= n || time.Now().After(deadline) {
			return got, nil
		}
		if err := sleepCtx(ctx, poll); err != nil {
			return got, err
		}
	}
}

func gateIsTrue(pod *corev1.Pod) bool {
	if len(pod.Spec.ReadinessGates) == 0 {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == pod.Spec.ReadinessGates[0].ConditionType {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
