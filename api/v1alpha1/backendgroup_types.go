package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// NetworkMode says how pod IPs reach the load balancer.
// +kubebuilder:validation:Enum=eni;global-router
type NetworkMode string

const (
	// NetworkModeENI binds pod IPs that are VPC addresses on elastic network interfaces.
	NetworkModeENI NetworkMode = "eni"
	// NetworkModeGlobalRouter binds pod IPs from the cluster's container range, routed through the node.
	NetworkModeGlobalRouter NetworkMode = "global-router"
)

// HealthCheckProtocol is the kind of health check the load balancer runs.
// +kubebuilder:validation:Enum=http;tcp
type HealthCheckProtocol string

const (
	// HealthCheckHTTP sends an HTTP GET to Path and expects a 2xx or 3xx answer.
	HealthCheckHTTP HealthCheckProtocol = "http"
	// HealthCheckTCP only opens a TCP connection.
	HealthCheckTCP HealthCheckProtocol = "tcp"
)

// PortBinding binds one Service port to one load-balancer target.
type PortBinding struct {
	// Port is the Service port number.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`

	// Target is the provider's id of the load-balancer target (for HAProxy, a backend name).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Target string `json:"target"`
}

// HealthCheck is the load balancer's health check for the backends of a group.
// Unset fields take the provider's defaults.
type HealthCheck struct {
	// Protocol is http or tcp.
	// +optional
	Protocol HealthCheckProtocol `json:"protocol,omitempty"`

	// Path is the HTTP path to check, for the http protocol.
	// +optional
	Path string `json:"path,omitempty"`

	// IntervalSeconds is the time between two checks.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=300
	// +optional
	IntervalSeconds *int32 `json:"intervalSeconds,omitempty"`

	// TimeoutSeconds is how long one check may take.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=60
	// +optional
	TimeoutSeconds *int32 `json:"timeoutSeconds,omitempty"`

	// HealthyThreshold is the number of passed checks in a row that make a backend healthy.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10
	// +optional
	HealthyThreshold *int32 `json:"healthyThreshold,omitempty"`

	// UnhealthyThreshold is the number of failed checks in a row that make a backend unhealthy.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10
	// +optional
	UnhealthyThreshold *int32 `json:"unhealthyThreshold,omitempty"`
}

