package haproxy

import "sync"

// targetLocks serialises calls on one target inside this process, so that a
// List promoting a slot cannot interleave with a Drain of the same slot.
// The Runtime API has no compare-and-set; the lock is the only guard, and it
// holds no load-balancer state.
type targetLocks struct {
	mu sync.Mutex
	m  map[string]*sync.Mutex
}

// lock locks target and returns the unlock function.
func (l *targetLocks) lock(target string) func() {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*sync.Mutex{}
	}
	m, ok := l.m[target]
	if !ok {
		m = &sync.Mutex{}
		l.m[target] = m
	}
	l.mu.Unlock()
	m.Lock()
	return m.Unlock
}
