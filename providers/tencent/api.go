package tencent

// The request and response bodies of the CLB API (service "clb", version
// 2018-03-17) that the provider calls, written from the public API
// reference. Only the fields the provider uses are declared; the API
// ignores absent optional fields and the decoder ignores unknown ones.
// Both the provider and the local simulator (clbsim) speak through these
// types, so a field name wrong here would be wrong on both sides: the
// names follow the reference letter for letter.

// The CLB API's identity.
const (
	// Service is the API's service name, signed into every request.
	Service = "clb"
	// Version is the API version these types follow.
	Version = "2018-03-17"
)

// The actions the provider calls.
const (
	ActionBatchRegisterTargets    = "BatchRegisterTargets"
	ActionBatchDeregisterTargets  = "BatchDeregisterTargets"
	ActionBatchModifyTargetWeight = "BatchModifyTargetWeight"
	ActionDescribeTargetHealth    = "DescribeTargetHealth"
	ActionDescribeQuota           = "DescribeQuota"
	ActionDescribeTaskStatus      = "DescribeTaskStatus"
	ActionDescribeListeners       = "DescribeListeners"
)

// QuotaTargetBind is the DescribeQuota id of the number of backends one
// forwarding rule (a layer-4 listener or a layer-7 rule) may hold.
const QuotaTargetBind = "TOTAL_TARGET_BIND_QUOTA"

// The values of TargetHealth.HealthStatusDetail.
const (
	// HealthAlive: the health check passes; the target takes traffic if its weight is above 0.
	HealthAlive = "Alive"
	// HealthDead: the health check fails.
	HealthDead = "Dead"
	// HealthUnknown: no check has decided yet (not probed, probing, or unknown).
	HealthUnknown = "Unknown"
	// HealthClose: the listener or rule has its health check turned off.
	HealthClose = "Close"
)

// The values of DescribeTaskStatusResponse.Status.
const (
	TaskSucceeded = 0
	TaskFailed    = 1
	TaskRunning   = 2
)

// BatchTarget is one backend of BatchRegisterTargets or
// BatchDeregisterTargets: an IP and port on a listener, and on a layer-7
// listener one of its rules.
type BatchTarget struct {
	ListenerId string `json:"ListenerId"`
	Port       int64  `json:"Port"`
	// EniIp is the bound IP: an ENI's IP or another address in the VPC.
	EniIp string `json:"EniIp,omitempty"`
	// Weight is 0 to 100; the API binds with 10 when it is absent.
	Weight *int64 `json:"Weight,omitempty"`
	// LocationId is the layer-7 rule; required on layer-7 listeners.
	LocationId string `json:"LocationId,omitempty"`
}

// BatchTargetsRequest is the body of BatchRegisterTargets and BatchDeregisterTargets.
type BatchTargetsRequest struct {
	LoadBalancerId string        `json:"LoadBalancerId"`
	Targets        []BatchTarget `json:"Targets"`
}

// BatchTargetsResponse is the answer of BatchRegisterTargets and
// BatchDeregisterTargets. The change is asynchronous: RequestId is the
// task id to give DescribeTaskStatus. FailListenerIdSet lists the
// listeners whose part of the batch failed (the rest succeeded).
type BatchTargetsResponse struct {
	FailListenerIdSet []string `json:"FailListenerIdSet"`
	Message           string   `json:"Message"`
	RequestId         string   `json:"RequestId"`
}

// WeightTarget is a backend whose weight BatchModifyTargetWeight changes.
type WeightTarget struct {
	Port   int64  `json:"Port"`
	EniIp  string `json:"EniIp,omitempty"`
	Weight *int64 `json:"Weight,omitempty"`
}

// RsWeightRule is one listener's (or layer-7 rule's) part of BatchModifyTargetWeight.
type RsWeightRule struct {
	ListenerId string         `json:"ListenerId"`
	LocationId string         `json:"LocationId,omitempty"`
	Targets    []WeightTarget `json:"Targets"`
	// Weight applies to the Targets that set none.
	Weight *int64 `json:"Weight,omitempty"`
}

