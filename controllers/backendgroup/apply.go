package backendgroup

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/controllers/internal/capability"
	"github.com/lbgate/lbgate/controllers/internal/events"
	"github.com/lbgate/lbgate/controllers/internal/targets"
	"github.com/lbgate/lbgate/providers"
)

// apply carries out a plan on the load balancer, target by target: drain
// leaving pods, remove what is due, then register new pods, each in batches no
// larger than the provider's limit. It returns the load balancer's view after
// the calls that succeeded, the targets where a call failed, and the errors
// (after trying every target).
//
// A group whose settings a target does not honour (checkSettings) is
// refused: it registers nothing new until it changes.
func (r *Reconciler) apply(ctx context.Context, bg *v1alpha1.BackendGroup, plan Plan, registered map[string][]providers.BackendStatus, limits map[string]providers.Limits) (map[TargetBackend]providers.BackendStatus, map[string]bool, error) {
	lb := indexRegistered(registered)
	refused := r.checkSettings(bg, limits)
	failed := map[string]bool{}
	var errs []error
	for _, target := range knownTargets(bg) {
		if _, listed := registered[target]; !listed && !slices.Contains(targetsOf(bg), target) {
			continue // a former target that is gone
		}
		if err := r.applyTarget(ctx, bg, target, limits[target].MaxBatch, plan, lb, refused); err != nil {
			failed[target] = true
			errs = append(errs, err)
		}
	}
	return lb, failed, errors.Join(errs...)
}

// finalRecords are the ownership records after apply: the plan's, for
// every backend the load balancer holds now; on a target where a call
// failed, the records as they were (a claim that was not carried out is
// no evidence).
func finalRecords(plan Plan, lb map[TargetBackend]providers.BackendStatus, before map[TargetBackend]v1alpha1.BackendRecord, failed map[string]bool) map[TargetBackend]v1alpha1.BackendRecord {
	out := map[TargetBackend]v1alpha1.BackendRecord{}
	for tb := range lb {
		src := plan.Records
		if failed[tb.Target] {
			src = before
		}
		if rec, ok := src[tb]; ok {
			out[tb] = rec
		}
	}
	return out
}

// recordsOf reads the status's ownership records; malformed entries are skipped.
func recordsOf(bg *v1alpha1.BackendGroup) map[TargetBackend]v1alpha1.BackendRecord {
	out := map[TargetBackend]v1alpha1.BackendRecord{}
	for _, rec := range bg.Status.Backends {
		if a, err := netip.ParseAddrPort(rec.Address); err == nil {
			out[TargetBackend{rec.Target, a}] = rec
		}
	}
	return out
}

// recordList renders records for the status, in target and address order.
func recordList(records map[TargetBackend]v1alpha1.BackendRecord) []v1alpha1.BackendRecord {
	keys := make([]TargetBackend, 0, len(records))
	for tb := range records {
		keys = append(keys, tb)
	}
	slices.SortFunc(keys, compareTargetBackend)
	out := make([]v1alpha1.BackendRecord, 0, len(keys))
	for _, tb := range keys {
		out = append(out, records[tb])
	}
	return out
}

