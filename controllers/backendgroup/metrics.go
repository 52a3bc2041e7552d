package backendgroup

import (
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

var (
	backendsGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "lbgate_backendgroup_pods",
		Help: "Pods of a BackendGroup by state: desired, registered, healthy, waiting (for quota).",
	}, []string{"namespace", "backendgroup", "state"})
	gateWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbgate_gate_writes_total",
		Help: "Readiness gate condition writes by status and reason.",
	}, []string{"status", "reason"})
	gateWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "lbgate_gate_wait_seconds",
		Help:    "Time from a pod's containers turning ready to its gate turning True: how long the load balancer held the rollout.",
		Buckets: prometheus.ExponentialBuckets(0.1, 2, 12),
	})
)

func init() {
	crmetrics.Registry.MustRegister(backendsGauge, gateWrites, gateWait)
}

func recordCounts(bg *v1alpha1.BackendGroup) {
	st := bg.Status
	for state, v := range map[string]int32{"desired": st.Desired, "registered": st.Registered, "healthy": st.Healthy, "waiting": st.Waiting} {
		backendsGauge.WithLabelValues(bg.Namespace, bg.Name, state).Set(float64(v))
	}
}

func forgetCounts(bg *v1alpha1.BackendGroup) {
	backendsGauge.DeletePartialMatch(prometheus.Labels{"namespace": bg.Namespace, "backendgroup": bg.Name})
}

func recordGateWrite(pod *corev1.Pod, next corev1.PodCondition) {
	gateWrites.WithLabelValues(string(next.Status), next.Reason).Inc()
	if next.Status != corev1.ConditionTrue || next.Reason != v1alpha1.GateReasonHealthy {
		return
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.ContainersReady && c.Status == corev1.ConditionTrue {
			gateWait.Observe(next.LastTransitionTime.Sub(c.LastTransitionTime.Time).Seconds())
		}
	}
}
