package stack

import (
	"context"
	"fmt"
	"time"

	"github.com/lbgate/lbgate/e2e/loadgen"
)

// Disruption is an HAProxy restart or reload under load, and what it cost.
type Disruption struct {
	// What names it: "restart", "reload", ...
	What string
	// Began is when HAProxy was told to restart or reload; Answering is when
	// its Runtime API answered from the new process.
	Began, Answering time.Time
	// Load is the load generator's report over the whole run.
	Load *loadgen.Report
}

// OutageWindow is the span of failed requests: from the first failed
// request sent to the last failure seen; zero when none failed.
func (d *Disruption) OutageWindow() time.Duration {
	if d.Load.Failed == 0 {
		return 0
	}
	last := d.Load.LastFailure
	for _, f := range d.Load.Failures {
		if f.End.After(last) {
			last = f.End
		}
	}
	return last.Sub(d.Load.FirstFailure)
}

// TrafficBack is how long after HAProxy answered again requests kept
// failing: zero when none failed after that moment.
func (d *Disruption) TrafficBack() time.Duration {
	var back time.Duration
	for _, f := range d.Load.Failures {
		back = max(back, f.End.Sub(d.Answering))
	}
	return back
}

// Row renders the disruption as one line of a side-by-side table.
func (d *Disruption) Row() string {
	return fmt.Sprintf("%-44s %8s %12s %14s %9d %8d", d.What, d.Answering.Sub(d.Began).Round(time.Millisecond),
		d.OutageWindow().Round(time.Millisecond), d.TrafficBack().Round(time.Millisecond), d.Load.Failed, d.Load.Sent)
}

// DisruptionHeader is the header of Row's table.
const DisruptionHeader = "disruption                                   HAProxy   outage       traffic back   failed     sent\n" +
	"                                             took      window       after answer"

// Disrupt sends rps requests per second to the app's frontend, runs disrupt
// (a restart or reload of HAProxy) after a second, waits until HAProxy has
// every replica up again, keeps the load a second longer, and reports.
func (s *Stack) Disrupt(ctx context.Context, a App, rps int, what string, disrupt func() error) (*Disruption, error) {
	gen, err := loadgen.Start(ctx, loadgen.Options{URL: s.HAProxy.Frontend(a.Backend) + "/", RPS: float64(rps), Duration: 2 * time.Minute})
	if err != nil {
		return nil, err
	}
	defer gen.Stop()
	if err := sleep(ctx, time.Second); err != nil {
		return nil, err
	}
	d := &Disruption{What: what, Began: time.Now()}
	if err := disrupt(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	d.Answering = time.Now()
	if err := s.WaitServersUp(ctx, a.Backend, int(a.Replicas), time.Minute); err != nil {
		return nil, fmt.Errorf("after the %s: %w", what, err)
	}
	if err := sleep(ctx, time.Second); err != nil {
		return nil, err
	}
	d.Load = gen.Stop()
	return d, nil
}
