package v1alpha1

import "time"

// Annotation names a user puts on a Service to opt it in and tune its binding.
const (
	AnnotationPrefix = "lbgate.dev/"

	// AnnotationDirectAccess opts a Service in when "true".
	AnnotationDirectAccess = AnnotationPrefix + "direct-access"
	// AnnotationLoadBalancer names the provider target: one id, or PORT=ID,PORT=ID.
	AnnotationLoadBalancer = AnnotationPrefix + "load-balancer"
	// AnnotationNetworkMode is eni or global-router.
	AnnotationNetworkMode = AnnotationPrefix + "network-mode"
	// AnnotationMaxBackends is the backend quota of the group.
	AnnotationMaxBackends = AnnotationPrefix + "max-backends"
	// AnnotationWeight is the backend weight, 0 to 100.
	AnnotationWeight = AnnotationPrefix + "weight"
	// AnnotationHealthCheck is the health check, such as http:/healthz or tcp.
	AnnotationHealthCheck = AnnotationPrefix + "health-check"
	// AnnotationHealthCheckInterval is the time between checks, such as 5s.
	AnnotationHealthCheckInterval = AnnotationPrefix + "health-check-interval"
	// AnnotationHealthCheckTimeout is how long one check may take, such as 2s.
	AnnotationHealthCheckTimeout = AnnotationPrefix + "health-check-timeout"
	// AnnotationHealthCheckHealthyThreshold is the passed checks in a row that make a backend healthy.
	AnnotationHealthCheckHealthyThreshold = AnnotationPrefix + "health-check-healthy-threshold"
	// AnnotationHealthCheckUnhealthyThreshold is the failed checks in a row that make a backend unhealthy.
	AnnotationHealthCheckUnhealthyThreshold = AnnotationPrefix + "health-check-unhealthy-threshold"
	// AnnotationDeregistrationDelay is how long a leaving pod drains before removal.
	AnnotationDeregistrationDelay = AnnotationPrefix + "deregistration-delay"
	// AnnotationPreStopDelay makes the webhook add a preStop sleep of this length to new pods.
	AnnotationPreStopDelay = AnnotationPrefix + "prestop-delay"
	// AnnotationReadinessTimeout releases a gate that waits this long for the
	// load balancer after the pod's backends were registered (fail open).
	AnnotationReadinessTimeout = AnnotationPrefix + "readiness-timeout"
	// AnnotationSlowStart ramps a newly healthy backend's weight up to its full weight over this long.
	AnnotationSlowStart = AnnotationPrefix + "slow-start"
)

// Defaults applied when a Service or BackendGroup leaves a field unset.
const (
	DefaultMaxBackends         int32 = 200
	DefaultWeight              int32 = 10
	DefaultDeregistrationDelay       = 15 * time.Second
	// DefaultPreStopDelay is the preStop sleep the webhook gives every
	// container without a preStop hook of its own when none of the
	// Services selecting the pod sets lbgate.dev/prestop-delay: long enough
	// for lbgate to drain the backend and the load balancer to stop sending
	// new connections before the app gets SIGTERM ("0" turns it off).
	DefaultPreStopDelay = 5 * time.Second
)

// Readiness gates and conditions.
const (
	// GateConditionPrefix starts every pod readiness gate condition type lbgate owns;
	// the BackendGroup name follows it.
	GateConditionPrefix = "backend.lbgate.dev/"

	// FinalizerName keeps a BackendGroup until its backends are removed and its gates released.
	FinalizerName = "lbgate.dev/backends"

	// ConditionAccepted is True when the Service's annotations parse; owned by the Service controller.
	ConditionAccepted = "Accepted"
	// ConditionReady is True when every desired backend is registered and healthy.
	ConditionReady = "Ready"
	// ConditionQuotaExceeded is True while pods wait for a place under MaxBackends.
	ConditionQuotaExceeded = "QuotaExceeded"
	// ConditionDegraded is True while provider calls fail.
	ConditionDegraded = "Degraded"
)

// GateConditionType is the pod condition type of the readiness gate for a BackendGroup.
func GateConditionType(backendGroupName string) string {
	return GateConditionPrefix + backendGroupName
}

// Reasons of the pod readiness gate condition, part of the public contract.
const (
	// GateReasonHealthy: the load balancer reports every backend of the pod healthy.
	GateReasonHealthy = "Healthy"
	// GateReasonRegistering: the pod is not registered on every target yet.
	GateReasonRegistering = "Registering"
	// GateReasonHealthCheckPending: registered, the load balancer has not decided yet.
	GateReasonHealthCheckPending = "HealthCheckPending"
	// GateReasonUnhealthy: the load balancer's health check fails.
	GateReasonUnhealthy = "Unhealthy"
	// GateReasonQuotaExceeded: the pod waits for a place under the backend quota.
	GateReasonQuotaExceeded = "QuotaExceeded"
	// GateReasonNetworkModeMismatch: the pod IP is not of the group's network mode.
	GateReasonNetworkModeMismatch = "NetworkModeMismatch"
	// GateReasonHostNetwork: hostNetwork pods are never bound.
	GateReasonHostNetwork = "HostNetwork"
	// GateReasonTargetPortNotFound: a Service port's target port names no port of the pod.
	GateReasonTargetPortNotFound = "TargetPortNotFound"
	// GateReasonNotSelected: the pod no longer matches the Service selector (or the Service is gone or has no selector), so the group releases it.
	GateReasonNotSelected = "NotSelected"
	// GateReasonTargetConflict: another BackendGroup binds one of this group's
	// targets and keeps it; this group registers nothing until the conflict is resolved.
	GateReasonTargetConflict = "TargetConflict"
	// GateReasonReadinessTimeout: the load balancer did not report the pod
	// healthy within the group's readiness timeout; the gate was released
	// anyway (fail open), as the Service asked.
	GateReasonReadinessTimeout = "ReadinessTimeout"
	// GateReasonBackendGroupRemoved: the group was deleted or the Service opted out; the gate is released.
	GateReasonBackendGroupRemoved = "BackendGroupRemoved"
)
