// Package events is the one way lbgate emits Kubernetes events: stable
// reasons (reasons.go) and one event per distinct problem. A recorder
// remembers the last message it sent per object and reason and stays quiet
// while the message does not change, so a condition that persists across
// many reconciles does not become an event storm.
package events

import (
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
)

// Recorder emits de-duplicated events.
type Recorder struct {
	rec  recorder.EventRecorder
	mu   sync.Mutex
	last map[key]string
}

type key struct {
	uid    types.UID
	reason string
}

// NewRecorder wraps a controller-runtime event recorder.
func NewRecorder(rec recorder.EventRecorder) *Recorder {
	return &Recorder{rec: rec, last: map[key]string{}}
}

// Normal emits a Normal event unless the same message was the last one for this object and reason.
func (r *Recorder) Normal(obj client.Object, reason, action, format string, args ...any) {
	r.emit(obj, corev1.EventTypeNormal, reason, action, fmt.Sprintf(format, args...))
}

// Warning emits a Warning event unless the same message was the last one for this object and reason.
func (r *Recorder) Warning(obj client.Object, reason, action, format string, args ...any) {
	r.emit(obj, corev1.EventTypeWarning, reason, action, fmt.Sprintf(format, args...))
}

// Resolved forgets the last message for this object and reason, so the problem is reported again if it comes back.
func (r *Recorder) Resolved(obj client.Object, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.last, key{obj.GetUID(), reason})
}

// Forget drops everything remembered about an object, when it is deleted.
func (r *Recorder) Forget(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.last {
		if k.uid == uid {
			delete(r.last, k)
		}
	}
}

func (r *Recorder) emit(obj client.Object, eventType, reason, action, message string) {
	k := key{obj.GetUID(), reason}
	r.mu.Lock()
	if prev, ok := r.last[k]; ok && prev == message {
		r.mu.Unlock()
		return
	}
	r.last[k] = message
	r.mu.Unlock()
	r.rec.Eventf(obj, nil, eventType, reason, action, "%s", message)
}
