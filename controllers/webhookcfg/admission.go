package webhookcfg

import (
	"context"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	podwebhook "github.com/lbgate/lbgate/webhook"
)

var (
	// admissions counts pod admissions by what the webhook did.
	admissions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbgate_webhook_admissions_total",
		Help: "Pod admissions handled by the webhook, by result: mutated, unchanged, skipped or error (admitted unchanged).",
	}, []string{"result"})
	// handleSeconds is the time the handler takes, from decoded request to answer.
	handleSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "lbgate_webhook_handle_duration_seconds",
		Help:    "Time the pod webhook's handler takes for one admission request (lookup, mutation and patch).",
		Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16), // 50µs to about 1.6s
	})
	// preStops counts admitted pods that a Service selects by where their
	// preStop delay came from.
	preStops = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbgate_webhook_prestop_total",
		Help: "Pods admitted with the gate of at least one group, by where their preStop sleep came from: service (a Service's lbgate.dev/prestop-delay), default (no Service sets one) or off (a Service sets \"0\"). Containers with a preStop hook of their own keep it.",
	}, []string{"source"})
	// liveReads counts admissions that read the namespace's Services live.
	liveReads = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "lbgate_webhook_live_reads_total",
		Help: "Pod admissions that read the namespace's Services from the apiserver because no cached Service selected the pod.",
	})
	// liveReadFailures counts admissions that decided from the cache because
	// the live read of the namespace's Services failed or timed out.
	liveReadFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "lbgate_webhook_live_read_failures_total",
		Help: "Pod admissions whose live read of the namespace's Services failed or timed out, so the webhook decided from its cache (a Service created just before the pod may have been missed).",
	})
)

func init() {
	metrics.Registry.MustRegister(admissions, handleSeconds, preStops, liveReads, liveReadFailures)
}

// timedHandler records how long the handler takes.
type timedHandler struct{ admission.Handler }

// Handle implements admission.Handler.
func (t timedHandler) Handle(ctx context.Context, req admission.Request) admission.Response {
	start := time.Now()
	defer func() { handleSeconds.Observe(time.Since(start).Seconds()) }()
	return t.Handler.Handle(ctx, req)
}

// observeAdmission logs and counts each admission: errors at info level (the
// pod was admitted without gates), the rest at debug level, with where the
// pod's preStop delay came from (preStop: Service, Default or Off) when a
// group selects it. Dry-run requests are logged but not counted.
func observeAdmission(log logr.Logger) func(context.Context, podwebhook.Outcome) {
	return func(_ context.Context, out podwebhook.Outcome) {
		result := "unchanged"
		switch {
		case out.Err != nil:
			result = "error"
		case out.Result.Skipped != "":
			result = "skipped"
		case out.Result.Changed():
			result = "mutated"
		}
		kv := []any{"namespace", out.Namespace, "pod", out.Name, "dryRun", out.DryRun, "result", out.Result.String()}
		if source := out.Result.PreStopSource; source != "" {
			kv = append(kv, "preStop", string(source))
		}
		if out.Err != nil {
			log.Info("pod admitted without the webhook's changes", append(kv, "error", out.Err.Error())...)
		} else {
			log.V(1).Info("pod admitted", kv...)
		}
		if out.DryRun {
			return
		}
		admissions.WithLabelValues(result).Inc()
		if source := out.Result.PreStopSource; source != "" && out.Err == nil {
			preStops.WithLabelValues(strings.ToLower(string(source))).Inc()
		}
	}
}
