package nodesim

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Probe defaults the kubelet (and the API server's defaulting) applies to a
// readiness probe whose fields are zero (pkg/apis/core/v1/defaults.go).
const (
	defaultProbeTimeoutSeconds   = 1
	defaultProbePeriodSeconds    = 10
	defaultProbeSuccessThreshold = 1
	defaultProbeFailureThreshold = 3
	defaultProbeInitialDelaySecs = 0
)

// probeResult is the outcome of one probe, as the kubelet's results package has it.
type probeResult int

const (
	// probeFailure: the probe ran and failed (connection refused, timeout, status >= 400).
	probeFailure probeResult = iota + 1
	// probeSuccess: the probe ran and passed (status 200-399, TCP connect).
	probeSuccess
)

func (r probeResult) String() string {
	switch r {
	case probeSuccess:
		return "success"
	case probeFailure:
		return "failure"
	}
	return "unknown"
}

// probeSettings are a readiness probe's timing and thresholds with the
// kubelet's defaults filled in.
type probeSettings struct {
	Timeout          time.Duration
	Period           time.Duration
	InitialDelay     time.Duration
	SuccessThreshold int
	FailureThreshold int
}

// settingsFor returns the settings of probe p, defaulting zero fields.
func settingsFor(p *corev1.Probe) probeSettings {
	orDefault := func(v, d int32) int32 {
		if v <= 0 {
			return d
		}
		return v
	}
	initial := p.InitialDelaySeconds
	if initial < 0 {
		initial = defaultProbeInitialDelaySecs
	}
	return probeSettings{
		Timeout:          time.Duration(orDefault(p.TimeoutSeconds, defaultProbeTimeoutSeconds)) * time.Second,
		Period:           time.Duration(orDefault(p.PeriodSeconds, defaultProbePeriodSeconds)) * time.Second,
		InitialDelay:     time.Duration(initial) * time.Second,
		SuccessThreshold: int(orDefault(p.SuccessThreshold, defaultProbeSuccessThreshold)),
		FailureThreshold: int(orDefault(p.FailureThreshold, defaultProbeFailureThreshold)),
	}
}

// readiness is one container's readiness-probe state, kept as the kubelet's
// prober worker keeps it (pkg/kubelet/prober/worker.go): the stored result
// starts as Failure (a container starts not ready), and flips only after
// successThreshold successes or failureThreshold failures in a row.
type readiness struct {
	successThreshold int
	failureThreshold int

	ready      bool
	lastResult probeResult
	resultRun  int
}

// newReadiness returns the state of a container that has just started.
func newReadiness(s probeSettings) *readiness {
	return &readiness{successThreshold: s.SuccessThreshold, failureThreshold: s.FailureThreshold}
}

// observe records one probe result and reports whether the container's
// readiness changed.
func (r *readiness) observe(res probeResult) (changed bool) {
	if r.lastResult == res {
		r.resultRun++
	} else {
		r.lastResult = res
		r.resultRun = 1
	}
	if (res == probeFailure && r.resultRun < r.failureThreshold) ||
		(res == probeSuccess && r.resultRun < r.successThreshold) {
		return false
	}
	was := r.ready
	r.ready = res == probeSuccess
	return was != r.ready
}

// Ready reports the stored probe result: true once the probe has passed.
func (r *readiness) Ready() bool { return r.ready }

// containerReady is the kubelet's container Ready rule
// (prober_manager.UpdatePodStatus): a container that is not running is not
// ready; a running container without a readiness probe is ready at once; else
// it is ready when its readiness probe says so.
func containerReady(running bool, probe *readiness) bool {
	switch {
	case !running:
		return false
	case probe == nil:
		return true
	default:
		return probe.Ready()
	}
}

// probeDue reports whether a probe may run at now for a container that
// started at startedAt: the kubelet skips probes during initialDelaySeconds,
// comparing whole seconds (int32(time.Since(startedAt).Seconds()) < initialDelay).
func probeDue(startedAt, now time.Time, s probeSettings) bool {
	return int64(now.Sub(startedAt).Seconds()) >= int64(s.InitialDelay.Seconds())
}
