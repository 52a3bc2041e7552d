package events

// Event reasons. They are stable: users and alerts match on them.
const (
	// InvalidAnnotation: a lbgate.dev/ annotation of the Service has a bad value.
	InvalidAnnotation = "InvalidAnnotation"
	// BackendGroupCreated: an opted-in Service got its BackendGroup.
	BackendGroupCreated = "BackendGroupCreated"
	// BackendGroupUpdated: the BackendGroup follows a change of the Service's annotations.
	BackendGroupUpdated = "BackendGroupUpdated"
	// BackendGroupDeleted: the Service opted out or was deleted.
	BackendGroupDeleted = "BackendGroupDeleted"
	// BackendGroupConflict: a BackendGroup of the Service's name exists and belongs to something else.
	BackendGroupConflict = "BackendGroupConflict"
	// BackendsRegistered: pods were registered on a load-balancer target.
	BackendsRegistered = "BackendsRegistered"
	// BackendsDraining: leaving pods were set to drain.
	BackendsDraining = "BackendsDraining"
	// BackendsDeregistered: backends were removed from a target.
	BackendsDeregistered = "BackendsDeregistered"
	// ProviderError: a load-balancer call failed.
	ProviderError = "ProviderError"
	// HandoverWaiting: retired backends stay in traffic until their replacements are healthy.
	HandoverWaiting = "HandoverWaiting"
	// HandoverTimeout: retired backends were drained before their replacements turned healthy.
	HandoverTimeout = "HandoverTimeout"
	// TargetConflict: another BackendGroup already binds the target.
	TargetConflict = "TargetConflict"
	// TargetNotFound: the load-balancer target does not exist.
	TargetNotFound = "TargetNotFound"
	// QuotaExceeded: pods wait for a place under the backend quota.
	QuotaExceeded = "QuotaExceeded"
	// NetworkModeMismatch: pods whose IP is not of the group's network mode are not bound.
	NetworkModeMismatch = "NetworkModeMismatch"
	// HostNetworkPod: hostNetwork pods are never bound.
	HostNetworkPod = "HostNetworkPod"
	// PodWithoutGate: pods selected by the group carry no readiness gate (created while the webhook was down).
	PodWithoutGate = "PodWithoutGate"
	// ServiceNotFound: the BackendGroup's Service does not exist or selects nothing.
	ServiceNotFound = "ServiceNotFound"
	// ReadinessTimeout: a gate was released by the group's readiness timeout, without the load balancer's approval.
	ReadinessTimeout = "ReadinessTimeout"
	// RolloutBlocked: waiting pods can never get a place under the quota: no bound pod leaves to free one.
	RolloutBlocked = "RolloutBlocked"
	// BackendUnhealthy: the load balancer's health check of a pod fails; the
	// event on the pod carries the load balancer's own words, which the
	// gate's message leaves out (they change with every check).
	BackendUnhealthy = "BackendUnhealthy"
	// GatesReleased: the group was removed and the remaining pods' gates were set True.
	GatesReleased = "GatesReleased"
	// UnsupportedAnnotation: a Service annotation asks for a per-backend
	// setting the provider cannot apply on a target; the last good binding
	// stays in force.
	UnsupportedAnnotation = "UnsupportedAnnotation"
	// UnsupportedSetting: a BackendGroup asks for a per-backend setting the
	// provider cannot apply on a target; the group registers nothing new.
	UnsupportedSetting = "UnsupportedSetting"
)
