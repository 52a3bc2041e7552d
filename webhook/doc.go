// Package webhook is lbgate's mutating admission webhook for pod CREATE.
//
// Mutate is the pure decision: it adds one readiness gate
// backend.lbgate.dev/<backendgroup> per BackendGroup whose Service selector
// picks the pod, and, when a Service asks for lbgate.dev/prestop-delay, a
// native sleep preStop hook to every container that has none. Handler adapts
// it to controller-runtime's admission.Handler: it decodes the pod, looks the
// groups up through a GroupLister and answers with a JSON patch. It never
// blocks a pod: any failure admits the pod unchanged, with a warning.
package webhook