// BackendGroupSpec is the desired binding of a Service's pods to load-balancer targets.
type BackendGroupSpec struct {
	// ServiceName is the Service, in the same namespace, whose selector picks the pods.
	// +kubebuilder:validation:MinLength=1
	ServiceName string `json:"serviceName"`

	// Ports binds Service ports to load-balancer targets.
	// +kubebuilder:validation:MinItems=1
	// +listType=map
	// +listMapKey=port
	Ports []PortBinding `json:"ports"`

	// NetworkMode is how pod IPs reach the load balancer; empty means the operator's default.
	// +optional
	NetworkMode NetworkMode `json:"networkMode,omitempty"`

	// HealthCheck overrides the provider's default health check.
	// +optional
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`

	// Weight is the load-balancer weight of each backend, 0 to 100.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +kubebuilder:default=10
	// +optional
	Weight *int32 `json:"weight,omitempty"`

	// MaxBackends is the most pods the group binds at once; further pods wait in order of creation.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	// +kubebuilder:default=200
	// +optional
	MaxBackends *int32 `json:"maxBackends,omitempty"`

	// DeregistrationDelay is how long a leaving pod drains before its backends are removed.
	// +kubebuilder:default="15s"
	// +optional
	DeregistrationDelay *metav1.Duration `json:"deregistrationDelay,omitempty"`

	// ReadinessTimeout, when set, releases the gate of a pod whose backends
	// were registered this long ago and that the load balancer still does
	// not report healthy (reason ReadinessTimeout): a rollout finishes
	// rather than waits for a misconfigured load balancer. Unset: gates wait.
	// +optional
	ReadinessTimeout *metav1.Duration `json:"readinessTimeout,omitempty"`

	// SlowStart, when set, ramps a newly healthy backend's weight from low
	// to its full weight over this long, for apps that warm up. The provider
	// must support it (see the Accepted condition).
	// +optional
	SlowStart *metav1.Duration `json:"slowStart,omitempty"`
}

// BackendGroupStatus is what the operator last observed and did.
type BackendGroupStatus struct {
	// ObservedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// NetworkMode is the mode in force (the spec's, or the operator default).
	// +optional
	NetworkMode NetworkMode `json:"networkMode,omitempty"`

	// Desired is the number of pods the group should bind now.
	// +optional
	Desired int32 `json:"desired"`

	// Registered is the number of those pods registered on every target.
	// +optional
	Registered int32 `json:"registered"`

	// Healthy is the number of those pods the load balancer reports healthy on every target.
	// +optional
	Healthy int32 `json:"healthy"`

	// Waiting is the number of pods held back by the backend quota.
	// +optional
	Waiting int32 `json:"waiting,omitempty"`

	// Targets are the load-balancer targets the group may have backends on:
	// those of the spec, plus former ones until their backends are removed.
	// +listType=set
	// +optional
	Targets []string `json:"targets,omitempty"`

	// UngatedPods is the number of selected pods that carry no readiness
	// gate of this group (created before the Service opted in, or while the
	// webhook was down): they are bound, but rollouts do not wait for the
	// load balancer for them.
	// +optional
	UngatedPods int32 `json:"ungatedPods,omitempty"`

	// TimedOutPods is the number of selected pods whose gate was released
	// by the readiness timeout while the load balancer did not report them
	// healthy.
	// +optional
	TimedOutPods int32 `json:"timedOutPods,omitempty"`

	// HealthCheck is the health check in force on the load balancer for
	// the group's backends: the spec's settings the provider applies, and
	// the provider's (or the target's own) for the rest.
	// +optional
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`

	// Backends are the backends lbgate holds on the load balancer, each with
	// the pod it was registered for. A backend is evidence of health only
	// for the pod recorded here: an address that changes hands is checked
	// afresh before the new pod's gate may turn True.
	// +listType=map
	// +listMapKey=target
	// +listMapKey=address
	// +optional
	Backends []BackendRecord `json:"backends,omitempty"`

	// Conditions are Accepted, Ready, QuotaExceeded and Degraded.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// BackendRecord is one backend lbgate holds on a target, and whose it is.
type BackendRecord struct {
	// Target is the load-balancer target id.
	Target string `json:"target"`
	// Address is the backend's ip:port.
	Address string `json:"address"`
	// Pod is the name of the pod the backend was registered for.
	// +optional
	Pod string `json:"pod,omitempty"`
	// PodUID is the UID of that pod; empty when lbgate found the backend on
	// the load balancer without knowing whose it is.
	// +optional
	PodUID types.UID `json:"podUID,omitempty"`
	// RegisteredAt is when lbgate registered the backend for this pod, for
	// a fresh health check (the readiness timeout counts from it).
	// +optional
	RegisteredAt *metav1.Time `json:"registeredAt,omitempty"`
	// RetiredAt is when lbgate found the backend no longer wanted while its
	// pod still served (a selector, port or target change). It stays in
	// traffic until its replacements are healthy, or the handover times out.
	// +optional
	RetiredAt *metav1.Time `json:"retiredAt,omitempty"`
	// DrainingSince is when lbgate drained the backend; it is removed one
	// deregistration delay later.
	// +optional
	DrainingSince *metav1.Time `json:"drainingSince,omitempty"`
	// IdleSince is when the load balancer first reported the draining
	// backend without any session (where it counts sessions); it is removed
	// after a short quiet period, before its deregistration delay is over.
	// +optional
	IdleSince *metav1.Time `json:"idleSince,omitempty"`
}

// BackendGroup binds the pods behind a Service straight to load-balancer targets
// and holds each pod's readiness gate until the load balancer reports it healthy.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=bg,categories=lbgate
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63",message="metadata.name must be at most 63 characters: it is the name part of the pods' readiness gate condition type"
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.status.networkMode`
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.status.desired`
// +kubebuilder:printcolumn:name="Registered",type=integer,JSONPath=`.status.registered`
// +kubebuilder:printcolumn:name="Healthy",type=integer,JSONPath=`.status.healthy`
// +kubebuilder:printcolumn:name="Ungated",type=integer,JSONPath=`.status.ungatedPods`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BackendGroup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BackendGroupSpec   `json:"spec,omitempty"`
	Status BackendGroupStatus `json:"status,omitempty"`
}

// BackendGroupList is a list of BackendGroups.
// +kubebuilder:object:root=true
type BackendGroupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BackendGroup `json:"items"`
}
