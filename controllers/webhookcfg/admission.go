package webhookcfg

import (
	"context"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	podwebhook "github.com/lbgate/lbgate/webhook"
)

// admissions counts pod admissions by what the webhook did.
var admissions = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "lbgate_webhook_admissions_total",
	Help: "Pod admissions handled by the webhook, by result: mutated, unchanged, skipped or error (admitted unchanged).",
}, []string{"result"})

func init() { metrics.Registry.MustRegister(admissions) }

// observeAdmission logs and counts each admission: errors at info level (the
// pod was admitted without gates), the rest at debug level. Dry-run
// requests are logged but not counted.
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
		if out.Err != nil {
			log.Info("pod admitted without the webhook's changes", append(kv, "error", out.Err.Error())...)
		} else {
			log.V(1).Info("pod admitted", kv...)
		}
		if !out.DryRun {
			admissions.WithLabelValues(result).Inc()
		}
	}
}
