// Package webhook is lbgate's mutating admission webhook for pod CREATE.
//
// Mutate is the pure decision: it adds one readiness gate
// backend.lbgate.dev/<backendgroup> per BackendGroup whose Service selector
// picks the pod, and a native sleep preStop hook to every container that has
// none, so a leaving pod keeps serving while the load balancer drains it: as
// long as the Services' lbgate.dev/prestop-delay, v1alpha1.DefaultPreStopDelay
// (5 s) when they set none, no hook when they set "0". Handler adapts it to
// controller-runtime's admission.Handler: it decodes the pod, looks the
// groups up through a GroupLister and answers with a JSON patch. It never
// blocks a pod: any failure admits the pod unchanged, with a warning.
package webhook
