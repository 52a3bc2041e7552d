package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"time"
)

// Mode says how the generator uses connections.
type Mode string

const (
	// KeepAlive shares one transport and reuses idle connections.
	KeepAlive Mode = "keep-alive"
	// NewConnection opens a new TCP connection for every request.
	NewConnection Mode = "new-connection"
)

// Defaults for the zero values of Options fields.
const (
	// DefaultTimeout bounds each request, from send to the end of the body.
	DefaultTimeout = 2 * time.Second
	// DefaultMaxBodyBytes is how much of a body is read and kept for parsing.
	DefaultMaxBodyBytes = 4096
	// MaxRPS is the highest request rate Start accepts.
	MaxRPS = 10000
)

// Options configure one run.
type Options struct {
	// URL is the only address requests go to. Its host must be a literal
	// 127.0.0.0/8 address or localhost (see CheckURL).
	URL string
	// RPS is the request rate, requests per second; must be in (0, MaxRPS].
	RPS float64
	// Duration is how long requests are sent; must be positive. The run ends
	// earlier if its context ends or Stop is called.
	Duration time.Duration
	// Mode is KeepAlive (the default) or NewConnection.
	Mode Mode
	// Timeout bounds each request; DefaultTimeout when zero.
	Timeout time.Duration
	// MaxInFlight caps outstanding requests; a request due while the cap is
	// reached fails with KindOverload. When zero it is
	// ceil(1.5*RPS*Timeout)+16, enough that requests which all time out still
	// never hit the cap.
	MaxInFlight int
	// Parse reads the serving backend from a successful response body;
	// ParseBody when nil.
	Parse BodyParser
	// MaxBodyBytes is how much of each body is kept for Parse (the rest is
	// read and discarded); DefaultMaxBodyBytes when zero.
	MaxBodyBytes int
}

// withDefaults checks o and fills in its zero values.
func (o Options) withDefaults() (Options, error) {
	if !(o.RPS > 0 && o.RPS <= MaxRPS) {
		return o, fmt.Errorf("loadgen: RPS %v must be in (0, %d]", o.RPS, MaxRPS)
	}
	if o.Duration <= 0 {
		return o, fmt.Errorf("loadgen: Duration %v must be positive", o.Duration)
	}
	switch o.Mode {
	case "":
		o.Mode = KeepAlive
	case KeepAlive, NewConnection:
	default:
		return o, fmt.Errorf("loadgen: unknown mode %q", o.Mode)
	}
	if o.Timeout < 0 || o.MaxInFlight < 0 || o.MaxBodyBytes < 0 {
		return o, errors.New("loadgen: Timeout, MaxInFlight and MaxBodyBytes must not be negative")
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = int(math.Ceil(1.5*o.RPS*o.Timeout.Seconds())) + 16
	}
	if o.Parse == nil {
		o.Parse = ParseBody
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return o, nil
}

// Generator is one running load: Start returns it, Snapshot reads it live,
// Wait or Stop end it and return the final Report.
type Generator struct {
	opts      Options
	ctx       context.Context
	transport *http.Transport
	client    *http.Client
	sem       chan struct{}
	stop      chan struct{}
	stopOnce  sync.Once
	done      chan struct{}
	wg        sync.WaitGroup

	mu    sync.Mutex
	st    stats
	start time.Time
	// sendEnd is when scheduling stopped; end is when the last request
	// finished. Both are zero while running.
	sendEnd, end time.Time
}

// stats is everything recorded about requests, guarded by Generator.mu.
type stats struct {
	sent, succeeded, canceled int64
	inFlight                  int64
	latencies                 []time.Duration
	failures                  []Failure
	byKind                    map[Kind]int64
	served                    map[Identity]*Served
}

// idleConnTimeout is how long an idle keep-alive connection is kept for
// reuse (see Start).
const idleConnTimeout = 5 * time.Second

// Start checks opts, refusing a non-loopback URL before anything is sent,
// and starts sending. The run ends at opts.Duration, on Stop, or when ctx
// ends; ending ctx also aborts requests in flight (counted as canceled, not
// failed), whereas the other two let them finish within their timeout.
func Start(ctx context.Context, opts Options) (*Generator, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, err := CheckURL(opts.URL); err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: opts.Timeout, Control: guardDial}
	tr := &http.Transport{
		Proxy:               nil, // never send through a proxy from the environment
		DialContext:         dialer.DialContext,
		DisableKeepAlives:   opts.Mode == NewConnection,
		DisableCompression:  true,
		MaxIdleConns:        opts.MaxInFlight,
		MaxIdleConnsPerHost: opts.MaxInFlight,
		// Below the keep-alive timeout of the HAProxy in front (timeout
		// client 10s, haproxytest's config): a request written to a
		// connection HAProxy is closing for idleness is answered 408
		// Request Time-out, a failure of the client's connection reuse,
		// not of any backend (seen once in a slow-start rollout).
		IdleConnTimeout: idleConnTimeout,
	}
	g := &Generator{
		opts:      opts,
		ctx:       ctx,
		transport: tr,
		client: &http.Client{
			Transport: tr,
			// Never follow a redirect: the URL given is the only target.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		sem:   make(chan struct{}, opts.MaxInFlight),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		start: time.Now(),
		st: stats{
			byKind: map[Kind]int64{},
			served: map[Identity]*Served{},
		},
	}
	go g.run()
	return g, nil
}

// Run sends load as Start does and returns the final report when the run
// ends (Duration elapsed or ctx ended).
func Run(ctx context.Context, opts Options) (*Report, error) {
	g, err := Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	return g.Wait(), nil
}

// Done is closed when the run has ended and every request has finished.
func (g *Generator) Done() <-chan struct{} { return g.done }

// Wait blocks until the run ends by itself and returns the final report.
func (g *Generator) Wait() *Report {
	<-g.done
	return g.Snapshot()
}

// Stop stops sending now, waits for requests in flight to finish (each
// within its timeout) and returns the final report. It is safe to call more
// than once and after the run has ended.
func (g *Generator) Stop() *Report {
	g.stopOnce.Do(func() { close(g.stop) })
	return g.Wait()
}

// run schedules requests until the end, then waits for them.
func (g *Generator) run() {
	g.schedule()
	g.mu.Lock()
	g.sendEnd = time.Now()
	g.mu.Unlock()
	g.wg.Wait()
	g.transport.CloseIdleConnections()
	g.mu.Lock()
	g.end = time.Now()
	g.mu.Unlock()
	close(g.done)
}

// schedule fires request i at start + i/RPS while that is before
// start + Duration, sending overdue requests at once, and returns at
// start + Duration (or earlier on Stop or the end of the context).
func (g *Generator) schedule() {
	interval := time.Duration(float64(time.Second) / g.opts.RPS)
	end := g.start.Add(g.opts.Duration)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := int64(0); ; i++ {
		due := g.start.Add(time.Duration(i) * interval)
		if !due.Before(end) {
			// The sending window is the whole Duration, so the achieved
			// rate is Sent/Duration; wait out the last interval.
			due = end
		}
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-g.stop:
				return
			case <-g.ctx.Done():
				return
			}
		} else {
			select {
			case <-g.stop:
				return
			case <-g.ctx.Done():
				return
			default:
			}
		}
		if due.Equal(end) {
			return
		}
		g.fire()
	}
}

