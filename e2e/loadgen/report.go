package loadgen

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Failure is one failed request.
type Failure struct {
	// Start is when the request was sent (or, for KindOverload, was due).
	Start time.Time
	// End is when the failure was observed.
	End time.Time
	// Kind classifies the failure.
	Kind Kind
	// Status is the HTTP status code for KindHTTP5xx and KindStatus, else 0.
	Status int
	// Detail is the error text, or the status line and start of the body.
	Detail string
}

// Served counts the successful responses from one backend identity.
type Served struct {
	// Identity is the backend, as read by Options.Parse.
	Identity Identity
	// Count is how many requests it answered successfully.
	Count int64
	// First and Last are the send times of its first and last successful
	// requests.
	First, Last time.Time
}

// Latency holds nearest-rank percentiles of successful requests' latencies,
// exact over every sample; all zero when nothing succeeded.
type Latency struct {
	// P50 is the median.
	P50 time.Duration
	// P90 is the 90th percentile.
	P90 time.Duration
	// P99 is the 99th percentile.
	P99 time.Duration
	// Max is the slowest success.
	Max time.Duration
}

// Report is what a run did, final or a live snapshot. It is a copy: the
// caller may keep and change it.
type Report struct {
	// URL is the target.
	URL string
	// Mode is the connection mode.
	Mode Mode
	// RPS is the requested rate.
	RPS float64
	// Running is true for a snapshot taken before the run ended.
	Running bool
	// Start is when the run started.
	Start time.Time
	// Duration is how long requests were sent: from Start to when scheduling
	// stopped, or to the snapshot while still sending.
	Duration time.Duration
	// Sent counts every request that came due, including those refused for
	// overload: Sent = Succeeded + Failed + Canceled + InFlight.
	Sent int64
	// Succeeded counts 2xx responses read to the end.
	Succeeded int64
	// Failed counts failures of every kind.
	Failed int64
	// Canceled counts requests aborted because the run's context ended; they
	// are not failures.
	Canceled int64
	// InFlight counts requests outstanding at the snapshot (0 when final).
	InFlight int64
	// FailedByKind counts failures per kind; kinds with none are absent.
	FailedByKind map[Kind]int64
	// FirstFailure and LastFailure are the send times of the earliest and
	// latest failed requests; zero when none failed.
	FirstFailure, LastFailure time.Time
	// Failures lists every failure in order of send time.
	Failures []Failure
	// Latency summarises successful requests.
	Latency Latency
	// Served lists backends that answered, in order of their first success.
	Served []Served
}

// Snapshot returns the report so far; safe to call at any time, including
// while the run is going and after it ended.
func (g *Generator) Snapshot() *Report {
	g.mu.Lock()
	r := &Report{
		URL:          g.opts.URL,
		Mode:         g.opts.Mode,
		RPS:          g.opts.RPS,
		Running:      g.end.IsZero(),
		Start:        g.start,
		Sent:         g.st.sent,
		Succeeded:    g.st.succeeded,
		Failed:       int64(len(g.st.failures)),
		Canceled:     g.st.canceled,
		InFlight:     g.st.inFlight,
		FailedByKind: make(map[Kind]int64, len(g.st.byKind)),
		Failures:     slices.Clone(g.st.failures),
	}
	if g.sendEnd.IsZero() {
		r.Duration = time.Since(g.start)
	} else {
		r.Duration = g.sendEnd.Sub(g.start)
	}
	for k, n := range g.st.byKind {
		r.FailedByKind[k] = n
	}
	for _, s := range g.st.served {
		r.Served = append(r.Served, *s)
	}
	lat := slices.Clone(g.st.latencies)
	g.mu.Unlock()

	slices.Sort(lat)
	r.Latency = Latency{
		P50: percentile(lat, 50),
		P90: percentile(lat, 90),
		P99: percentile(lat, 99),
		Max: percentile(lat, 100),
	}
	slices.SortStableFunc(r.Failures, func(a, b Failure) int { return a.Start.Compare(b.Start) })
	if len(r.Failures) > 0 {
		r.FirstFailure = r.Failures[0].Start
		r.LastFailure = r.Failures[len(r.Failures)-1].Start
	}
	slices.SortFunc(r.Served, func(a, b Served) int {
		if c := a.First.Compare(b.First); c != 0 {
			return c
		}
		return strings.Compare(a.Identity.String(), b.Identity.String())
	})
	return r
}

