package backendgroup

// Deregistration that waits for sessions: a provider may leave a backend
// that still holds connections draining after Deregister (HAProxy parks a
// slot only once it counts no session). A group that removes all its
// backends (deleted, opted out) must come back until they are gone, and not
// for longer than its deregistration delay: then the backends are removed
// anyway, closing their connections, so no slot is left draining for good.

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/providers"
)

// Event reasons of the wait for sessions.
const (
	// ReasonBackendsStillDraining: backends keep sessions after Deregister; the group waits.
	ReasonBackendsStillDraining = "BackendsStillDraining"
	// ReasonBackendsForceRemoved: the deregistration delay is over and the backends were removed with their sessions.
	ReasonBackendsForceRemoved = "BackendsForceRemoved"
)

// stillDrainingPoll is the longest wait between two looks at backends that still drain.
const stillDrainingPoll = time.Second

// StillDrainingError says that Deregister left backends draining because
// they still hold sessions. It reads as a throttle (providers.RetryAfter),
// so the caller looks again after RetryAfter without an error backoff.
type StillDrainingError struct {
	// Left counts the backends still draining, by target.
	Left map[string]int
	// Deadline is when the deregistration delay is over.
	Deadline   time.Time
	RetryAfter time.Duration
}

func (e *StillDrainingError) Error() string {
	var parts []string
	for t, n := range e.Left {
		parts = append(parts, fmt.Sprintf("%d on target %s", n, t))
	}
	sort.Strings(parts)
	return fmt.Sprintf("backends still draining with open sessions (%s); removed when idle or at %s, when the deregistration delay is over",
		strings.Join(parts, ", "), e.Deadline.Format(time.RFC3339))
}

// As lets providers.RetryAfter read the error as a throttle.
func (e *StillDrainingError) As(target any) bool {
	if t, ok := target.(**providers.ThrottledError); ok {
		*t = &providers.ThrottledError{RetryAfter: e.RetryAfter, Detail: e.Error()}
		return true
	}
	return false
}

// drainClock remembers since when each group's target has had backends
// left draining, for groups that are not being deleted (a deleted group
// counts from its deletion).
var drainClock = struct {
	sync.Mutex
	since map[string]time.Time
}{since: map[string]time.Time{}}

func drainKey(uid types.UID, target string) string { return string(uid) + "/" + target }

// drainDeadline is when the group's deregistration delay is over for backends left draining on target.
func (r *Reconciler) drainDeadline(bg *v1alpha1.BackendGroup, target string) time.Time {
	delay := v1alpha1.DefaultDeregistrationDelay
	if d := bg.Spec.DeregistrationDelay; d != nil {
		delay = d.Duration
	}
	if !bg.DeletionTimestamp.IsZero() {
		return bg.DeletionTimestamp.Add(delay)
	}
	drainClock.Lock()
	defer drainClock.Unlock()
	key := drainKey(bg.UID, target)
	since, ok := drainClock.since[key]
	if !ok {
		since = r.Options.withDefaults().Now()
		drainClock.since[key] = since
	}
	return since.Add(delay)
}

// leftDraining lists the target again after Deregister. It returns the
// backends still there (but those of theirs, which belong to other groups); once the deregistration delay is over it removes
// them with their sessions (when the provider can) and returns none.
func (r *Reconciler) leftDraining(ctx context.Context, bg *v1alpha1.BackendGroup, target string, maxBatch int, theirs map[TargetBackend]bool) ([]netip.AddrPort, time.Time, error) {
	all, err := r.Provider.List(ctx, target)
	if providers.IsNotFound(err) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("listing target %s after deregistering: %w", target, err)
	}
	var list []providers.BackendStatus
	for _, b := range all {
		if !theirs[TargetBackend{target, b.Addr}] {
			list = append(list, b)
		}
	}
	if len(list) == 0 {
		drainClock.Lock()
		delete(drainClock.since, drainKey(bg.UID, target))
		drainClock.Unlock()
		return nil, time.Time{}, nil
	}
	left := make([]netip.AddrPort, len(list))
	for i, b := range list {
		left[i] = b.Addr
	}
	deadline := r.drainDeadline(bg, target)
	if r.Options.withDefaults().Now().Before(deadline) {
		return left, deadline, nil
	}
	logger := logf.FromContext(ctx).WithValues("target", target, "count", len(left))
	force, ok := providers.ForceDeregistererOf(r.Provider)
	if !ok {
		logger.Info("backends still hold sessions after the deregistration delay; the provider cannot remove them earlier, leaving them draining")
		return nil, time.Time{}, nil
	}
	if err := inBatches(left, maxBatch, func(b []netip.AddrPort) error { return force.ForceDeregister(ctx, target, b) }); err != nil {
		return nil, time.Time{}, fmt.Errorf("removing backends that outlived the deregistration delay from target %s: %w", target, err)
	}
	logger.Info("removed backends whose sessions outlived the deregistration delay")
	r.Events.Normal(bg, ReasonBackendsForceRemoved, "Deregister",
		"removed %s from target %s and closed their sessions: the deregistration delay is over", summarize(left), target)
	drainClock.Lock()
	delete(drainClock.since, drainKey(bg.UID, target))
	drainClock.Unlock()
	return nil, time.Time{}, nil
}

// stillDraining turns what is left draining into an error that brings the
// group back soon (nil when nothing is left).
func (r *Reconciler) stillDraining(bg *v1alpha1.BackendGroup, left map[string]int, deadline time.Time) error {
	if len(left) == 0 {
		return nil
	}
	opts := r.Options.withDefaults()
	after := min(stillDrainingPoll, max(deadline.Sub(opts.Now()), opts.PendingInterval))
	err := &StillDrainingError{Left: left, Deadline: deadline, RetryAfter: after}
	r.Events.Normal(bg, ReasonBackendsStillDraining, "Deregister", "%s", err.Error())
	return err
}
