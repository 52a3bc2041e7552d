package backendgroup

// Load-balancer restarts: a provider that can lose what was registered on it
// (HAProxy forgets runtime servers on every restart and reload) reports it,
// and the groups bound to the lost targets are reconciled at once instead of
// at their next resync. The reconcile is the normal one: it finds the pods'
// backends missing and registers them again; gates that are True stay True.

import (
	"context"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/providers"
)

// TargetIndex indexes BackendGroups by the provider targets their spec
// binds (spec.ports[].target).
const TargetIndex = "spec.ports.target"

// ReasonLoadBalancerRestarted is the event reason on a group whose targets'
// load balancer lost its registrations (restart, reload).
const ReasonLoadBalancerRestarted = "LoadBalancerRestarted"

// settleWindow bounds how long after a loss the re-registered backends of
// the affected targets are followed until their checks decide.
const settleWindow = 30 * time.Second

var stateLosses = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "lbgate_load_balancer_state_losses_total",
	Help: "Times a provider reported that its load balancer lost registered backends (an HAProxy restart or reload), by provider.",
}, []string{"provider"})

func init() { crmetrics.Registry.MustRegister(stateLosses) }

// targetsOfGroup is the TargetIndex function.
func targetsOfGroup(o client.Object) []string { return targetsOf(o.(*v1alpha1.BackendGroup)) }

// setupStateLoss registers TargetIndex and, when the provider can tell that
// its load balancer lost registrations, a runnable that turns each loss
// into reconciles of the groups bound to the lost targets. It returns the
// source those reconciles come from (one that never fires otherwise).
func (r *Reconciler) setupStateLoss(ctx context.Context, mgr ctrl.Manager) (source.Source, error) {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.BackendGroup{}, TargetIndex, targetsOfGroup); err != nil {
		return nil, err
	}
	ch := make(chan event.GenericEvent, 128)
	src := source.Channel(ch, &handler.EnqueueRequestForObject{})
	w, ok := providers.StateLossWatcherOf(r.Provider)
	if !ok {
		return src, nil
	}
	return src, mgr.Add(&stateLossWatch{r: r, watcher: w, out: ch})
}

// stateLossWatch runs the provider's watch and answers each loss.
type stateLossWatch struct {
	r       *Reconciler
	watcher providers.StateLossWatcher
	out     chan<- event.GenericEvent
}

// NeedLeaderElection: only the leader reconciles, so only it needs to know.
func (w *stateLossWatch) NeedLeaderElection() bool { return true }

// Start runs the watch until ctx ends.
func (w *stateLossWatch) Start(ctx context.Context) error {
	logf.FromContext(ctx).WithName("lb-restart").Info("watching the load balancer for restarts", "provider", w.r.Provider.Name())
	w.watcher.WatchStateLoss(ctx, func(targets []string) { w.lost(ctx, targets) })
	return nil
}

// lost reconciles every group bound to one of targets now, and follows the
// targets until their re-registered backends are decided.
func (w *stateLossWatch) lost(ctx context.Context, targets []string) {
	logger := logf.FromContext(ctx).WithName("lb-restart")
	stateLosses.WithLabelValues(w.r.Provider.Name()).Inc()
	groups, bound := w.groupsOn(ctx, targets)
	logger.Info("the load balancer lost its registered backends; registering them again",
		"provider", w.r.Provider.Name(), "targets", len(targets), "boundTargets", bound, "groups", len(groups))
	for _, bg := range groups {
		w.r.Events.Normal(bg, ReasonLoadBalancerRestarted, "Register",
			"the load balancer lost its registrations (restart or reload): registering the group's pods again")
	}
	if !w.enqueue(ctx, groups) {
		return
	}
	go w.settle(ctx, bound, groups)
}

// groupsOn lists the groups bound to any of targets, and those targets.
func (w *stateLossWatch) groupsOn(ctx context.Context, targets []string) ([]*v1alpha1.BackendGroup, []string) {
	var groups []*v1alpha1.BackendGroup
	var bound []string
	seen := map[client.ObjectKey]bool{}
	for _, t := range targets {
		list := &v1alpha1.BackendGroupList{}
		if err := w.r.Client.List(ctx, list, client.MatchingFields{TargetIndex: t}); err != nil {
			logf.FromContext(ctx).Error(err, "listing the groups of a target", "target", t)
			continue
		}
		for i := range list.Items {
			bg := &list.Items[i]
			if !slices.Contains(bound, t) {
				bound = append(bound, t)
			}
			if key := client.ObjectKeyFromObject(bg); !seen[key] {
				seen[key] = true
				groups = append(groups, bg)
			}
		}
	}
	return groups, bound
}

// enqueue asks for a reconcile of each group; false when ctx ended.
func (w *stateLossWatch) enqueue(ctx context.Context, groups []*v1alpha1.BackendGroup) bool {
	for _, bg := range groups {
		select {
		case w.out <- event.GenericEvent{Object: bg}:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// settle lists the targets at the pending interval until every backend on
// them has been decided by a check (none is Initial), for at most
// settleWindow, then reconciles the groups once more. Listing completes a
// registration whose check passed (see providers/haproxy List), so traffic
// comes back as soon as the checks pass, not at the group's next resync.
func (w *stateLossWatch) settle(ctx context.Context, targets []string, groups []*v1alpha1.BackendGroup) {
	interval := w.r.Options.withDefaults().PendingInterval
	deadline := time.Now().Add(settleWindow)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
		if w.decided(ctx, targets) {
			break
		}
	}
	w.enqueue(ctx, groups)
}

// decided reports whether every target lists backends and none is waiting for its first decision.
func (w *stateLossWatch) decided(ctx context.Context, targets []string) bool {
	for _, t := range targets {
		list, err := w.r.Provider.List(ctx, t)
		if err != nil || len(list) == 0 {
			return false
		}
		for _, b := range list {
			if b.Health == providers.HealthInitial {
				return false
			}
		}
	}
	return true
}
