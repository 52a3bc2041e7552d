package backendgroup

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// writeAll runs the writes side by side, never more than gateWriters at
// once, runs every one even when some fail, and returns every error.
func TestWriteAll(t *testing.T) {
	for _, n := range []int{0, 1, gateWriters, 3 * gateWriters} {
		var running, peak, done atomic.Int32
		release := make(chan struct{})
		var started sync.WaitGroup
		started.Add(min(n, gateWriters))
		boom := errors.New("boom")
		writes := make([]func() error, n)
		for i := range writes {
			writes[i] = func() error {
				raiseTo(&peak, running.Add(1))
				if i < gateWriters {
					started.Done()
					<-release // the first gateWriters wait for each other
				}
				running.Add(-1)
				done.Add(1)
				if i%2 == 1 {
					return boom
				}
				return nil
			}
		}
		go func() {
			all := make(chan struct{})
			go func() { started.Wait(); close(all) }()
			select { // written one after the other, they would wait forever
			case <-all:
			case <-time.After(5 * time.Second):
			}
			close(release)
		}()
		err := writeAll(writes)
		if int(done.Load()) != n {
			t.Errorf("%d writes: %d ran", n, done.Load())
		}
		if n >= gateWriters && int(peak.Load()) != gateWriters {
			t.Errorf("%d writes: %d at once at most, want %d", n, peak.Load(), gateWriters)
		}
		if p := int(peak.Load()); p > gateWriters {
			t.Errorf("%d writes: %d at once, over the bound %d", n, p, gateWriters)
		}
		var joined interface{ Unwrap() []error }
		if n > 1 {
			if !errors.As(err, &joined) || len(joined.Unwrap()) != n/2 {
				t.Errorf("%d writes: error %v, want the %d failures joined", n, err, n/2)
			}
		} else if n <= 1 && err != nil {
			t.Errorf("%d writes: error %v, want none", n, err)
		}
	}
}

// raiseTo raises peak to n unless it is at n or over already; writers
// racing on it each retry until the higher value holds.
func raiseTo(peak *atomic.Int32, n int32) {
	for {
		p := peak.Load()
		if n <= p || peak.CompareAndSwap(p, n) {
			return
		}
	}
}