// fire sends one request, or records an overload failure when the in-flight
// cap is reached. Counting and recording happen under one lock, so a snapshot
// always sees Sent = Succeeded + Failed + Canceled + InFlight.
func (g *Generator) fire() {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.st.sent++
	select {
	case g.sem <- struct{}{}:
	default:
		g.st.fail(Failure{Start: now, End: now, Kind: KindOverload,
			Detail: fmt.Sprintf("%d requests already in flight", g.opts.MaxInFlight)})
		return
	}
	g.st.inFlight++
	g.wg.Add(1)
	go func() {
		defer func() { <-g.sem; g.wg.Done() }()
		g.do()
	}()
}

// errRequestTimeout is the cause of a request context that ran out of time.
var errRequestTimeout = errors.New("request timeout")

// do sends one GET and records its outcome.
func (g *Generator) do() {
	start := time.Now() // before the deadline is set, so a timeout is never shorter than Timeout
	ctx, cancel := context.WithTimeoutCause(g.ctx, g.opts.Timeout, errRequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.opts.URL, nil)
	if err != nil { // the URL was checked by Start; this is not expected
		g.finish(func(st *stats) {
			st.fail(Failure{Start: start, End: time.Now(), Kind: KindOther, Detail: err.Error()})
		})
		return
	}
	resp, err := g.client.Do(req)
	if err != nil {
		g.failErr(ctx, start, err)
		return
	}
	body, err := readBody(resp.Body, g.opts.MaxBodyBytes)
	resp.Body.Close()
	end := time.Now()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		g.finish(func(st *stats) {
			st.fail(Failure{Start: start, End: end, Kind: statusKind(resp.StatusCode),
				Status: resp.StatusCode, Detail: statusDetail(resp.Status, body)})
		})
		return
	}
	if err != nil {
		g.failErr(ctx, start, err)
		return
	}
	id := g.opts.Parse(body)
	g.finish(func(st *stats) {
		st.succeeded++
		st.latencies = append(st.latencies, end.Sub(start))
		s := st.served[id]
		if s == nil {
			s = &Served{Identity: id, First: start, Last: start}
			st.served[id] = s
		}
		s.Count++
		if start.Before(s.First) {
			s.First = start
		}
		if start.After(s.Last) {
			s.Last = start
		}
	})
}

// readBody keeps the first limit bytes of a body and reads the rest to the
// end, so the connection can be reused.
func readBody(r io.Reader, limit int) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, int64(limit)))
	if err != nil {
		return body, err
	}
	_, err = io.Copy(io.Discard, r)
	return body, err
}

// failErr records a request that ended in err: canceled when the run's
// context ended it, a failure otherwise.
func (g *Generator) failErr(ctx context.Context, start time.Time, err error) {
	end := time.Now()
	kind, detail := classify(err)
	if ctx.Err() != nil {
		if errors.Is(context.Cause(ctx), errRequestTimeout) {
			kind = KindTimeout
			if detail == errRequestTimeout.Error() || detail == context.DeadlineExceeded.Error() {
				detail = fmt.Sprintf("no complete response within %v", g.opts.Timeout)
			} else {
				detail = fmt.Sprintf("no complete response within %v: %s", g.opts.Timeout, detail)
			}
		} else if g.ctx.Err() != nil {
			g.finish(func(st *stats) { st.canceled++ })
			return
		}
	}
	g.finish(func(st *stats) { st.fail(Failure{Start: start, End: end, Kind: kind, Detail: detail}) })
}

// finish records the outcome of a request that was in flight.
func (g *Generator) finish(record func(*stats)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.st.inFlight--
	record(&g.st)
}

// fail records one failure.
func (st *stats) fail(f Failure) {
	st.failures = append(st.failures, f)
	st.byKind[f.Kind]++
}
