package backendgroup

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/providers"
)

// PodState is what the planner decided for one selected pod.
type PodState int

const (
	// StatePending: the pod has no IP yet.
	StatePending PodState = iota
	// StateWaitingContainers: not registered, and its containers are not ready yet.
	StateWaitingContainers
	// StateBound: the pod holds a place in the group and is (being) registered on every target.
	StateBound
	// StateQuotaWait: eligible, but every place under the quota is taken.
	StateQuotaWait
	// StateModeMismatch: the pod IP is not of the group's network mode.
	StateModeMismatch
	// StateHostNetwork: hostNetwork pods are never bound.
	StateHostNetwork
	// StatePortNotFound: a bound Service port's target port names no port of the pod.
	StatePortNotFound
	// StateLeaving: the pod is terminating or finished; its backends drain and go.
	StateLeaving
)

// TargetBackend is one backend of a pod on one target.
type TargetBackend struct {
	Target string
	Addr   netip.AddrPort
}

// PodPlan is the planner's decision for one pod.
type PodPlan struct {
	Pod      *corev1.Pod
	State    PodState
	Backends []TargetBackend
	// Detail says why, for gate messages.
	Detail string
}

// Input is everything the planner reads. The controller fetches it; the planner does no I/O.
type Input struct {
	Spec    v1alpha1.BackendGroupSpec
	Mode    v1alpha1.NetworkMode
	CIDRs   []netip.Prefix // eligible pod IP ranges of Mode; empty accepts every IP
	Service *corev1.Service
	// Pods are the pods the Service selector picks (terminating ones included).
	Pods []*corev1.Pod
	// Registered is what the provider lists, by target id.
	Registered map[string][]providers.BackendStatus
	// MaxBackends is the quota in force (spec and provider limit).
	MaxBackends int
	// Limits are the provider's limits by target id (for StaticWeight).
	Limits map[string]providers.Limits
	Now    time.Time
}

// Plan is what to do on the load balancer, and each pod's state.
type Plan struct {
	Pods       []PodPlan
	Register   map[string][]providers.Backend
	Drain      map[string][]netip.AddrPort
	Deregister map[string][]netip.AddrPort
	// NextDeregistration is the earliest time a draining backend is due for removal (zero if none).
	NextDeregistration time.Time
	// Problems are spec errors found while planning (such as a port the Service lacks).
	Problems []string
}

// binding is a Service port bound to a target, with the Service port's target port.
type binding struct {
	target     string
	port       int32
	targetPort corev1.ServicePort
}

// BuildPlan decides which pods to register, drain and deregister on each target.
func BuildPlan(in Input) Plan {
	p := Plan{
		Register:   map[string][]providers.Backend{},
		Drain:      map[string][]netip.AddrPort{},
		Deregister: map[string][]netip.AddrPort{},
	}
	bindings, unresolved := resolveBindings(in.Spec, in.Service, &p.Problems)
	lb := indexRegistered(in.Registered)

	pods := slices.Clone(in.Pods)
	slices.SortFunc(pods, func(a, b *corev1.Pod) int {
		if c := a.CreationTimestamp.Time.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})

	places := 0
	for _, pod := range pods {
		pp := classify(pod, bindings, in, lb)
		if pp.State == StateBound || (pp.State == StateLeaving && anyRegistered(pp.Backends, lb)) {
			places++
		}
		p.Pods = append(p.Pods, pp)
	}
	// Candidates fill the free places in order of creation.
	for i := range p.Pods {
		pp := &p.Pods[i]
		if pp.State != StateQuotaWait {
			continue
		}
		if in.MaxBackends <= 0 || places < in.MaxBackends {
			pp.State = StateBound
			pp.Detail = ""
			places++
			continue
		}
		pp.Detail = fmt.Sprintf("waiting for a place under the backend quota: %d of %d in use", places, in.MaxBackends)
	}

	claimed := map[TargetBackend]bool{}
	weight := ptrOr(in.Spec.Weight, v1alpha1.DefaultWeight)
	delay := v1alpha1.DefaultDeregistrationDelay
	if in.Spec.DeregistrationDelay != nil {
		delay = in.Spec.DeregistrationDelay.Duration
	}
	// Bound pods claim their addresses first: a finished pod whose IP was
	// reused by a live pod must not drain or remove the live pod's backend.
	for _, pp := range p.Pods {
		if pp.State != StateBound {
			continue
		}
		for _, tb := range pp.Backends {
			claimed[tb] = true
			cur, ok := lb[tb]
			if !ok || !sameWeight(cur.Weight, weight, in.Limits[tb.Target].StaticWeight) || cur.Health == providers.HealthDraining {
				p.Register[tb.Target] = append(p.Register[tb.Target], providers.Backend{Addr: tb.Addr, Weight: weight})
			}
		}
	}
	for _, pp := range p.Pods {
		switch pp.State {
		case StateLeaving:
			due := leavingSince(pp.Pod, in.Now).Add(delay)
			for _, tb := range pp.Backends {
				cur, ok := lb[tb]
				if !ok || claimed[tb] {
					continue
				}
				claimed[tb] = true
				switch {
				case !in.Now.Before(due):
					p.Deregister[tb.Target] = append(p.Deregister[tb.Target], tb.Addr)
				default:
					if cur.Health != providers.HealthDraining {
						p.Drain[tb.Target] = append(p.Drain[tb.Target], tb.Addr)
					}
					if p.NextDeregistration.IsZero() || due.Before(p.NextDeregistration) {
						p.NextDeregistration = due
					}
				}
			}
		}
	}
	// Whatever the load balancer has that no selected pod claims is an orphan:
	// a pod that is gone, no longer selected, or no longer eligible.
	for tb := range lb {
		// A target whose binding no longer resolves (its Service port changed
		// under a spec that could not follow) keeps what it has: removing it
		// all would be an outage while every gate stays True.
		if !claimed[tb] && !unresolved[tb.Target] {
			p.Deregister[tb.Target] = append(p.Deregister[tb.Target], tb.Addr)
		}
	}
	for _, m := range []map[string][]netip.AddrPort{p.Drain, p.Deregister} {
		for t := range m {
			slices.SortFunc(m[t], netip.AddrPort.Compare)
		}
	}
	for t := range p.Register {
		slices.SortFunc(p.Register[t], func(a, b providers.Backend) int { return a.Addr.Compare(b.Addr) })
	}
	return p
}