// BatchModifyTargetWeightRequest is the body of BatchModifyTargetWeight:
// at most 100 rules, 50 targets a rule, 500 targets in all.
type BatchModifyTargetWeightRequest struct {
	LoadBalancerId string         `json:"LoadBalancerId"`
	ModifyList     []RsWeightRule `json:"ModifyList"`
}

// TaskResponse is the answer of an asynchronous call that returns only its task id.
type TaskResponse struct {
	RequestId string `json:"RequestId"`
}

// DescribeTargetHealthRequest is the body of DescribeTargetHealth.
type DescribeTargetHealthRequest struct {
	LoadBalancerIds []string `json:"LoadBalancerIds"`
	ListenerIds     []string `json:"ListenerIds,omitempty"`
	LocationIds     []string `json:"LocationIds,omitempty"`
}

// TargetHealth is one backend's health as the load balancer sees it.
type TargetHealth struct {
	IP   string `json:"IP"`
	Port int64  `json:"Port"`
	// HealthStatus is true only when the check passes.
	HealthStatus bool `json:"HealthStatus"`
	// HealthStatusDetail is Alive, Dead, Unknown or Close.
	HealthStatusDetail string `json:"HealthStatusDetail"`
	Weight             int64  `json:"Weight"`
}

// RuleHealth is the health of a forwarding rule's backends.
type RuleHealth struct {
	LocationId string         `json:"LocationId"`
	Targets    []TargetHealth `json:"Targets"`
}

// ListenerHealth is the health of a listener's rules.
type ListenerHealth struct {
	ListenerId string       `json:"ListenerId"`
	Protocol   string       `json:"Protocol"`
	Port       int64        `json:"Port"`
	Rules      []RuleHealth `json:"Rules"`
}

// LoadBalancerHealth is the health of a load balancer's listeners.
type LoadBalancerHealth struct {
	LoadBalancerId string           `json:"LoadBalancerId"`
	Listeners      []ListenerHealth `json:"Listeners"`
}

// DescribeTargetHealthResponse is the answer of DescribeTargetHealth.
type DescribeTargetHealthResponse struct {
	LoadBalancers []LoadBalancerHealth `json:"LoadBalancers"`
	RequestId     string               `json:"RequestId"`
}

// DescribeQuotaRequest is the (empty) body of DescribeQuota.
type DescribeQuotaRequest struct{}

// Quota is one quota of the account in the region.
type Quota struct {
	QuotaId string `json:"QuotaId"`
	// QuotaCurrent is null where a current use means nothing.
	QuotaCurrent *int64 `json:"QuotaCurrent"`
	QuotaLimit   int64  `json:"QuotaLimit"`
}

// DescribeQuotaResponse is the answer of DescribeQuota.
type DescribeQuotaResponse struct {
	QuotaSet  []Quota `json:"QuotaSet"`
	RequestId string  `json:"RequestId"`
}

// DescribeTaskStatusRequest is the body of DescribeTaskStatus: TaskId is
// the RequestId of the asynchronous call.
type DescribeTaskStatusRequest struct {
	TaskId string `json:"TaskId"`
}

// DescribeTaskStatusResponse is the answer of DescribeTaskStatus.
type DescribeTaskStatusResponse struct {
	// Status is TaskSucceeded, TaskFailed or TaskRunning.
	Status    int64  `json:"Status"`
	Message   string `json:"Message"`
	RequestId string `json:"RequestId"`
}

// DescribeListenersRequest is the body of DescribeListeners: the listeners
// of one load balancer, all of them or those named.
type DescribeListenersRequest struct {
	LoadBalancerId string   `json:"LoadBalancerId"`
	ListenerIds    []string `json:"ListenerIds,omitempty"`
}

