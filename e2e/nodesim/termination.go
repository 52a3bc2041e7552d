package nodesim

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

const (
	// defaultTerminationGracePeriodSeconds is the API default of spec.terminationGracePeriodSeconds.
	defaultTerminationGracePeriodSeconds = 30
	// minimumGracePeriodSeconds is the kubelet's smallest SIGTERM-to-SIGKILL
	// window (kuberuntime minimumGracePeriodInSeconds).
	minimumGracePeriodSeconds = 2
	// exitCodeKilled is a container's exit code after SIGKILL (128 + 9).
	exitCodeKilled = 137
)

// gracePeriodSeconds is the grace period the kubelet uses to kill a deleted
// pod's containers (kuberuntime setTerminationGracePeriod): the delete's
// grace period (metadata.deletionGracePeriodSeconds), else
// spec.terminationGracePeriodSeconds, else the API default.
func gracePeriodSeconds(pod *corev1.Pod) int64 {
	switch {
	case pod.DeletionGracePeriodSeconds != nil:
		return *pod.DeletionGracePeriodSeconds
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		return *pod.Spec.TerminationGracePeriodSeconds
	}
	return defaultTerminationGracePeriodSeconds
}

// runsPreStop reports whether the kubelet runs the container's preStop hook:
// only when it has one and the grace period is above zero.
func runsPreStop(c *corev1.Container, grace int64) bool {
	return c.Lifecycle != nil && c.Lifecycle.PreStop != nil && grace > 0
}

// preStopTimeout is how long the kubelet waits for a preStop hook: the whole
// grace period.
func preStopTimeout(grace int64) time.Duration { return time.Duration(grace) * time.Second }

// stopWindow is the time between SIGTERM and SIGKILL after a preStop hook
// that took elapsed: the kubelet subtracts the hook's time in whole seconds
// (truncated) from the grace period and never gives less than 2 s.
func stopWindow(grace int64, preStopElapsed time.Duration) time.Duration {
	rest := grace - int64(preStopElapsed.Seconds())
	if rest < minimumGracePeriodSeconds {
		rest = minimumGracePeriodSeconds
	}
	return time.Duration(rest) * time.Second
}

// terminalPhase is the phase of a pod whose containers all stopped: Succeeded
// when every container exited 0, else Failed.
func terminalPhase(exitCodes []int32) corev1.PodPhase {
	for _, code := range exitCodes {
		if code != 0 {
			return corev1.PodFailed
		}
	}
	return corev1.PodSucceeded
}

// preStopSleep returns the length of a sleep-action preStop hook, if the
// container has one.
func preStopSleep(c *corev1.Container) (time.Duration, bool) {
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		return 0, false
	}
	return time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second, true
}
