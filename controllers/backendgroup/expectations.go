package backendgroup

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// gateExpectations remember the gate conditions this process wrote that the
// informer cache has not shown yet, by pod UID and condition type. They
// only ever make a write less likely (never write what was just written,
// never step back from a True just written); correctness does not depend
// on them surviving a restart, since a False is written only with the
// pod's resourceVersion as precondition.
type gateExpectations struct {
	mu      sync.Mutex
	pending map[gateKey]corev1.PodCondition
}

type gateKey struct {
	uid      types.UID
	condType corev1.PodConditionType
}

// current returns the condition to compare against: the pod's, unless
// this process wrote one the cached pod does not show yet. Once the cache
// shows the written condition, the expectation is dropped.
func (e *gateExpectations) current(pod *corev1.Pod, condType string) *corev1.PodCondition {
	cached := GateCondition(pod, condType)
	k := gateKey{pod.UID, corev1.PodConditionType(condType)}
	e.mu.Lock()
	defer e.mu.Unlock()
	want, ok := e.pending[k]
	if !ok {
		return cached
	}
	if cached != nil && cached.Status == want.Status && cached.Reason == want.Reason && cached.Message == want.Message {
		delete(e.pending, k) // the cache caught up
		return cached
	}
	if cached != nil && cached.Status == corev1.ConditionTrue && want.Status != corev1.ConditionTrue {
		delete(e.pending, k) // a True written since, by anyone, wins
		return cached
	}
	return &want
}

// wrote records a condition this process wrote.
func (e *gateExpectations) wrote(pod *corev1.Pod, cond corev1.PodCondition) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pending == nil {
		e.pending = map[gateKey]corev1.PodCondition{}
	}
	e.pending[gateKey{pod.UID, cond.Type}] = cond
}
