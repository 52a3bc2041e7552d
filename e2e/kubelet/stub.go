package kubelet

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Stub plays the kubelet for pods on a real apiserver, without containers:
// the test says when a pod runs and when its containers are ready, and the
// stub keeps the pod's ContainersReady and Ready conditions as the kubelet
// would, recomputing Ready whenever a gate condition changes (the kubelet's
// HandlePodReconcile). It owns only the conditions the kubelet owns.
type Stub struct {
	Client client.WithWatch
	// NodeName is set on pods the stub runs.
	NodeName string

	mu   sync.Mutex
	next netip.Addr
}

// NewStub returns a stub that hands out pod IPs from 127.1.0.1 upwards.
func NewStub(c client.WithWatch, nodeName string) *Stub {
	return &Stub{Client: c, NodeName: nodeName, next: netip.MustParseAddr("127.1.0.1")}
}

// NextIP hands out the next free pod IP.
func (s *Stub) NextIP() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ip := s.next
	s.next = s.next.Next()
	return ip.String()
}

// RunPod gives a pod an IP, makes it Running with its containers started, and
// sets their readiness to ready.
func (s *Stub) RunPod(ctx context.Context, key client.ObjectKey, ready bool) (*corev1.Pod, error) {
	return s.RunPodAt(ctx, key, "", ready)
}

// RunPodAt is RunPod with a given pod IP (empty: the next free one), for pods
// whose application the test serves itself on that address.
func (s *Stub) RunPodAt(ctx context.Context, key client.ObjectKey, podIP string, ready bool) (*corev1.Pod, error) {
	return s.update(ctx, key, func(pod *corev1.Pod) {
		if pod.Status.PodIP == "" {
			ip := podIP
			if ip == "" {
				ip = s.NextIP()
			}
			pod.Status.PodIP = ip
			pod.Status.PodIPs = []corev1.PodIP{{IP: ip}}
		}
		pod.Status.Phase = corev1.PodRunning
		now := metav1.Now()
		pod.Status.StartTime = &now
		pod.Status.ContainerStatuses = nil
		for _, c := range pod.Spec.Containers {
			pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{
				Name: c.Name, Image: c.Image, Ready: ready, Started: ptr(true),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
			})
		}
		setCondition(pod, corev1.PodScheduled, corev1.ConditionTrue, "", "")
		setCondition(pod, corev1.PodInitialized, corev1.ConditionTrue, "", "")
	})
}

// SetContainersReady sets every container of the pod ready or not (its readiness probe result).
func (s *Stub) SetContainersReady(ctx context.Context, key client.ObjectKey, ready bool) (*corev1.Pod, error) {
	return s.update(ctx, key, func(pod *corev1.Pod) {
		for i := range pod.Status.ContainerStatuses {
			pod.Status.ContainerStatuses[i].Ready = ready
		}
	})
}

// Sync recomputes the pod's ContainersReady and Ready and writes them if they changed.
func (s *Stub) Sync(ctx context.Context, key client.ObjectKey) error {
	_, err := s.update(ctx, key, func(*corev1.Pod) {})
	return err
}

// FinishTermination removes a terminating pod the way the kubelet does once its containers stopped.
func (s *Stub) FinishTermination(ctx context.Context, pod *corev1.Pod) error {
	err := s.Client.Delete(ctx, pod, client.GracePeriodSeconds(0), client.Preconditions{UID: &pod.UID})
	return client.IgnoreNotFound(err)
}

// Run watches the pods of a namespace and recomputes Ready on every change
// until ctx ends, as the kubelet does when a gate condition changes.
func (s *Stub) Run(ctx context.Context, namespace string) {
	for ctx.Err() == nil {
		w, err := s.Client.Watch(ctx, &corev1.PodList{}, client.InNamespace(namespace))
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok || (ev.Type != watch.Added && ev.Type != watch.Modified) || pod.Status.Phase != corev1.PodRunning {
				continue
			}
			if !needsSync(pod) {
				continue
			}
			_ = s.Sync(ctx, client.ObjectKeyFromObject(pod))
		}
		w.Stop()
	}
}

// needsSync reports whether the kubelet's view of Ready differs from the pod's.
func needsSync(pod *corev1.Pod) bool {
	cs, _, _ := ContainersReady(pod)
	rs, _, _ := Ready(pod)
	cur := findCondition(pod.Status.Conditions, corev1.ContainersReady)
	ready := findCondition(pod.Status.Conditions, corev1.PodReady)
	return cur == nil || ready == nil || cur.Status != cs || ready.Status != rs
}

// update applies fn to a fresh copy of the pod, recomputes the kubelet's
// conditions, and writes the status with the pod's resourceVersion, retrying on conflicts.
func (s *Stub) update(ctx context.Context, key client.ObjectKey, fn func(*corev1.Pod)) (*corev1.Pod, error) {
	pod := &corev1.Pod{}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := s.Client.Get(ctx, key, pod); err != nil {
			return err
		}
		before := pod.DeepCopy()
		fn(pod)
		st, reason, msg := ContainersReady(pod)
		setCondition(pod, corev1.ContainersReady, st, reason, msg)
		st, reason, msg = Ready(pod)
		setCondition(pod, corev1.PodReady, st, reason, msg)
		if apiequal(before.Status, pod.Status) {
			return nil
		}
		return s.Client.Status().Update(ctx, pod)
	})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("pod %s: %w", key, err)
	}
	return pod, err
}

// setCondition sets a kubelet-owned condition, keeping lastTransitionTime while the status does not change.
func setCondition(pod *corev1.Pod, t corev1.PodConditionType, st corev1.ConditionStatus, reason, msg string) {
	c := findCondition(pod.Status.Conditions, t)
	if c == nil {
		pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{
			Type: t, Status: st, Reason: reason, Message: msg, LastTransitionTime: metav1.Now(),
		})
		return
	}
	if c.Status != st {
		c.LastTransitionTime = metav1.Now()
	}
	c.Status, c.Reason, c.Message = st, reason, msg
}

func ptr[T any](v T) *T { return &v }

func apiequal(a, b corev1.PodStatus) bool { return equality.Semantic.DeepEqual(a, b) }
