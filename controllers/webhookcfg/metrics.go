package webhookcfg

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	// repairs counts writes that put something back, by object and what was wrong.
	repairs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbgate_webhook_repairs_total",
		Help: "Repairs of the webhook's certificate Secret or configuration, by object and reason.",
	}, []string{"object", "reason"})
	// rotations counts certificate renewal and rotation steps.
	rotations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbgate_webhook_certificate_rotations_total",
		Help: "Certificate renewal and CA rotation steps taken, by step.",
	}, []string{"step"})
	// certificateManaged is 1 while lbgate manages the certificate Secret.
	certificateManaged = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "lbgate_webhook_certificate_managed",
		Help: "1 when lbgate manages the webhook certificate Secret; 0 when the Secret is user-supplied or cert-manager's.",
	})
	// servedExpiry is the NotAfter of the certificate this replica serves.
	servedExpiry = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "lbgate_webhook_certificate_expiry_timestamp_seconds",
		Help: "Expiry (Unix time) of the certificate this replica serves.",
	})
	// servedTrusted is 1 while the live caBundle trusts what this replica serves.
	servedTrusted = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "lbgate_webhook_certificate_trusted",
		Help: "1 when the live caBundle trusts the certificate this replica serves (the readiness check).",
	})
)

func init() {
	metrics.Registry.MustRegister(repairs, rotations, certificateManaged, servedExpiry, servedTrusted)
}