// classify decides a pod's state before the quota is applied; eligible new pods come back as StateQuotaWait.
func classify(pod *corev1.Pod, bindings []binding, in Input, lb map[TargetBackend]providers.BackendStatus) PodPlan {
	pp := PodPlan{Pod: pod}
	if pod.Spec.HostNetwork {
		pp.State, pp.Detail = StateHostNetwork, "hostNetwork pods are never bound to the load balancer"
		return pp
	}
	ip, ipOK := podIP(pod, in.CIDRs)
	if ipOK {
		pp.Backends = backendsOf(pod, ip, bindings)
	}
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		if !ipOK {
			pp.Backends = backendsByIP(pod, lb)
		}
		pp.State, pp.Detail = StateLeaving, "pod is leaving"
		return pp
	}
	if pod.Status.PodIP == "" {
		pp.State, pp.Detail = StatePending, "waiting for the pod IP"
		return pp
	}
	if !ipOK {
		pp.State = StateModeMismatch
		pp.Detail = fmt.Sprintf("pod IP %s is not in the %s ranges %s", pod.Status.PodIP, in.Mode, prefixes(in.CIDRs))
		return pp
	}
	if missing := missingPorts(pod, bindings); len(missing) > 0 {
		pp.State = StatePortNotFound
		pp.Detail = fmt.Sprintf("target port %s of the Service names no container port of the pod", strings.Join(missing, ", "))
		pp.Backends = nil
		return pp
	}
	if len(pp.Backends) == 0 {
		pp.State, pp.Detail = StatePending, "no port of the Service is bound to a load-balancer target"
		return pp
	}
	if anyRegistered(pp.Backends, lb) {
		pp.State = StateBound
		return pp
	}
	if !containersReady(pod) {
		pp.State, pp.Detail = StateWaitingContainers, "waiting for the pod's containers to be ready before registering"
		return pp
	}
	pp.State = StateQuotaWait
	return pp
}

// resolveBindings pairs each spec port with the Service port it names, and
// returns the targets of the spec ports the Service lacks.
func resolveBindings(spec v1alpha1.BackendGroupSpec, svc *corev1.Service, problems *[]string) ([]binding, map[string]bool) {
	var out []binding
	unresolved := map[string]bool{}
	for i, pb := range spec.Ports {
		idx := slices.IndexFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool { return sp.Port == pb.Port })
		if idx < 0 {
			*problems = append(*problems, fmt.Sprintf("spec.ports[%d].port %d is not a port of Service %s", i, pb.Port, svc.Name))
			unresolved[pb.Target] = true
			continue
		}
		out = append(out, binding{target: pb.Target, port: pb.Port, targetPort: svc.Spec.Ports[idx]})
	}
	return out, unresolved
}

