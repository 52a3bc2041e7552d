package webhookcfg

import (
	"crypto/sha256"
	"sync"
	"time"
)

// settleClock remembers since when the live caBundle has held its current
// content. The apiserver reloads webhook configurations asynchronously, so a
// caBundle is relied on (a leaf issued from a CA it has just taken) only
// once it has been live for Options.CABundleSettle. A new leader starts
// counting from its first look, which errs on the safe side.
type settleClock struct {
	mu    sync.Mutex
	sum   [sha256.Size]byte
	since time.Time
}

// observe records the live content at now and returns since when it has been live.
func (s *settleClock) observe(caBundle []byte, now time.Time) time.Time {
	sum := sha256.Sum256(caBundle)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.since.IsZero() || sum != s.sum {
		s.sum, s.since = sum, now
	}
	return s.since
}

// liveFor returns how long the content has been live at now (0 when it is not the live one).
func (s *settleClock) liveFor(caBundle []byte, now time.Time) time.Duration {
	sum := sha256.Sum256(caBundle)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.since.IsZero() || sum != s.sum {
		return 0
	}
	return now.Sub(s.since)
}
