package backendgroup

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/providers"
)

// PodState is what the planner decided for one selected pod.
type PodState int

const (
	// StatePending means the pod has no IP yet.
	StatePending PodState = iota
	// StateWaitingContainers means the pod is not registered, and its containers are not ready yet.
	StateWaitingContainers
	// StateBound means the pod holds a place in the group and is (being) registered on every target.
	StateBound
	// StateQuotaWait means the pod is eligible, but every place under the quota is taken.
	StateQuotaWait
	// StateModeMismatch means the pod IP is not of the group's network mode.
	StateModeMismatch
	// StateHostNetwork means the pod uses hostNetwork: such pods are never bound.
	StateHostNetwork
	// StatePortNotFound means a bound Service port's target port names no port of the pod.
	StatePortNotFound
	// StateLeaving means the pod is terminating or finished; its backends drain and go.
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
	// Owners are the namespace's pods by UID, to tell whether the pod a
	// backend was registered for still exists and serves (Pods included).
	Owners map[types.UID]*corev1.Pod
	// Registered is what the provider lists, by target id: the spec's
	// targets and former ones that still hold backends.
	Registered map[string][]providers.BackendStatus
	// Records are the group's ownership records (status.backends).
	Records map[TargetBackend]v1alpha1.BackendRecord
	// GateType is the condition type of the group's readiness gate.
	GateType string
	// MaxBackends is the quota in force (spec and provider limit), per target.
	MaxBackends int
	// Limits are the provider's limits by target id (for StaticWeight).
	Limits map[string]providers.Limits
	// HandoverTimeout bounds how long a retired backend whose pod still
	// serves stays in traffic while its replacements are not healthy.
	HandoverTimeout time.Duration
	Now             time.Time
}

// Plan is what to do on the load balancer, and each pod's state.
type Plan struct {
	Pods       []PodPlan
	Register   map[string][]providers.Backend
	Drain      map[string][]netip.AddrPort
	Deregister map[string][]netip.AddrPort
	// NextDeregistration is the earliest time a draining backend is due for
	// removal, or a held backend's handover times out (zero if none).
	NextDeregistration time.Time
	// Problems are spec errors found while planning (such as a port the Service lacks).
	Problems []string
	// Records are the ownership records once the plan is carried out,
	// for every backend the load balancer will hold.
	Records map[TargetBackend]v1alpha1.BackendRecord
	// Held are retired backends kept in traffic until their replacements are healthy.
	Held []TargetBackend
	// HandoverTimedOut are retired backends drained because their
	// replacements did not turn healthy within HandoverTimeout.
	HandoverTimedOut []TargetBackend
	// Rechecked are backends whose address changed owner: registered
	// again with a fresh health check.
	Rechecked []TargetBackend
}

// binding is a Service port bound to a target, with the Service port's target port.
type binding struct {
	target     string
	port       int32
	targetPort corev1.ServicePort
}

// planner carries one planning pass: the input, what the load balancer
// holds, and the plan being built.
type planner struct {
	in         Input
	p          *Plan
	lb         map[TargetBackend]providers.BackendStatus
	claimed    map[TargetBackend]bool
	weight     int32
	delay      time.Duration
	unresolved map[string]bool
	specTarget map[string]bool
}

// BuildPlan decides which pods to register, drain and deregister on each
// target, and whose each backend is afterwards. The steps:
//
//  1. classify each selected pod (eligible, leaving, ...) and mark the pods
//     that hold a place (a backend recorded as theirs);
//  2. claim: pods holding a place claim their current addresses;
//  3. quota: waiting pods take the free slots in order of creation;
//  4. leaving pods drain, then go after the deregistration delay;
//  5. orphans: backends nobody claims are handed over (kept while their
//     pod still serves and its replacements are not healthy), drained, removed.
func BuildPlan(in Input) Plan {
	p := Plan{
		Register:   map[string][]providers.Backend{},
		Drain:      map[string][]netip.AddrPort{},
		Deregister: map[string][]netip.AddrPort{},
		Records:    map[TargetBackend]v1alpha1.BackendRecord{},
	}
	bindings, unresolved := resolveBindings(in.Spec, in.Service, &p.Problems)
	pl := &planner{
		in: in, p: &p, lb: indexRegistered(in.Registered), claimed: map[TargetBackend]bool{},
		weight: ptrOr(in.Spec.Weight, v1alpha1.DefaultWeight), delay: v1alpha1.DefaultDeregistrationDelay,
		unresolved: unresolved, specTarget: map[string]bool{},
	}
	if in.Spec.DeregistrationDelay != nil {
		pl.delay = in.Spec.DeregistrationDelay.Duration
	}
	if pl.in.HandoverTimeout <= 0 {
		pl.in.HandoverTimeout = DefaultHandoverTimeout
	}
	for _, b := range bindings {
		pl.specTarget[b.target] = true
	}
	pl.keepRecords()
	pl.classifyAll(bindings)
	pl.claimBound()
	pl.admitByQuota()
	pl.leave()
	pl.orphans()
	pl.sortOutput()
	return p
}