// heldTargets are the spec's targets plus the former ones that still hold
// backends (or could not be read): a former target leaves the status once
// it is empty.
func heldTargets(bg *v1alpha1.BackendGroup, lb map[TargetBackend]providers.BackendStatus, unread map[string]bool) []string {
	out := targetsOf(bg)
	for _, t := range retiredTargets(bg) {
		holds := unread[t]
		for tb := range lb {
			holds = holds || tb.Target == t
		}
		if holds && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func (r *Reconciler) applyTarget(ctx context.Context, bg *v1alpha1.BackendGroup, target string, maxBatch int, plan Plan, lb map[TargetBackend]providers.BackendStatus, refused bool) error {
	logger := logf.FromContext(ctx).WithValues("target", target, "provider", r.Provider.Name())
	if addrs := plan.Drain[target]; len(addrs) > 0 {
		if err := inBatches(addrs, maxBatch, func(b []netip.AddrPort) error { return r.Provider.Drain(ctx, target, b) }); err != nil {
			return fmt.Errorf("draining on target %s: %w", target, err)
		}
		for _, a := range addrs {
			st := lb[TargetBackend{target, a}]
			st.Health = providers.HealthDraining
			lb[TargetBackend{target, a}] = st
		}
		logger.Info("draining leaving backends", "count", len(addrs))
		r.Events.Normal(bg, events.BackendsDraining, "Drain", "draining %s on target %s", summarize(addrs), target)
	}
	if addrs := plan.Deregister[target]; len(addrs) > 0 {
		if err := inBatches(addrs, maxBatch, func(b []netip.AddrPort) error { return r.Provider.Deregister(ctx, target, b) }); err != nil {
			return fmt.Errorf("deregistering from target %s: %w", target, err)
		}
		for _, a := range addrs {
			delete(lb, TargetBackend{target, a})
		}
		logger.Info("deregistered backends", "count", len(addrs))
		r.Events.Normal(bg, events.BackendsDeregistered, "Deregister", "deregistered %s from target %s", summarize(addrs), target)
	}
	backends := registrations(plan.Register[target], refused, lb, target)
	if held := len(plan.Register[target]) - len(backends); held > 0 {
		logger.Info("not registering: the group's settings are refused", "count", held)
	}
	if len(backends) > 0 {
		t := capability.Target(target, bg.Spec)
		t.Mode = providers.NetworkMode(bg.Status.NetworkMode)
		if err := inBatches(backends, maxBatch, func(b []providers.Backend) error { return r.Provider.Register(ctx, t, b) }); err != nil {
			return fmt.Errorf("registering on target %s: %w", target, err)
		}
		addrs := make([]netip.AddrPort, len(backends))
		for i, b := range backends {
			addrs[i] = b.Addr
			st, ok := lb[TargetBackend{target, b.Addr}]
			if !ok || st.Health == providers.HealthDraining || b.Recheck {
				st = providers.BackendStatus{Health: providers.HealthInitial}
			}
			st.Backend = b
			lb[TargetBackend{target, b.Addr}] = st
		}
		logger.Info("registered backends", "count", len(backends))
		r.Events.Normal(bg, events.BackendsRegistered, "Register", "registered %s on target %s", summarize(addrs), target)
	}
	return nil
}

// deregisterAll removes the group's backends from the given targets: every
// backend there but those another group records as its own (a target passes
// to the next group while this one is being removed, and that group's new
// backends must stay). A target that no longer exists has nothing left to
// remove. Backends that still hold sessions stay draining after Deregister:
// then it returns a *StillDrainingError (read as a throttle, so the group
// comes back soon) until they are idle or the deregistration delay is over,
// when they are removed with their sessions (lbrestart_drain.go).
func (r *Reconciler) deregisterAll(ctx context.Context, bg *v1alpha1.BackendGroup, targets []string, why string) error {
	onLB := map[string][]providers.BackendStatus{}
	for _, target := range targets {
		list, err := r.Provider.List(ctx, target)
		if providers.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("listing target %s: %w", target, err)
		}
		if len(list) > 0 {
			onLB[target] = list
		}
	}
	if len(onLB) == 0 {
		return nil
	}
	// Read after listing: a group records a backend before it registers it
	// (recordIntent), so every backend of another group listed above is
	// in that group's records by now.
	theirs, err := r.recordedByOthers(ctx, bg)
	if err != nil {
		return err
	}
	left := map[string]int{}
	var deadline time.Time
	for _, target := range targets {
		var addrs []netip.AddrPort
		for _, b := range onLB[target] {
			if !theirs[TargetBackend{target, b.Addr}] {
				addrs = append(addrs, b.Addr)
			}
		}
		if len(addrs) == 0 {
			continue
		}
		limits, err := r.Provider.Limits(ctx, target)
		if err != nil {
			return fmt.Errorf("reading limits of target %s: %w", target, err)
		}
		if err := inBatches(addrs, limits.MaxBatch, func(b []netip.AddrPort) error { return r.Provider.Deregister(ctx, target, b) }); err != nil {
			return fmt.Errorf("deregistering from target %s: %w", target, err)
		}
		draining, until, err := r.leftDraining(ctx, bg, target, limits.MaxBatch, theirs)
		if err != nil {
			return err
		}
		if len(draining) > 0 {
			left[target], deadline = len(draining), until
			continue
		}
		logf.FromContext(ctx).Info("deregistered every backend", "target", target, "count", len(addrs), "why", why)
		r.Events.Normal(bg, events.BackendsDeregistered, "Deregister", "deregistered %s from target %s: %s", summarize(addrs), target, why)
	}
	return r.stillDraining(bg, left, deadline)
}

// recordedByOthers reads, around the cache, the backends the other live
// groups record as their own.
func (r *Reconciler) recordedByOthers(ctx context.Context, bg *v1alpha1.BackendGroup) (map[TargetBackend]bool, error) {
	all := &v1alpha1.BackendGroupList{}
	if err := r.reader().List(ctx, all); err != nil {
		return nil, fmt.Errorf("listing BackendGroups: %w", err)
	}
	out := map[TargetBackend]bool{}
	for i := range all.Items {
		other := &all.Items[i]
		if other.UID == bg.UID || !other.DeletionTimestamp.IsZero() {
			continue
		}
		for tb := range recordsOf(other) {
			out[tb] = true
		}
	}
	return out, nil
}

// inBatches calls fn on consecutive slices of items no longer than size (all at once when size <= 0).
func inBatches[T any](items []T, size int, fn func([]T) error) error {
	if size <= 0 {
		size = len(items)
	}
	for chunk := range slices.Chunk(items, max(size, 1)) {
		if err := fn(chunk); err != nil {
			return err
		}
	}
	return nil
}

// knownTargets lists the spec's targets and the former ones the status still records.
func knownTargets(bg *v1alpha1.BackendGroup) []string { return targets.Known(bg) }

// retiredTargets lists the targets the status records that the spec no longer names.
func retiredTargets(bg *v1alpha1.BackendGroup) []string {
	spec := targetsOf(bg)
	var out []string
	for _, t := range bg.Status.Targets {
		if !slices.Contains(spec, t) {
			out = append(out, t)
		}
	}
	return out
}

// targetsOf lists the group's distinct targets in spec order.
func targetsOf(bg *v1alpha1.BackendGroup) []string { return targets.Of(bg) }

// summarize lists up to five addresses and counts the rest, for events.
func summarize(addrs []netip.AddrPort) string {
	const show = 5
	parts := make([]string, 0, show)
	for i, a := range addrs {
		if i == show {
			break
		}
		parts = append(parts, a.String())
	}
	s := fmt.Sprintf("%d backends (%s", len(addrs), strings.Join(parts, ", "))
	if len(addrs) > show {
		s += fmt.Sprintf(" and %d more", len(addrs)-show)
	}
	return s + ")"
}