// percentile returns the nearest-rank p-th percentile of sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// ByPod sums successful responses per pod name.
func (r *Report) ByPod() map[string]int64 {
	m := map[string]int64{}
	for _, s := range r.Served {
		m[s.Identity.Pod] += s.Count
	}
	return m
}

// ByVersion sums successful responses per version.
func (r *Report) ByVersion() map[string]int64 {
	m := map[string]int64{}
	for _, s := range r.Served {
		m[s.Identity.Version] += s.Count
	}
	return m
}

// AchievedRPS is the rate at which requests came due over Duration.
func (r *Report) AchievedRPS() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Sent) / r.Duration.Seconds()
}

// kinds renders the failure counts as "reset 2, http-5xx 1", or "" if none.
func (r *Report) kinds() string {
	var parts []string
	for _, k := range Kinds {
		if n := r.FailedByKind[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	return strings.Join(parts, ", ")
}

// String is a one-line summary: mode, rate, counts, failures by kind and
// latency percentiles.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %g rps %v: sent %d, ok %d, failed %d", r.Mode, r.RPS, r.Duration.Round(time.Millisecond), r.Sent, r.Succeeded, r.Failed)
	if k := r.kinds(); k != "" {
		fmt.Fprintf(&b, " (%s)", k)
	}
	if r.Canceled > 0 {
		fmt.Fprintf(&b, ", canceled %d", r.Canceled)
	}
	if r.Running {
		fmt.Fprintf(&b, ", in flight %d (running)", r.InFlight)
	}
	fmt.Fprintf(&b, "; p50 %v p90 %v p99 %v max %v", round(r.Latency.P50), round(r.Latency.P90), round(r.Latency.P99), round(r.Latency.Max))
	return b.String()
}

// tableFailures is how many failures Table lists one by one.
const tableFailures = 10

// Table renders the report as a short block for people: the summary, the
// failure window and the first failures, and which backends served when.
func (r *Report) Table() string {
	var b strings.Builder
	state := "done"
	if r.Running {
		state = "running"
	}
	fmt.Fprintf(&b, "load %s %s, %g rps for %v (%s, achieved %.1f rps)\n", r.Mode, r.URL, r.RPS, r.Duration.Round(time.Millisecond), state, r.AchievedRPS())
	fmt.Fprintf(&b, "  sent %d  ok %d  failed %d  canceled %d  in flight %d\n", r.Sent, r.Succeeded, r.Failed, r.Canceled, r.InFlight)
	if r.Succeeded > 0 {
		fmt.Fprintf(&b, "  latency of ok: p50 %v  p90 %v  p99 %v  max %v\n", round(r.Latency.P50), round(r.Latency.P90), round(r.Latency.P99), round(r.Latency.Max))
	} else {
		b.WriteString("  latency of ok: none succeeded\n")
	}
	if r.Failed > 0 {
		fmt.Fprintf(&b, "  failures: %s; first %s, last %s (+%v)\n", r.kinds(), clock(r.FirstFailure), clock(r.LastFailure), r.LastFailure.Sub(r.Start).Round(time.Millisecond))
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for i, f := range r.Failures {
			if i == tableFailures {
				fmt.Fprintf(tw, "    ... %d more\n", len(r.Failures)-tableFailures)
				break
			}
			fmt.Fprintf(tw, "    %s\t+%v\t%s\t%s\n", clock(f.Start), f.Start.Sub(r.Start).Round(time.Millisecond), f.Kind, f.Detail)
		}
		tw.Flush()
	}
	if len(r.Served) > 0 {
		b.WriteString("  served by:\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "    pod\tversion\tok\tfirst\tlast")
		for _, s := range r.Served {
			fmt.Fprintf(tw, "    %s\t%s\t%d\t+%v\t+%v\n", orUnknown(s.Identity.Pod), orUnknown(s.Identity.Version), s.Count,
				s.First.Sub(r.Start).Round(time.Millisecond), s.Last.Sub(r.Start).Round(time.Millisecond))
		}
		tw.Flush()
	}
	return b.String()
}

// round shortens a latency for display.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// clock renders a wall-clock time to the millisecond.
func clock(t time.Time) string { return t.Format("15:04:05.000") }

// orUnknown renders an empty identity part as "?".
func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}
