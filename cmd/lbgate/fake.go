package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/fake"
)

// fakeOptions are the flags of --provider=fake that make the in-memory load
// balancer behave like a slow one, for benchmarks (cmd/lbgate-bench). Their
// defaults keep the fake as it always was: no latency, no limits, every
// backend healthy at once.
type fakeOptions struct {
	callLatency time.Duration
	maxBatch    int
	maxBackends int
	healthDelay time.Duration
	callLog     string
}

// fakeFlags are the binary's fake-provider flags (bound by options.bind).
var fakeFlags fakeOptions

func (f *fakeOptions) bind(fs *flag.FlagSet) {
	fs.DurationVar(&f.callLatency, "fake-call-latency", 0, "with --provider=fake: how long every load-balancer call takes")
	fs.IntVar(&f.maxBatch, "fake-max-batch", 0, "with --provider=fake: most backends one call takes (0: no limit)")
	fs.IntVar(&f.maxBackends, "fake-max-backends", 0, "with --provider=fake: most backends one target holds (0: no limit)")
	fs.DurationVar(&f.healthDelay, "fake-health-delay", 0, "with --provider=fake: how long a new backend is Initial before it is healthy (0: healthy at once)")
	fs.StringVar(&f.callLog, "fake-call-log", "", "with --provider=fake: file that receives every load-balancer call as a JSON line (time, method, target, size; addresses of Register calls)")
}

// provider builds the fake load balancer the flags describe.
func (f fakeOptions) provider() (providers.Provider, error) {
	switch {
	case f.callLatency < 0:
		return nil, fmt.Errorf("--fake-call-latency=%s: must not be negative", f.callLatency)
	case f.maxBatch < 0:
		return nil, fmt.Errorf("--fake-max-batch=%d: must not be negative", f.maxBatch)
	case f.maxBackends < 0:
		return nil, fmt.Errorf("--fake-max-backends=%d: must not be negative", f.maxBackends)
	case f.healthDelay < 0:
		return nil, fmt.Errorf("--fake-health-delay=%s: must not be negative", f.healthDelay)
	}
	p := fake.New(providers.Limits{MaxBatch: f.maxBatch, MaxBackends: f.maxBackends})
	p.SetNewBackendHealth(providers.HealthHealthy)
	p.CreateTargetsOnUse(true)
	p.KeepCalls(false) // nothing reads them in the binary: memory stays flat
	p.SetLatency(f.callLatency)
	p.SetHealthDelay(f.healthDelay)
	if f.callLog != "" {
		file, err := os.Create(f.callLog)
		if err != nil {
			return nil, fmt.Errorf("--fake-call-log=%q: %w", f.callLog, err)
		}
		p.Observe(newCallLog(file).write)
	}
	return p, nil
}

// callLine is one line of --fake-call-log.
type callLine struct {
	At     time.Time `json:"at"`
	Method string    `json:"method"`
	Target string    `json:"target"`
	N      int       `json:"n"`
	Addrs  []string  `json:"addrs,omitempty"`
	Err    string    `json:"err,omitempty"`
}

// callLog writes calls to a file, flushed every 100 ms so the calls cost
// the operator no write each.
type callLog struct {
	mu  sync.Mutex
	w   *bufio.Writer
	enc *json.Encoder
}

func newCallLog(f *os.File) *callLog {
	l := &callLog{w: bufio.NewWriterSize(f, 1<<16)}
	l.enc = json.NewEncoder(l.w)
	go func() {
		for range time.Tick(100 * time.Millisecond) {
			l.mu.Lock()
			_ = l.w.Flush()
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *callLog) write(c fake.Call, at time.Time) {
	line := callLine{At: at, Method: c.Method, Target: c.Target, N: len(c.Addrs)}
	if c.Method == "Register" {
		for _, a := range c.Addrs {
			line.Addrs = append(line.Addrs, a.String())
		}
	}
	if c.Err != nil {
		line.Err = c.Err.Error()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.enc.Encode(line)
}