// keepRecords carries over the records of backends the load balancer still holds.
func (pl *planner) keepRecords() {
	for tb, rec := range pl.in.Records {
		if _, ok := pl.lb[tb]; ok {
			pl.p.Records[tb] = rec
		}
	}
}

// classifyAll decides each pod's state in creation order. A pod that
// holds a place (the load balancer has a backend recorded as its own) is
// Bound whatever its containers say; an eligible pod without one waits for
// the quota (StateQuotaWait).
func (pl *planner) classifyAll(bindings []binding) {
	pods := slices.Clone(pl.in.Pods)
	slices.SortFunc(pods, func(a, b *corev1.Pod) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	for _, pod := range pods {
		pp := classify(pod, bindings, pl.in, pl.lb)
		pl.adopt(pp)
		if pp.State == StateQuotaWait && pl.holdsPlace(pod.UID) {
			pp.State, pp.Detail = StateBound, ""
		}
		pl.p.Pods = append(pl.p.Pods, pp)
	}
}

// adopt records as the pod's own the backends at its current addresses
// that the load balancer holds with no record, when the pod's gate is True
// already: the pod serves there (a group from before records, or a status
// write lost after a registration). A pod whose gate is not True adopts
// nothing: an unrecorded backend is no evidence, it is checked afresh.
func (pl *planner) adopt(pp PodPlan) {
	if pp.State == StateLeaving || !gateTrue(pp.Pod, pl.in.GateType) {
		return
	}
	for _, tb := range pp.Backends {
		if _, onLB := pl.lb[tb]; !onLB {
			continue
		}
		if _, known := pl.p.Records[tb]; !known {
			pl.p.Records[tb] = record(tb, pp.Pod)
		}
	}
}

// holdsPlace says whether the load balancer holds a backend recorded as the pod's.
func (pl *planner) holdsPlace(uid types.UID) bool {
	if uid == "" {
		return false
	}
	for _, rec := range pl.p.Records {
		if rec.PodUID == uid && rec.DrainingSince == nil {
			return true
		}
	}
	return false
}

// claimBound makes every Bound pod claim its current addresses.
func (pl *planner) claimBound() {
	for _, pp := range pl.p.Pods {
		if pp.State == StateBound {
			pl.claim(pp)
		}
	}
}

// claim registers what a bound pod lacks and records its backends as its
// own. An address the load balancer holds for another pod, or for a pod
// not known, is registered again with a fresh check (Recheck): its health
// so far says nothing about this pod.
func (pl *planner) claim(pp PodPlan) {
	// A pod registers once its containers are ready; one that is registered
	// at its current address already also registers on the other targets.
	ready := containersReady(pp.Pod) || pl.registeredAsOwn(pp)
	for _, tb := range pp.Backends {
		if pl.claimed[tb] {
			continue // two pods on one address: the older one has it
		}
		pl.claimed[tb] = true
		pl.claimBackend(pp.Pod, tb, ready)
	}
}

// registeredAsOwn says whether the load balancer holds one of the pod's
// backends at its current addresses recorded as the pod's.
func (pl *planner) registeredAsOwn(pp PodPlan) bool {
	return slices.ContainsFunc(pp.Backends, func(tb TargetBackend) bool {
		_, onLB := pl.lb[tb]
		rec, known := pl.p.Records[tb]
		return onLB && known && rec.PodUID == pp.Pod.UID
	})
}

// claimBackend registers tb for pod where the load balancer lacks it or
// holds it otherwise than wanted, and records it as the pod's own.
func (pl *planner) claimBackend(pod *corev1.Pod, tb TargetBackend, ready bool) {
	cur, onLB := pl.lb[tb]
	rec, known := pl.p.Records[tb]
	mine := onLB && known && rec.PodUID == pod.UID && pod.UID != ""
	fresh := true // registered now for a fresh check
	switch {
	case !onLB && !ready:
		return // a new address (sandbox re-created): registered once the containers are ready
	case !onLB:
		pl.register(tb, false)
	case !mine:
		pl.register(tb, true)
		pl.p.Rechecked = append(pl.p.Rechecked, tb)
	case rec.DrainingSince != nil || cur.Health == providers.HealthDraining:
		pl.register(tb, false) // wanted again: checked again
	case !sameWeight(cur.Weight, pl.weight, pl.in.Limits[tb.Target].StaticWeight):
		pl.register(tb, false)
		fresh = false
	default:
		fresh = false
	}
	pl.recordOwn(tb, pod, rec.RegisteredAt, fresh || !mine)
}

// recordOwn records tb as the pod's, registered at registeredAt; or now
// when it is registered afresh, or when registeredAt is not known.
func (pl *planner) recordOwn(tb TargetBackend, pod *corev1.Pod, registeredAt *metav1.Time, afresh bool) {
	own := record(tb, pod)
	own.RegisteredAt = registeredAt
	if afresh || own.RegisteredAt == nil {
		own.RegisteredAt = &metav1.Time{Time: pl.in.Now}
	}
	pl.p.Records[tb] = own
}

func (pl *planner) register(tb TargetBackend, recheck bool) {
	pl.p.Register[tb.Target] = append(pl.p.Register[tb.Target], providers.Backend{Addr: tb.Addr, Weight: pl.weight, Recheck: recheck})
}

// admitByQuota binds waiting pods, in order of creation, while every
// target they need has a free slot. A slot is what the load balancer
// holds: draining backends, retired ones and a pod's second backend on a
// target all count. The first pod that does not fit stops the queue.
func (pl *planner) admitByQuota() {
	used := map[string]int{}
	for tb := range pl.lb {
		used[tb.Target]++
	}
	for tb := range pl.claimed {
		if _, onLB := pl.lb[tb]; !onLB && pl.registering(tb) {
			used[tb.Target]++
		}
	}
	quota := pl.in.MaxBackends
	blocked := false
	for i := range pl.p.Pods {
		pp := &pl.p.Pods[i]
		if pp.State != StateQuotaWait {
			continue
		}
		need := map[string]int{}
		for _, tb := range pp.Backends {
			if _, onLB := pl.lb[tb]; !onLB && !pl.claimed[tb] {
				need[tb.Target]++
			}
		}
		fits := !blocked
		for t, n := range need {
			fits = fits && (quota <= 0 || used[t]+n <= quota)
		}
		if !fits {
			blocked = true
			// The count in use changes with every pod that comes or goes: it is
			// in the group's QuotaExceeded condition, not in each pod's gate.
			pp.Detail = fmt.Sprintf("waiting for a place under the backend quota of %d", quota)
			continue
		}
		for t, n := range need {
			used[t] += n
		}
		pp.State, pp.Detail = StateBound, ""
		pl.claim(*pp)
	}
}

// registering says whether the plan registers tb.
func (pl *planner) registering(tb TargetBackend) bool {
	return slices.ContainsFunc(pl.p.Register[tb.Target], func(b providers.Backend) bool { return b.Addr == tb.Addr })
}

// leave drains each leaving pod's backends at once and removes them after
// the deregistration delay (finished pods at once). A backend another pod
// claims now is not touched.
func (pl *planner) leave() {
	for _, pp := range pl.p.Pods {
		if pp.State != StateLeaving {
			continue
		}
		due := leavingSince(pp.Pod, pl.in.Now).Add(pl.delay)
		for _, tb := range pl.leavingBackends(pp) {
			if pl.claimed[tb] {
				continue
			}
			pl.claimed[tb] = true
			pl.drainUntil(tb, due)
		}
	}
}

// leavingBackends are the backends recorded as the pod's, and those at
// its current addresses the load balancer holds with no record.
func (pl *planner) leavingBackends(pp PodPlan) []TargetBackend {
	var out []TargetBackend
	for tb, rec := range pl.p.Records {
		if rec.PodUID != "" && rec.PodUID == pp.Pod.UID {
			out = append(out, tb)
		}
	}
	for _, tb := range pp.Backends {
		_, onLB := pl.lb[tb]
		_, known := pl.p.Records[tb]
		if onLB && !known {
			out = append(out, tb)
		}
	}
	slices.SortFunc(out, compareTargetBackend)
	return slices.Compact(out)
}

// drainUntil drains tb now and removes it at due, or sooner once it is
// idle (see idle).
func (pl *planner) drainUntil(tb TargetBackend, due time.Time) {
	if !pl.in.Now.Before(due) || pl.idle(tb) {
		pl.p.Deregister[tb.Target] = append(pl.p.Deregister[tb.Target], tb.Addr)
		return
	}
	if pl.lb[tb].Health != providers.HealthDraining {
		pl.p.Drain[tb.Target] = append(pl.p.Drain[tb.Target], tb.Addr)
	}
	pl.dueAt(due)
}

// Drain until idle: where the load balancer counts a backend's sessions,
// a draining backend that has had none for drainQuietPeriod goes before
// its deregistration delay is over; while it still has sessions the group
// looks again every idlePoll. A session that is still open (a long-lived
// connection) keeps it until the delay.
const (
	drainQuietPeriod = 2 * time.Second
	idlePoll         = time.Second
)

// idle keeps tb's record of since when the load balancer reports it
// draining without a session, and says whether that has lasted
// drainQuietPeriod. A backend drained by this very pass is not idle yet:
// its drain must be in force first.
func (pl *planner) idle(tb TargetBackend) bool {
	st, onLB := pl.lb[tb]
	rec, known := pl.p.Records[tb]
	if !onLB || !known || !st.SessionsKnown || st.Health != providers.HealthDraining {
		return false
	}
	if st.Sessions > 0 {
		if rec.IdleSince != nil {
			rec.IdleSince = nil
			pl.p.Records[tb] = rec
		}
		pl.dueAt(pl.in.Now.Add(idlePoll))
		return false
	}
	if rec.IdleSince == nil {
		rec.IdleSince = &metav1.Time{Time: pl.in.Now}
		pl.p.Records[tb] = rec
	}
	quietUntil := rec.IdleSince.Add(drainQuietPeriod)
	if !pl.in.Now.Before(quietUntil) {
		return true
	}
	pl.dueAt(quietUntil)
	return false
}

func (pl *planner) dueAt(t time.Time) {
	if pl.p.NextDeregistration.IsZero() || t.Before(pl.p.NextDeregistration) {
		pl.p.NextDeregistration = t
	}
}

// orphans handles what the load balancer holds that no pod claims: a pod
// no longer selected, a port or target no longer bound, a pod that is
// gone or moved to another address. A backend whose pod still serves at
// that address is kept in traffic until its replacements are healthy
// (make before break), bounded by HandoverTimeout; then it drains and
// goes after the deregistration delay. A backend whose pod moved drains
// too; one whose pod is gone, or was never known, goes at once.
func (pl *planner) orphans() {
	now := metav1.NewTime(pl.in.Now)
	for _, tb := range pl.unclaimed() {
		rec, known := pl.p.Records[tb]
		owner := pl.in.Owners[rec.PodUID]
		switch {
		case known && rec.DrainingSince != nil:
			pl.drainUntil(tb, rec.DrainingSince.Add(pl.delay))
		case known && rec.PodUID != "" && serves(owner, tb):
			pl.handOver(tb, rec, &now)
		case known && owner != nil && isRunning(owner):
			rec.DrainingSince = &now // the pod moved to another address
			pl.p.Records[tb] = rec
			pl.drainUntil(tb, pl.in.Now.Add(pl.delay))
		default:
			pl.p.Deregister[tb.Target] = append(pl.p.Deregister[tb.Target], tb.Addr)
		}
	}
}

// unclaimed lists, in order, the backends the load balancer holds that no
// pod claims.
func (pl *planner) unclaimed() []TargetBackend {
	var orphans []TargetBackend
	for tb := range pl.lb {
		// A target whose binding no longer resolves (its Service port changed
		// under a spec that could not follow) keeps what it has: removing it
		// all would be an outage while every gate stays True.
		if !pl.claimed[tb] && !pl.unresolved[tb.Target] {
			orphans = append(orphans, tb)
		}
	}
	slices.SortFunc(orphans, compareTargetBackend)
	return orphans
}

// handOver keeps tb, retired while its pod still serves at its address,
// in traffic while its replacements are not healthy, for HandoverTimeout
// from its retirement at most; then it drains and goes after the
// deregistration delay. now is when this pass retires or drains it.
func (pl *planner) handOver(tb TargetBackend, rec v1alpha1.BackendRecord, now *metav1.Time) {
	if rec.RetiredAt == nil {
		rec.RetiredAt = now
	}
	timeout := rec.RetiredAt.Add(pl.in.HandoverTimeout)
	pending := pl.handoverPending(tb.Target)
	if pending && pl.in.Now.Before(timeout) {
		pl.p.Held = append(pl.p.Held, tb)
		pl.dueAt(timeout)
		pl.p.Records[tb] = rec
		return
	}
	if pending {
		pl.p.HandoverTimedOut = append(pl.p.HandoverTimedOut, tb)
	}
	rec.DrainingSince = now
	pl.p.Records[tb] = rec
	pl.drainUntil(tb, pl.in.Now.Add(pl.delay))
}

// handoverPending says whether a retired backend on target must stay in
// traffic: some selected pod that will serve on the spec's targets is not
// healthy there yet. On one of the spec's targets only the pods with a
// backend there count; a former target waits for every pod to be healthy
// on all the spec's targets. Pods waiting for the quota end the handover:
// the retired backends hold the slots they need.
func (pl *planner) handoverPending(target string) bool {
	pending := false
	for _, pp := range pl.p.Pods {
		switch pp.State {
		case StateQuotaWait:
			return false
		case StatePending, StateWaitingContainers:
			pending = true
		case StateBound:
			for _, tb := range pp.Backends {
				if pl.specTarget[target] && tb.Target != target {
					continue
				}
				b, onLB := pl.lb[tb]
				if !onLB || b.Health != providers.HealthHealthy || slices.Contains(pl.p.Rechecked, tb) || pl.registering(tb) {
					pending = true
				}
			}
		}
	}
	return pending
}

// serves says whether pod still runs at the backend's IP.
func serves(pod *corev1.Pod, tb TargetBackend) bool {
	if pod == nil || !isRunning(pod) {
		return false
	}
	for _, s := range podIPs(pod) {
		if ip, err := netip.ParseAddr(s); err == nil && ip.Unmap() == tb.Addr.Addr() {
			return true
		}
	}
	return false
}

func isRunning(pod *corev1.Pod) bool {
	return pod.DeletionTimestamp == nil && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

func podIPs(pod *corev1.Pod) []string {
	ips := []string{pod.Status.PodIP}
	for _, pi := range pod.Status.PodIPs {
		ips = append(ips, pi.IP)
	}
	return ips
}

func (pl *planner) sortOutput() {
	p := pl.p
	for _, m := range []map[string][]netip.AddrPort{p.Drain, p.Deregister} {
		for t := range m {
			slices.SortFunc(m[t], netip.AddrPort.Compare)
		}
	}
	for t := range p.Register {
		slices.SortFunc(p.Register[t], func(a, b providers.Backend) int { return a.Addr.Compare(b.Addr) })
	}
	// Records of backends leaving the load balancer now go with them.
	for t, addrs := range p.Deregister {
		for _, a := range addrs {
			delete(p.Records, TargetBackend{t, a})
		}
	}
}

// record is the ownership record of tb for pod.
func record(tb TargetBackend, pod *corev1.Pod) v1alpha1.BackendRecord {
	return v1alpha1.BackendRecord{Target: tb.Target, Address: tb.Addr.String(), Pod: pod.Name, PodUID: pod.UID}
}

func gateTrue(pod *corev1.Pod, gateType string) bool {
	c := GateCondition(pod, gateType)
	return gateType != "" && c != nil && c.Status == corev1.ConditionTrue
}

// classify decides a pod's state before the quota is applied; eligible pods come back as StateQuotaWait.
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
	if !containersReady(pod) && !holdsRecorded(pod, pp.Backends, in, lb) {
		pp.State, pp.Detail = StateWaitingContainers, "waiting for the pod's containers to be ready before registering"
		return pp
	}
	pp.State = StateQuotaWait
	return pp
}

// holdsRecorded says whether the load balancer holds a backend recorded as
// the pod's (or, for a pod whose gate is True, an unrecorded one at its
// addresses, which it adopts): a registered pod stays registered while it
// runs, whatever its containers say.
func holdsRecorded(pod *corev1.Pod, backends []TargetBackend, in Input, lb map[TargetBackend]providers.BackendStatus) bool {
	for tb, rec := range in.Records {
		if _, onLB := lb[tb]; onLB && rec.PodUID != "" && rec.PodUID == pod.UID && rec.DrainingSince == nil {
			return true
		}
	}
	if !gateTrue(pod, in.GateType) {
		return false
	}
	return slices.ContainsFunc(backends, func(tb TargetBackend) bool {
		_, onLB := lb[tb]
		_, known := in.Records[tb]
		return onLB && !known
	})
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