// backendsOf returns the pod's backend on each bound target whose target port resolves.
func backendsOf(pod *corev1.Pod, ip netip.Addr, bindings []binding) []TargetBackend {
	var out []TargetBackend
	for _, b := range bindings {
		port, ok := resolvePort(pod, b.targetPort)
		if !ok {
			continue
		}
		tb := TargetBackend{Target: b.target, Addr: netip.AddrPortFrom(ip, uint16(port))}
		if !slices.Contains(out, tb) { // two Service ports may send to one pod port on one target
			out = append(out, tb)
		}
	}
	return out
}

func missingPorts(pod *corev1.Pod, bindings []binding) []string {
	var out []string
	for _, b := range bindings {
		if _, ok := resolvePort(pod, b.targetPort); !ok {
			out = append(out, fmt.Sprintf("%q (Service port %d)", b.targetPort.TargetPort.String(), b.port))
		}
	}
	return out
}

// resolvePort finds the pod port a Service port sends to: a number as is
// (the Service port itself when unset), a name looked up in the containers.
func resolvePort(pod *corev1.Pod, sp corev1.ServicePort) (int32, bool) {
	tp := sp.TargetPort
	if tp.Type == 0 { // intstr.Int
		if tp.IntVal == 0 {
			return sp.Port, true
		}
		return tp.IntVal, true
	}
	if tp.StrVal == "" {
		return sp.Port, true
	}
	// As Kubernetes' own FindPort: regular containers first, then sidecars
	// (init containers that restart always); plain init containers never serve.
	containers := slices.Clone(pod.Spec.Containers)
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			containers = append(containers, c)
		}
	}
	for _, c := range containers {
		for _, cp := range c.Ports {
			if cp.Name == tp.StrVal && (sp.Protocol == "" || cp.Protocol == "" || cp.Protocol == sp.Protocol) {
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

// podIP picks the pod's IP in the mode's ranges (any IP when there are none).
func podIP(pod *corev1.Pod, cidrs []netip.Prefix) (netip.Addr, bool) {
	ips := []string{pod.Status.PodIP}
	for _, pi := range pod.Status.PodIPs {
		ips = append(ips, pi.IP)
	}
	for _, s := range ips {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		ip = ip.Unmap()
		if len(cidrs) == 0 || slices.ContainsFunc(cidrs, func(p netip.Prefix) bool { return p.Contains(ip) }) {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

// backendsByIP finds a leaving pod's registered backends by its IP alone.
func backendsByIP(pod *corev1.Pod, lb map[TargetBackend]providers.BackendStatus) []TargetBackend {
	ip, err := netip.ParseAddr(pod.Status.PodIP)
	if err != nil {
		return nil
	}
	var out []TargetBackend
	for tb := range lb {
		if tb.Addr.Addr() == ip.Unmap() {
			out = append(out, tb)
		}
	}
	slices.SortFunc(out, compareTargetBackend)
	return out
}

func compareTargetBackend(a, b TargetBackend) int {
	if c := cmp.Compare(a.Target, b.Target); c != 0 {
		return c
	}
	return a.Addr.Compare(b.Addr)
}

// leavingSince is when the pod started to leave: the delete request time
// (deletionTimestamp minus the grace period), or now for a finished pod.
func leavingSince(pod *corev1.Pod, now time.Time) time.Time {
	if pod.DeletionTimestamp == nil {
		return time.Time{} // finished pods are deregistered at once
	}
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.DeletionGracePeriodSeconds != nil {
		grace = *pod.DeletionGracePeriodSeconds
	}
	since := pod.DeletionTimestamp.Add(-time.Duration(grace) * time.Second)
	if since.After(now) {
		return now
	}
	return since
}

func containersReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.ContainersReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func anyRegistered(tbs []TargetBackend, lb map[TargetBackend]providers.BackendStatus) bool {
	return slices.ContainsFunc(tbs, func(tb TargetBackend) bool { _, ok := lb[tb]; return ok })
}

func indexRegistered(reg map[string][]providers.BackendStatus) map[TargetBackend]providers.BackendStatus {
	out := map[TargetBackend]providers.BackendStatus{}
	for target, list := range reg {
		for _, b := range list {
			out[TargetBackend{Target: target, Addr: b.Addr}] = b
		}
	}
	return out
}

func prefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// sameWeight says whether a backend listed with weight has the weight the
// spec wants. A target with a static weight only tells traffic (not 0) from
// none (0): its listed weight is its own, whatever was asked.
func sameWeight(listed, want int32, static bool) bool {
	if static {
		return (listed == 0) == (want == 0)
	}
	return listed == want
}