// HealthCheck is a listener's (layer 4) or a rule's (layer 7) health check.
type HealthCheck struct {
	// HealthSwitch is 1 when the check is on, 0 when off.
	HealthSwitch int64 `json:"HealthSwitch"`
	// TimeOut and IntervalTime are in seconds.
	TimeOut      int64 `json:"TimeOut"`
	IntervalTime int64 `json:"IntervalTime"`
	// HealthNum and UnHealthNum are the passes and failures in a row that decide.
	HealthNum   int64 `json:"HealthNum"`
	UnHealthNum int64 `json:"UnHealthNum"`
	// CheckType is TCP, HTTP, HTTPS, GRPC, PING or CUSTOM.
	CheckType     string `json:"CheckType,omitempty"`
	HttpCheckPath string `json:"HttpCheckPath,omitempty"`
}

// RuleOutput is a layer-7 forwarding rule of a listener.
type RuleOutput struct {
	LocationId  string       `json:"LocationId"`
	HealthCheck *HealthCheck `json:"HealthCheck,omitempty"`
}

// Listener is a listener of a load balancer.
type Listener struct {
	ListenerId string `json:"ListenerId"`
	Protocol   string `json:"Protocol"`
	Port       int64  `json:"Port"`
	// HealthCheck is the listener's check (layer 4 only).
	HealthCheck *HealthCheck `json:"HealthCheck,omitempty"`
	// Rules are the forwarding rules (layer 7 only).
	Rules []RuleOutput `json:"Rules,omitempty"`
}

// DescribeListenersResponse is the answer of DescribeListeners.
type DescribeListenersResponse struct {
	Listeners  []Listener `json:"Listeners"`
	TotalCount int64      `json:"TotalCount"`
	RequestId  string     `json:"RequestId"`
}

// APIError is the error of a failed call: HTTP 200 with Response.Error.
type APIError struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

// The error codes the provider tells apart.
const (
	ErrRequestLimitExceeded = "RequestLimitExceeded"
	ErrLimitExceeded        = "LimitExceeded"
	ErrResourceInOperating  = "FailedOperation.ResourceInOperating"
	ErrLBIdNotFound         = "InvalidParameter.LBIdNotFound"
	ErrListenerIdNotFound   = "InvalidParameter.ListenerIdNotFound"
	ErrLocationNotFound     = "InvalidParameter.LocationNotFound"
	ErrInvalidParameter     = "InvalidParameter"
	ErrInvalidValueLength   = "InvalidParameterValue.Length"
	ErrInvalidValue         = "InvalidParameterValue"
	ErrDuplicate            = "InvalidParameterValue.Duplicate"
	ErrSignatureFailure     = "AuthFailure.SignatureFailure"
	ErrSignatureExpire      = "AuthFailure.SignatureExpire"
	ErrSecretIdNotFound     = "AuthFailure.SecretIdNotFound"
	// ErrCredential is the SDK's own code for a key it cannot use; the
	// client also answers it when the credential source fails.
	ErrCredential           = "ClientError.CredentialError"
	ErrUnauthorized         = "UnauthorizedOperation"
	ErrInternal             = "InternalError"
	ErrFailedOperation      = "FailedOperation"
	ErrUnsupportedOperation = "UnsupportedOperation"
)

// The API's limits on one call.
const (
	// MaxBatchTargets is the most targets one BatchRegisterTargets,
	// BatchDeregisterTargets or BatchModifyTargetWeight takes.
	MaxBatchTargets = 500
	// MaxWeightTargetsPerRule is the most Targets of one RsWeightRule.
	MaxWeightTargetsPerRule = 50
	// MaxWeightRules is the most rules of one BatchModifyTargetWeight.
	MaxWeightRules = 100
	// RequestsPerSecond is the default rate limit of each action.
	RequestsPerSecond = 20
	// SignatureSkewSeconds is how far a request's timestamp may be from the server's clock.
	SignatureSkewSeconds = 300
)
