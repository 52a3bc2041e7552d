package backendgroup

import (
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/internal/testbuild"
	"github.com/lbgate/lbgate/providers"
)

// Builders for the planner tests. Every name starts with pf ("plan fixture")
// so it cannot collide with helpers of other test files in this package.

var (
	pfNow  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	pfBorn = pfNow.Add(-time.Hour)
)

// pfPod is a running pod of namespace ns with UID uid-<name>, born at pfBorn,
// ContainersReady=True and one container "app" declaring the TCP ports
// http=8080 and metrics=9100; ip, when set, is its one pod IP.
func pfPod(name, ip string, opts ...testbuild.PodOption) *corev1.Pod {
	base := []testbuild.PodOption{
		testbuild.Namespace("ns"),
		testbuild.UID("uid-" + name),
		testbuild.Created(pfBorn),
		testbuild.Containers(testbuild.Container("app", "",
			testbuild.ContainerPort("http", 8080, corev1.ProtocolTCP),
			testbuild.ContainerPort("metrics", 9100, corev1.ProtocolTCP))),
		testbuild.Phase(corev1.PodRunning),
		testbuild.Condition(corev1.ContainersReady, corev1.ConditionTrue),
	}
	if ip != "" {
		base = append(base, testbuild.IPs(ip))
	}
	return testbuild.Pod(name, append(base, opts...)...)
}

// pfCreated sets the creation time to pfBorn + d.
func pfCreated(d time.Duration) testbuild.PodOption { return testbuild.Created(pfBorn.Add(d)) }

// pfUnready turns ContainersReady False.
func pfUnready() testbuild.PodOption {
	return testbuild.Condition(corev1.ContainersReady, corev1.ConditionFalse)
}

// pfSP is Service port p<port> to target.
func pfSP(port int32, target intstr.IntOrString, proto corev1.Protocol) corev1.ServicePort {
	return testbuild.ServicePort(fmt.Sprintf("p%d", port), port, target, proto)
}

// pfSvc is Service "web"; without ports it has 80 -> "http" and 9090 -> "metrics" (TCP).
func pfSvc(ports ...corev1.ServicePort) *corev1.Service {
	if len(ports) == 0 {
		ports = []corev1.ServicePort{
			pfSP(80, intstr.FromString("http"), corev1.ProtocolTCP),
			pfSP(9090, intstr.FromString("metrics"), corev1.ProtocolTCP),
		}
	}
	return testbuild.Service("web", testbuild.Namespace("ns"), testbuild.Selector(map[string]string{"app": "web"}), testbuild.Ports(ports...))
}

func pfBind(port int32, target string) v1alpha1.PortBinding {
	return v1alpha1.PortBinding{Port: port, Target: target}
}

// pfInput binds Service port 80 to target tg-a in eni mode over 10.0.0.0/8, no quota.
func pfInput(pods ...*corev1.Pod) Input {
	return Input{
		Spec:        v1alpha1.BackendGroupSpec{ServiceName: "web", Ports: []v1alpha1.PortBinding{pfBind(80, "tg-a")}},
		Mode:        v1alpha1.NetworkModeENI,
		CIDRs:       []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		Service:     pfSvc(),
		Pods:        pods,
		Registered:  map[string][]providers.BackendStatus{},
		MaxBackends: 0,
		Now:         pfNow,
	}
}

// pfB is a registered backend; w 0 means the default weight 10.
type pfB struct {
	target, addr string
	health       providers.Health
	w            int32
}

func pfRegistered(bs ...pfB) map[string][]providers.BackendStatus {
	out := map[string][]providers.BackendStatus{}
	for _, b := range bs {
		w := b.w
		if w == 0 {
			w = v1alpha1.DefaultWeight
		}
		out[b.target] = append(out[b.target], providers.BackendStatus{
			Backend: providers.Backend{Addr: netip.MustParseAddrPort(b.addr), Weight: w},
			Health:  b.health,
		})
	}
	return out
}

// pfOwned gives the input what the controller passes alongside: Owners
// from the pods, and, when the row sets no Records, records that give each
// registered backend to the oldest pod at its IP (the pod that registered it).
func pfTB(target, addr string) TargetBackend {
	return TargetBackend{Target: target, Addr: netip.MustParseAddrPort(addr)}
}

func pfOwned(in Input) Input {
	if in.Owners == nil {
		in.Owners = map[types.UID]*corev1.Pod{}
		for _, p := range in.Pods {
			in.Owners[p.UID] = p
		}
	}
	if in.Records != nil {
		return in
	}
	pods := slices.Clone(in.Pods)
	slices.SortStableFunc(pods, func(a, b *corev1.Pod) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	in.Records = map[TargetBackend]v1alpha1.BackendRecord{}
	for target, list := range in.Registered {
		for _, b := range list {
			tb := TargetBackend{target, b.Addr}
			for _, p := range pods {
				if slices.Contains(podIPs(p), b.Addr.Addr().String()) {
					in.Records[tb] = record(tb, p)
					break
				}
			}
		}
	}
	return in
}

var pfStateNames = map[PodState]string{
	StatePending:           "Pending",
	StateWaitingContainers: "WaitingContainers",
	StateBound:             "Bound",
	StateQuotaWait:         "QuotaWait",
	StateModeMismatch:      "ModeMismatch",
	StateHostNetwork:       "HostNetwork",
	StatePortNotFound:      "PortNotFound",
	StateLeaving:           "Leaving",
}

func pfBackends(tbs []TargetBackend) []string {
	var out []string
	for _, tb := range tbs {
		out = append(out, tb.Target+" "+tb.Addr.String())
	}
	return out
}

// pfSummary is a Plan in strings, for readable comparisons.
type pfSummary struct {
	States     map[string]string
	Register   map[string][]string
	Drain      map[string][]string
	Deregister map[string][]string
	Next       time.Time
	Problems   []string
}

func pfSummarize(p Plan) pfSummary {
	s := pfSummary{Next: p.NextDeregistration, Problems: p.Problems}
	for _, pp := range p.Pods {
		if s.States == nil {
			s.States = map[string]string{}
		}
		s.States[pp.Pod.Name] = pfStateNames[pp.State]
	}
	for t, bs := range p.Register {
		for _, b := range bs {
			if s.Register == nil {
				s.Register = map[string][]string{}
			}
			str := b.String()
			if b.Recheck {
				str += " recheck"
			}
			s.Register[t] = append(s.Register[t], str)
		}
	}
	addrs := func(m map[string][]netip.AddrPort) map[string][]string {
		var out map[string][]string
		for t, as := range m {
			for _, a := range as {
				if out == nil {
					out = map[string][]string{}
				}
				out[t] = append(out[t], a.String())
			}
		}
		return out
	}
	s.Drain = addrs(p.Drain)
	s.Deregister = addrs(p.Deregister)
	return s
}

func pfDiff(t *testing.T, got, want pfSummary) {
	t.Helper()
	if !reflect.DeepEqual(got.States, want.States) {
		t.Errorf("states:\n got  %v\n want %v", got.States, want.States)
	}
	if !reflect.DeepEqual(got.Register, want.Register) {
		t.Errorf("register:\n got  %v\n want %v", got.Register, want.Register)
	}
	if !reflect.DeepEqual(got.Drain, want.Drain) {
		t.Errorf("drain:\n got  %v\n want %v", got.Drain, want.Drain)
	}
	if !reflect.DeepEqual(got.Deregister, want.Deregister) {
		t.Errorf("deregister:\n got  %v\n want %v", got.Deregister, want.Deregister)
	}
	if !got.Next.Equal(want.Next) {
		t.Errorf("next deregistration: got %v, want %v", got.Next, want.Next)
	}
	if !reflect.DeepEqual(got.Problems, want.Problems) {
		t.Errorf("problems:\n got  %q\n want %q", got.Problems, want.Problems)
	}
}

func pfFind(t *testing.T, p Plan, name string) PodPlan {
	t.Helper()
	for _, pp := range p.Pods {
		if pp.Pod.Name == name {
			return pp
		}
	}
	t.Fatalf("pod %s not in plan", name)
	return PodPlan{}
}

// TestBuildPlanClassify checks the state, backends and detail the planner gives one selected pod.
func TestBuildPlanClassify(t *testing.T) {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	tests := []struct {
		name     string
		in       Input
		state    PodState
		backends []string
		detail   string
		bug      string
	}{
		{
			name:     "ready pod with an IP in range is bound",
			in:       pfInput(pfPod("a", "10.0.0.1")),
			state:    StateBound,
			backends: []string{"tg-a 10.0.0.1:8080"},
		},
		{
			name:   "hostNetwork pod is never bound",
			in:     pfInput(pfPod("a", "10.0.0.1", testbuild.HostNetwork())),
			state:  StateHostNetwork,
			detail: "hostNetwork pods are never bound to the load balancer",
		},
		{
			name:   "hostNetwork wins over terminating",
			in:     pfInput(pfPod("a", "10.0.0.1", testbuild.HostNetwork(), testbuild.Deleting(pfNow, 30))),
			state:  StateHostNetwork,
			detail: "hostNetwork pods are never bound to the load balancer",
		},
		{
			name:   "pod without IP is pending",
			in:     pfInput(pfPod("a", "")),
			state:  StatePending,
			detail: "waiting for the pod IP",
		},
		{
			name:     "terminating pod is leaving",
			in:       pfInput(pfPod("a", "10.0.0.1", testbuild.Deleting(pfNow.Add(30*time.Second), 30))),
			state:    StateLeaving,
			backends: []string{"tg-a 10.0.0.1:8080"},
			detail:   "pod is leaving",
		},
		{
			name:     "terminating pod with unready containers is leaving",
			in:       pfInput(pfPod("a", "10.0.0.1", pfUnready(), testbuild.Deleting(pfNow.Add(30*time.Second), 30))),
			state:    StateLeaving,
			backends: []string{"tg-a 10.0.0.1:8080"},
			detail:   "pod is leaving",
		},
		{
			name:     "Succeeded pod is leaving",
			in:       pfInput(pfPod("a", "10.0.0.1", testbuild.Phase(corev1.PodSucceeded))),
			state:    StateLeaving,
			backends: []string{"tg-a 10.0.0.1:8080"},
			detail:   "pod is leaving",
		},
		{
			name:     "Failed pod is leaving",
			in:       pfInput(pfPod("a", "10.0.0.1", testbuild.Phase(corev1.PodFailed))),
			state:    StateLeaving,
			backends: []string{"tg-a 10.0.0.1:8080"},
			detail:   "pod is leaving",
		},
		{
			name:   "terminating pod without IP is leaving with no backends",
			in:     pfInput(pfPod("a", "", testbuild.Deleting(pfNow, 30))),
			state:  StateLeaving,
			detail: "pod is leaving",
		},
		{
			name: "terminating pod whose IP left the mode ranges is found on the LB by its IP",
			in: func() Input {
				in := pfInput(pfPod("a", "192.168.0.1", testbuild.Deleting(pfNow.Add(30*time.Second), 30)))
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "192.168.0.1:8080", health: providers.HealthHealthy})
				return in
			}(),
			state:    StateLeaving,
			backends: []string{"tg-a 192.168.0.1:8080"},
			detail:   "pod is leaving",
		},
		{
			name:   "IP outside the mode CIDRs is a mode mismatch",
			in:     pfInput(pfPod("a", "192.168.0.1")),
			state:  StateModeMismatch,
			detail: "pod IP 192.168.0.1 is not in the eni ranges [10.0.0.0/8]",
		},
		{
			name: "mode mismatch lists every range of the mode",
			in: func() Input {
				in := pfInput(pfPod("a", "192.168.0.1"))
				in.Mode = v1alpha1.NetworkModeGlobalRouter
				in.CIDRs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
				return in
			}(),
			state:  StateModeMismatch,
			detail: "pod IP 192.168.0.1 is not in the global-router ranges [10.0.0.0/8 fd00::/8]",
		},
		{
			name:   "unparseable pod IP is a mode mismatch",
			in:     pfInput(pfPod("a", "not-an-ip")),
			state:  StateModeMismatch,
			detail: "pod IP not-an-ip is not in the eni ranges [10.0.0.0/8]",
		},
		{
			name:     "dual-stack: the second PodIPs entry matches the mode CIDRs",
			in:       pfInput(pfPod("a", "192.168.0.1", testbuild.IPs("192.168.0.1", "10.0.0.7"))),
			state:    StateBound,
			backends: []string{"tg-a 10.0.0.7:8080"},
		},
		{
			name: "dual-stack: IPv6 second address matches an IPv6 range",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1", testbuild.IPs("10.0.0.1", "fd00::7")))
				in.CIDRs = []netip.Prefix{netip.MustParsePrefix("fd00::/8")}
				return in
			}(),
			state:    StateBound,
			backends: []string{"tg-a [fd00::7]:8080"},
		},
		{
			name:   "dual-stack: no address matches",
			in:     pfInput(pfPod("a", "192.168.0.1", testbuild.IPs("192.168.0.1", "fd00::7"))),
			state:  StateModeMismatch,
			detail: "pod IP 192.168.0.1 is not in the eni ranges [10.0.0.0/8]",
		},
		{
			name: "no CIDRs accepts every IP",
			in: func() Input {
				in := pfInput(pfPod("a", "192.168.0.1"))
				in.CIDRs = nil
				return in
			}(),
			state:    StateBound,
			backends: []string{"tg-a 192.168.0.1:8080"},
		},
		{
			name:     "IPv4-mapped IPv6 pod IP is unmapped",
			in:       pfInput(pfPod("a", "::ffff:10.0.0.1")),
			state:    StateBound,
			backends: []string{"tg-a 10.0.0.1:8080"},
		},
		{
			name: "named target port found in the second container",
			in: pfInput(pfPod("a", "10.0.0.1", testbuild.Containers(
				testbuild.Container("log", ""),
				testbuild.Container("app", "", testbuild.ContainerPort("http", 8081, tcp)),
			))),
			state:    StateBound,
			backends: []string{"tg-a 10.0.0.1:8081"},
		},
		{
			name:   "named target port not found",
			in:     pfInput(pfPod("a", "10.0.0.1", testbuild.Containers(testbuild.Container("app", "", testbuild.ContainerPort("web", 8080, tcp))))),
			state:  StatePortNotFound,
			detail: `target port "http" (Service port 80) of the Service names no container port of the pod`,
		},
		{
			name: "named target port found in a restartable init container (sidecar)",
			in: pfInput(pfPod("a", "10.0.0.1",
				testbuild.InitContainers(testbuild.Sidecar(testbuild.Container("proxy", "", testbuild.ContainerPort("http", 15001, tcp)))),
				testbuild.Containers(testbuild.Container("app", "")),
			)),
			state:    StateBound,
			backends: []string{"tg-a 10.0.0.1:15001"},
		},
		{
			name: "named target port only on a regular (non-restartable) init container is not found",
			in: pfInput(pfPod("a", "10.0.0.1",
				testbuild.InitContainers(testbuild.Container("setup", "", testbuild.ContainerPort("http", 7000, tcp))),
				testbuild.Containers(testbuild.Container("app", "")),
			)),
			state:  StatePortNotFound,
			detail: `target port "http" (Service port 80) of the Service names no container port of the pod`,
			bug:    "plan.go resolvePort searches every init container, not only restartable ones (k8s FindPort skips non-sidecar init containers)",
		},
		{
			name: "named target port: regular containers are searched before sidecars and plain init containers",
			in: pfInput(pfPod("a", "10.0.0.1",
				testbuild.InitContainers(
					testbuild.Container("setup", "", testbuild.ContainerPort("http", 7000, tcp)),
					testbuild.Sidecar(testbuild.Container("proxy", "", testbuild.ContainerPort("http", 15001, tcp))),
				),
				testbuild.Containers(testbuild.Container("app", "", testbuild.ContainerPort("http", 8080, tcp))),
			)),
			state:    StateBound,
			backends: []string{"tg-a 10.0.0.1:8080"},
			bug:      "plan.go resolvePort searches init containers before containers (k8s FindPort: containers first, then sidecars only)",
		},
		{
			name: "numeric target port is used as is",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1"))
				in.Service = pfSvc(pfSP(80, intstr.FromInt32(9999), tcp))
				return in
			}(),
			state:    StateBound,
			backends: []string{"tg-a 10.0.0.1:9999"},
		},
		{
			name: "target port unset sends to the Service port",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1"))
				in.Service = pfSvc(pfSP(80, intstr.IntOrString{}, tcp))
				return in
			}(),
			state:    StateBound,
			backends: []string{"tg-a 10.0.0.1:80"},
		},
		{
			name: "empty string target port sends to the Service port",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1"))
				in.Service = pfSvc(pfSP(80, intstr.IntOrString{Type: intstr.String}, tcp))
				return in
			}(),
			state:    StateBound,
			backends: []string{"tg-a 10.0.0.1:80"},
		},
		{
			name: "protocol mismatch on a named port: UDP Service port, TCP container port",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1"))
				in.Service = pfSvc(pfSP(80, intstr.FromString("http"), udp))
				return in
			}(),
			state:  StatePortNotFound,
			detail: `target port "http" (Service port 80) of the Service names no container port of the pod`,
		},
		{
			name: "named port with the Service's protocol (UDP) is found",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1", testbuild.Containers(
					testbuild.Container("app", "", testbuild.ContainerPort("http", 8080, tcp)),
					testbuild.Container("dns", "", testbuild.ContainerPort("dns", 5354, udp)),
				)))
				in.Service = pfSvc(pfSP(53, intstr.FromString("dns"), udp))
				in.Spec.Ports = []v1alpha1.PortBinding{pfBind(53, "tg-a")}
				return in
			}(),
			state:    StateBound,
			backends: []string{"tg-a 10.0.0.1:5354"},
		},
		{
			name:     "new pod with unready containers waits",
			in:       pfInput(pfPod("a", "10.0.0.1", pfUnready())),
			state:    StateWaitingContainers,
			backends: []string{"tg-a 10.0.0.1:8080"},
			detail:   "waiting for the pod's containers to be ready before registering",
		},
		{
			name:     "new pod without a ContainersReady condition waits",
			in:       pfInput(pfPod("a", "10.0.0.1", testbuild.NoConditions())),
			state:    StateWaitingContainers,
			backends: []string{"tg-a 10.0.0.1:8080"},
			detail:   "waiting for the pod's containers to be ready before registering",
		},
		{
			name: "registered pod stays bound when its containers turn unready",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1", pfUnready()))
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.1:8080", health: providers.HealthUnhealthy})
				return in
			}(),
			state:    StateBound,
			backends: []string{"tg-a 10.0.0.1:8080"},
		},
		{
			name: "only spec port is not a Service port: nothing to bind",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1"))
				in.Spec.Ports = []v1alpha1.PortBinding{pfBind(443, "tg-a")}
				return in
			}(),
			state:  StatePending,
			detail: "no port of the Service is bound to a load-balancer target",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bug != "" {
				_ = tc.bug
			}
			p := BuildPlan(pfOwned(tc.in))
			if len(p.Pods) != 1 {
				t.Fatalf("got %d pod plans, want 1", len(p.Pods))
			}
			pp := p.Pods[0]
			if pp.State != tc.state {
				t.Errorf("state: got %s, want %s (detail %q)", pfStateNames[pp.State], pfStateNames[tc.state], pp.Detail)
			}
			if got := pfBackends(pp.Backends); !reflect.DeepEqual(got, tc.backends) {
				t.Errorf("backends: got %q, want %q", got, tc.backends)
			}
			if pp.Detail != tc.detail {
				t.Errorf("detail:\n got  %q\n want %q", pp.Detail, tc.detail)
			}
			if pp.Pod != tc.in.Pods[0] {
				t.Errorf("plan does not point at the input pod")
			}
		})
	}
}

// TestBuildPlan checks what the planner asks of the load balancer.
func TestBuildPlan(t *testing.T) {
	healthy, draining := providers.HealthHealthy, providers.HealthDraining
	dueIn := func(d time.Duration) time.Time { return pfNow.Add(d) }
	weight := func(w int32) *int32 { return &w }
	tests := []struct {
		name    string
		in      Input
		want    pfSummary
		details map[string]string
		bug     string
	}{
		// Quota.
		{
			name: "quota: bound pods keep their place when the quota shrinks",
			in: func() Input {
				in := pfInput(
					pfPod("a", "10.0.0.1", pfCreated(1*time.Minute)),
					pfPod("b", "10.0.0.2", pfCreated(2*time.Minute)),
					pfPod("c", "10.0.0.3", pfCreated(3*time.Minute)),
					pfPod("d", "10.0.0.4", pfCreated(4*time.Minute)),
				)
				in.Registered = pfRegistered(
					pfB{target: "tg-a", addr: "10.0.0.1:8080", health: healthy},
					pfB{target: "tg-a", addr: "10.0.0.2:8080", health: healthy},
					pfB{target: "tg-a", addr: "10.0.0.3:8080", health: healthy},
				)
				in.MaxBackends = 2
				return in
			}(),
			want: pfSummary{States: map[string]string{"a": "Bound", "b": "Bound", "c": "Bound", "d": "QuotaWait"}},
			details: map[string]string{
				"a": "",
				"d": "waiting for a place under the backend quota of 2",
			},
		},
		{
			name: "quota: new pods fill the free places in order of creation, then name",
			in: func() Input {
				in := pfInput(
					pfPod("c", "10.0.0.3", pfCreated(2*time.Minute)),
					pfPod("a", "10.0.0.1", pfCreated(0)),
					pfPod("b", "10.0.0.2", pfCreated(2*time.Minute)),
					pfPod("z", "10.0.0.9", pfCreated(1*time.Minute)),
				)
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.1:8080", health: healthy})
				in.MaxBackends = 3
				return in
			}(),
			want: pfSummary{
				States:   map[string]string{"a": "Bound", "z": "Bound", "b": "Bound", "c": "QuotaWait"},
				Register: map[string][]string{"tg-a": {"10.0.0.2:8080(w=10)", "10.0.0.9:8080(w=10)"}},
			},
			details: map[string]string{
				"z": "",
				"b": "",
				"c": "waiting for a place under the backend quota of 3",
			},
		},
		{
			name: "quota: a leaving pod still registered holds its place",
			in: func() Input {
				in := pfInput(
					pfPod("a", "10.0.0.1", pfCreated(1*time.Minute)),
					pfPod("old", "10.0.0.5", pfCreated(0), testbuild.Deleting(pfNow.Add(20*time.Second), 30)),
					pfPod("n", "10.0.0.6", pfCreated(2*time.Minute)),
				)
				in.Registered = pfRegistered(
					pfB{target: "tg-a", addr: "10.0.0.1:8080", health: healthy},
					pfB{target: "tg-a", addr: "10.0.0.5:8080", health: healthy},
				)
				in.MaxBackends = 2
				return in
			}(),
			want: pfSummary{
				States: map[string]string{"a": "Bound", "old": "Leaving", "n": "QuotaWait"},
				Drain:  map[string][]string{"tg-a": {"10.0.0.5:8080"}},
				Next:   dueIn(5 * time.Second),
			},
			details: map[string]string{"n": "waiting for a place under the backend quota of 2"},
		},
		{
			name: "quota: a leaving pod no longer registered frees its place",
			in: func() Input {
				in := pfInput(
					pfPod("a", "10.0.0.1", pfCreated(1*time.Minute)),
					pfPod("old", "10.0.0.5", pfCreated(0), testbuild.Deleting(pfNow.Add(20*time.Second), 30)),
					pfPod("n", "10.0.0.6", pfCreated(2*time.Minute)),
				)
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.1:8080", health: healthy})
				in.MaxBackends = 2
				return in
			}(),
			want: pfSummary{
				States:   map[string]string{"a": "Bound", "old": "Leaving", "n": "Bound"},
				Register: map[string][]string{"tg-a": {"10.0.0.6:8080(w=10)"}},
			},
		},
		{
			name: "quota: MaxBackends 0 means no limit",
			in: pfInput(
				pfPod("a", "10.0.0.1"), pfPod("b", "10.0.0.2"), pfPod("c", "10.0.0.3"), pfPod("d", "10.0.0.4"),
			),
			want: pfSummary{
				States: map[string]string{"a": "Bound", "b": "Bound", "c": "Bound", "d": "Bound"},
				Register: map[string][]string{"tg-a": {
					"10.0.0.1:8080(w=10)", "10.0.0.2:8080(w=10)", "10.0.0.3:8080(w=10)", "10.0.0.4:8080(w=10)",
				}},
			},
		},
		{
			name: "quota: pods waiting for their containers take no place",
			in: func() Input {
				in := pfInput(
					pfPod("u", "10.0.0.1", pfCreated(0), pfUnready()),
					pfPod("r", "10.0.0.2", pfCreated(time.Minute)),
				)
				in.MaxBackends = 1
				return in
			}(),
			want: pfSummary{
				States:   map[string]string{"u": "WaitingContainers", "r": "Bound"},
				Register: map[string][]string{"tg-a": {"10.0.0.2:8080(w=10)"}},
			},
		},
		{
			name: "quota: an older pod whose containers turn ready later still waits behind bound pods",
			in: func() Input {
				in := pfInput(
					pfPod("old", "10.0.0.1", pfCreated(0)),
					pfPod("young", "10.0.0.2", pfCreated(time.Minute)),
				)
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.2:8080", health: healthy})
				in.MaxBackends = 1
				return in
			}(),
			want: pfSummary{States: map[string]string{"old": "QuotaWait", "young": "Bound"}},
		},

		// Register list.
		{
			name: "register: new pod with the default weight",
			in:   pfInput(pfPod("a", "10.0.0.1")),
			want: pfSummary{
				States:   map[string]string{"a": "Bound"},
				Register: map[string][]string{"tg-a": {"10.0.0.1:8080(w=10)"}},
			},
		},
		{
			name: "register: registered with the same weight and healthy: nothing to do",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1"))
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.1:8080", health: healthy})
				return in
			}(),
			want: pfSummary{States: map[string]string{"a": "Bound"}},
		},
		{
			name: "register: registered and unhealthy or initial is left to the health check",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1"), pfPod("b", "10.0.0.2"))
				in.Registered = pfRegistered(
					pfB{target: "tg-a", addr: "10.0.0.1:8080", health: providers.HealthUnhealthy},
					pfB{target: "tg-a", addr: "10.0.0.2:8080", health: providers.HealthInitial},
				)
				return in
			}(),
			want: pfSummary{States: map[string]string{"a": "Bound", "b": "Bound"}},
		},
		{
			name: "register: weight change re-registers",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1"))
				in.Spec.Weight = weight(50)
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.1:8080", health: healthy})
				return in
			}(),
			want: pfSummary{
				States:   map[string]string{"a": "Bound"},
				Register: map[string][]string{"tg-a": {"10.0.0.1:8080(w=50)"}},
			},
		},
		{
			name: "register: a static-weight target listing its own weight is left alone",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1"))
				in.Spec.Weight = weight(50)
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.1:8080", health: healthy, w: 1})
				in.Limits = map[string]providers.Limits{"tg-a": {StaticWeight: true}}
				return in
			}(),
			want: pfSummary{States: map[string]string{"a": "Bound"}},
		},
		{
			name: "register: a static-weight target still turns traffic off for weight 0",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1"))
				in.Spec.Weight = weight(0)
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.1:8080", health: healthy, w: 1})
				in.Limits = map[string]providers.Limits{"tg-a": {StaticWeight: true}}
				return in
			}(),
			want: pfSummary{
				States:   map[string]string{"a": "Bound"},
				Register: map[string][]string{"tg-a": {"10.0.0.1:8080(w=0)"}},
			},
		},
		{
			name: "register: weight 0 is a weight, not the default",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1"))
				in.Spec.Weight = weight(0)
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.1:8080", health: healthy})
				return in
			}(),
			want: pfSummary{
				States:   map[string]string{"a": "Bound"},
				Register: map[string][]string{"tg-a": {"10.0.0.1:8080(w=0)"}},
			},
		},
		{
			name: "register: draining backend of a bound pod is re-registered",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1"))
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.1:8080", health: draining})
				return in
			}(),
			want: pfSummary{
				States:   map[string]string{"a": "Bound"},
				Register: map[string][]string{"tg-a": {"10.0.0.1:8080(w=10)"}},
			},
		},
		{
			name: "register: draining backend of a bound pod with unready containers is re-registered",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1", pfUnready()))
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.1:8080", health: draining})
				return in
			}(),
			want: pfSummary{
				States:   map[string]string{"a": "Bound"},
				Register: map[string][]string{"tg-a": {"10.0.0.1:8080(w=10)"}},
			},
		},

		// Drain and deregistration timing (default delay 15s).
		{
			name: "drain: leaving pod not yet draining is drained; due = deletionTimestamp - grace + delay",
			in: func() Input {
				// since = now+25s-30s = now-5s; due = now+10s
				in := pfInput(pfPod("old", "10.0.0.5", testbuild.Deleting(pfNow.Add(25*time.Second), 30)))
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.5:8080", health: healthy})
				return in
			}(),
			want: pfSummary{
				States: map[string]string{"old": "Leaving"},
				Drain:  map[string][]string{"tg-a": {"10.0.0.5:8080"}},
				Next:   dueIn(10 * time.Second),
			},
		},
		{
			name: "drain: already draining: nothing to do before due",
			in: func() Input {
				in := pfInput(pfPod("old", "10.0.0.5", testbuild.Deleting(pfNow.Add(25*time.Second), 30)))
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.5:8080", health: draining})
				return in
			}(),
			want: pfSummary{
				States: map[string]string{"old": "Leaving"},
				Next:   dueIn(10 * time.Second),
			},
		},
		{
			name: "drain: unhealthy leaving backend is drained too",
			in: func() Input {
				in := pfInput(pfPod("old", "10.0.0.5", testbuild.Deleting(pfNow.Add(25*time.Second), 30)))
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.5:8080", health: providers.HealthUnhealthy})
				return in
			}(),
			want: pfSummary{
				States: map[string]string{"old": "Leaving"},
				Drain:  map[string][]string{"tg-a": {"10.0.0.5:8080"}},
				Next:   dueIn(10 * time.Second),
			},
		},
		{
			name: "deregister: exactly at due",
			in: func() Input {
				// since = now+15s-30s = now-15s; due = now
				in := pfInput(pfPod("old", "10.0.0.5", testbuild.Deleting(pfNow.Add(15*time.Second), 30)))
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.5:8080", health: draining})
				return in
			}(),
			want: pfSummary{
				States:     map[string]string{"old": "Leaving"},
				Deregister: map[string][]string{"tg-a": {"10.0.0.5:8080"}},
			},
		},
		{
			name: "deregister: one nanosecond before due still drains",
			in: func() Input {
				in := pfInput(pfPod("old", "10.0.0.5", testbuild.Deleting(pfNow.Add(15*time.Second), 30)))
				in.Now = pfNow.Add(-time.Nanosecond)
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.5:8080", health: draining})
				return in
			}(),
			want: pfSummary{
				States: map[string]string{"old": "Leaving"},
				Next:   pfNow,
			},
		},
		{
			name: "deregister: after due, even if never drained",
			in: func() Input {
				in := pfInput(pfPod("old", "10.0.0.5", testbuild.Deleting(pfNow.Add(-time.Minute), 30)))
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.5:8080", health: healthy})
				return in
			}(),
			want: pfSummary{
				States:     map[string]string{"old": "Leaving"},
				Deregister: map[string][]string{"tg-a": {"10.0.0.5:8080"}},
			},
		},
		{
			name: "timing: the spec's deregistration delay is used",
			in: func() Input {
				// since = now-30s; due = now+30s
				in := pfInput(pfPod("old", "10.0.0.5", testbuild.Deleting(pfNow, 30)))
				in.Spec.DeregistrationDelay = &metav1.Duration{Duration: time.Minute}
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.5:8080", health: healthy})
				return in
			}(),
			want: pfSummary{
				States: map[string]string{"old": "Leaving"},
				Drain:  map[string][]string{"tg-a": {"10.0.0.5:8080"}},
				Next:   dueIn(30 * time.Second),
			},
		},
		{
			name: "timing: deregistration delay 0 removes at once",
			in: func() Input {
				in := pfInput(pfPod("old", "10.0.0.5", testbuild.Deleting(pfNow.Add(30*time.Second), 30)))
				in.Spec.DeregistrationDelay = &metav1.Duration{}
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.5:8080", health: healthy})
				return in
			}(),
			want: pfSummary{
				States:     map[string]string{"old": "Leaving"},
				Deregister: map[string][]string{"tg-a": {"10.0.0.5:8080"}},
			},
		},
		{
			name: "timing: deletionGracePeriodSeconds 0",
			in: func() Input {
				in := pfInput(pfPod("old", "10.0.0.5", testbuild.Deleting(pfNow.Add(-5*time.Second), 0)))
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.5:8080", health: healthy})
				return in
			}(),
			want: pfSummary{
				States: map[string]string{"old": "Leaving"},
				Drain:  map[string][]string{"tg-a": {"10.0.0.5:8080"}},
				Next:   dueIn(10 * time.Second),
			},
		},
		{
			name: "timing: deletionGracePeriodSeconds unset counts as 30s",
			in: func() Input {
				in := pfInput(pfPod("old", "10.0.0.5", testbuild.Deleting(pfNow.Add(20*time.Second), -1)))
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.5:8080", health: healthy})
				return in
			}(),
			want: pfSummary{
				States: map[string]string{"old": "Leaving"},
				Drain:  map[string][]string{"tg-a": {"10.0.0.5:8080"}},
				Next:   dueIn(5 * time.Second),
			},
		},
		{
			name: "timing: delete request in the future (clock skew) is not deregistered early",
			in: func() Input {
				// deletionTimestamp - grace = now+10s: not deregistered before now+25s.
				in := pfInput(pfPod("old", "10.0.0.5", testbuild.Deleting(pfNow.Add(40*time.Second), 30)))
				in.Now = pfNow.Add(20 * time.Second)
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.5:8080", health: draining})
				return in
			}(),
			want: pfSummary{
				States: map[string]string{"old": "Leaving"},
				Next:   dueIn(25 * time.Second),
			},
		},
		{
			name: "timing: NextDeregistration is the earliest due",
			in: func() Input {
				in := pfInput(
					pfPod("late", "10.0.0.5", testbuild.Deleting(pfNow.Add(25*time.Second), 30)),  // due now+10s
					pfPod("early", "10.0.0.6", testbuild.Deleting(pfNow.Add(20*time.Second), 30)), // due now+5s
				)
				in.Registered = pfRegistered(
					pfB{target: "tg-a", addr: "10.0.0.6:8080", health: healthy},
					pfB{target: "tg-a", addr: "10.0.0.5:8080", health: healthy},
				)
				return in
			}(),
			want: pfSummary{
				States: map[string]string{"late": "Leaving", "early": "Leaving"},
				Drain:  map[string][]string{"tg-a": {"10.0.0.5:8080", "10.0.0.6:8080"}},
				Next:   dueIn(5 * time.Second),
			},
		},
		{
			name: "timing: a leaving pod not registered needs nothing and sets no NextDeregistration",
			in:   pfInput(pfPod("old", "10.0.0.5", testbuild.Deleting(pfNow.Add(25*time.Second), 30))),
			want: pfSummary{States: map[string]string{"old": "Leaving"}},
		},
		{
			name: "finished: Succeeded pod is deregistered at once, without draining",
			in: func() Input {
				in := pfInput(pfPod("done", "10.0.0.5", testbuild.Phase(corev1.PodSucceeded)))
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.5:8080", health: healthy})
				return in
			}(),
			want: pfSummary{
				States:     map[string]string{"done": "Leaving"},
				Deregister: map[string][]string{"tg-a": {"10.0.0.5:8080"}},
			},
		},
		{
			name: "finished: Failed pod is deregistered at once",
			in: func() Input {
				in := pfInput(pfPod("done", "10.0.0.5", testbuild.Phase(corev1.PodFailed)))
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.5:8080", health: draining})
				return in
			}(),
			want: pfSummary{
				States:     map[string]string{"done": "Leaving"},
				Deregister: map[string][]string{"tg-a": {"10.0.0.5:8080"}},
			},
		},
		{
			name: "leaving: pod whose IP left the mode ranges drains by its registered IP",
			in: func() Input {
				in := pfInput(pfPod("old", "192.168.0.5", testbuild.Deleting(pfNow.Add(25*time.Second), 30)))
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "192.168.0.5:8080", health: healthy})
				return in
			}(),
			want: pfSummary{
				States: map[string]string{"old": "Leaving"},
				Drain:  map[string][]string{"tg-a": {"192.168.0.5:8080"}},
				Next:   dueIn(10 * time.Second),
			},
		},

		// Orphans.
		{
			name: "orphan: registered address no pod claims is deregistered",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1"))
				in.Registered = pfRegistered(
					pfB{target: "tg-a", addr: "10.0.0.1:8080", health: healthy},
					pfB{target: "tg-a", addr: "10.0.0.99:8080", health: healthy},
				)
				return in
			}(),
			want: pfSummary{
				States:     map[string]string{"a": "Bound"},
				Deregister: map[string][]string{"tg-a": {"10.0.0.99:8080"}},
			},
		},
		{
			name: "orphan: a registered pod that left the mode ranges drains, then goes",
			in: func() Input {
				in := pfInput(pfPod("a", "192.168.0.1"))
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "192.168.0.1:8080", health: healthy})
				return in
			}(),
			want: pfSummary{
				States: map[string]string{"a": "ModeMismatch"},
				Drain:  map[string][]string{"tg-a": {"192.168.0.1:8080"}},
				Next:   dueIn(15 * time.Second),
			},
		},
		{
			name: "orphan: old target port stays in traffic while the new one is registered (make before break)",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1"))
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.1:7000", health: healthy})
				return in
			}(),
			want: pfSummary{
				States:   map[string]string{"a": "Bound"},
				Register: map[string][]string{"tg-a": {"10.0.0.1:8080(w=10)"}},
				Next:     dueIn(DefaultHandoverTimeout),
			},
			bug: "issue 8 bug 4: a targetPort change deregistered the old backends in the pass that registered the new ones",
		},
		{
			name: "orphan: registered hostNetwork pod drains, then goes",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1", testbuild.HostNetwork()))
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.1:8080", health: healthy})
				return in
			}(),
			want: pfSummary{
				States: map[string]string{"a": "HostNetwork"},
				Drain:  map[string][]string{"tg-a": {"10.0.0.1:8080"}},
				Next:   dueIn(15 * time.Second),
			},
		},
		{
			name: "orphan: registered pod whose target port no longer resolves drains, then goes",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1", testbuild.Containers(testbuild.Container("app", "", testbuild.ContainerPort("web", 8080, corev1.ProtocolTCP)))))
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.1:8080", health: healthy})
				return in
			}(),
			want: pfSummary{
				States: map[string]string{"a": "PortNotFound"},
				Drain:  map[string][]string{"tg-a": {"10.0.0.1:8080"}},
				Next:   dueIn(15 * time.Second),
			},
		},
		{
			name: "orphans on several targets are each deregistered, sorted",
			in: func() Input {
				in := pfInput()
				in.Spec.Ports = []v1alpha1.PortBinding{pfBind(80, "tg-a"), pfBind(9090, "tg-b")}
				in.Registered = pfRegistered(
					pfB{target: "tg-a", addr: "10.0.0.9:8080", health: healthy},
					pfB{target: "tg-a", addr: "10.0.0.10:8080", health: healthy},
					pfB{target: "tg-a", addr: "10.0.0.2:8080", health: healthy},
					pfB{target: "tg-b", addr: "10.0.0.3:9100", health: healthy},
				)
				return in
			}(),
			want: pfSummary{
				Deregister: map[string][]string{
					"tg-a": {"10.0.0.2:8080", "10.0.0.9:8080", "10.0.0.10:8080"},
					"tg-b": {"10.0.0.3:9100"},
				},
			},
		},
		{
			name: "orphan: a finished pod's stale IP does not deregister the live pod that reuses it",
			in: func() Input {
				// An evicted pod stays Failed with its old status.podIP; the CNI
				// gives that IP to a new pod, which is bound and healthy.
				in := pfInput(
					pfPod("evicted", "10.0.0.1", pfCreated(0), testbuild.Phase(corev1.PodFailed)),
					pfPod("new", "10.0.0.1", pfCreated(time.Minute)),
				)
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.1:8080", health: healthy})
				in.Records = map[TargetBackend]v1alpha1.BackendRecord{
					pfTB("tg-a", "10.0.0.1:8080"): record(pfTB("tg-a", "10.0.0.1:8080"), in.Pods[1]),
				}
				return in
			}(),
			want: pfSummary{States: map[string]string{"evicted": "Leaving", "new": "Bound"}},
			bug:  "plan.go BuildPlan Leaving branch deregisters/drains an address a Bound pod claims when a finished pod still reports the same (reused) IP",
		},

		// Spec problems and multi-port Services.
		{
			name: "problems: spec port that is not a Service port",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1"))
				in.Spec.Ports = []v1alpha1.PortBinding{pfBind(80, "tg-a"), pfBind(443, "tg-b")}
				return in
			}(),
			want: pfSummary{
				States:   map[string]string{"a": "Bound"},
				Register: map[string][]string{"tg-a": {"10.0.0.1:8080(w=10)"}},
				Problems: []string{"spec.ports[1].port 443 is not a port of Service web"},
			},
		},
		{
			name: "problems: every spec port missing is reported, in spec order",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1"))
				in.Spec.Ports = []v1alpha1.PortBinding{pfBind(443, "tg-a"), pfBind(8443, "tg-b")}
				return in
			}(),
			want: pfSummary{
				States: map[string]string{"a": "Pending"},
				Problems: []string{
					"spec.ports[0].port 443 is not a port of Service web",
					"spec.ports[1].port 8443 is not a port of Service web",
				},
			},
		},
		{
			name: "problems: a target whose Service port vanished keeps its backends (no outage while gates stay True)",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1"))
				in.Spec.Ports = []v1alpha1.PortBinding{pfBind(443, "tg-a")}
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.1:8080", health: healthy})
				return in
			}(),
			want: pfSummary{
				States:   map[string]string{"a": "Pending"},
				Problems: []string{"spec.ports[0].port 443 is not a port of Service web"},
			},
		},
		{
			name: "multi-port: new pod is registered on both targets",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1"))
				in.Spec.Ports = []v1alpha1.PortBinding{pfBind(80, "tg-a"), pfBind(9090, "tg-b")}
				return in
			}(),
			want: pfSummary{
				States: map[string]string{"a": "Bound"},
				Register: map[string][]string{
					"tg-a": {"10.0.0.1:8080(w=10)"},
					"tg-b": {"10.0.0.1:9100(w=10)"},
				},
			},
		},
		{
			name: "multi-port: registered on one target only stays bound and is registered on the other",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1", pfUnready()))
				in.Spec.Ports = []v1alpha1.PortBinding{pfBind(80, "tg-a"), pfBind(9090, "tg-b")}
				in.Registered = pfRegistered(pfB{target: "tg-a", addr: "10.0.0.1:8080", health: healthy})
				return in
			}(),
			want: pfSummary{
				States:   map[string]string{"a": "Bound"},
				Register: map[string][]string{"tg-b": {"10.0.0.1:9100(w=10)"}},
			},
		},
		{
			name: "multi-port: leaving pod drains on both targets",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1", testbuild.Deleting(pfNow.Add(25*time.Second), 30)))
				in.Spec.Ports = []v1alpha1.PortBinding{pfBind(80, "tg-a"), pfBind(9090, "tg-b")}
				in.Registered = pfRegistered(
					pfB{target: "tg-a", addr: "10.0.0.1:8080", health: healthy},
					pfB{target: "tg-b", addr: "10.0.0.1:9100", health: draining},
				)
				return in
			}(),
			want: pfSummary{
				States: map[string]string{"a": "Leaving"},
				Drain:  map[string][]string{"tg-a": {"10.0.0.1:8080"}},
				Next:   dueIn(10 * time.Second),
			},
		},
		{
			name: "multi-port: one target port missing makes the pod PortNotFound and binds nothing",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1", testbuild.Containers(testbuild.Container("app", "", testbuild.ContainerPort("http", 8080, corev1.ProtocolTCP)))))
				in.Spec.Ports = []v1alpha1.PortBinding{pfBind(80, "tg-a"), pfBind(9090, "tg-b")}
				return in
			}(),
			want: pfSummary{States: map[string]string{"a": "PortNotFound"}},
			details: map[string]string{
				"a": `target port "metrics" (Service port 9090) of the Service names no container port of the pod`,
			},
		},
		{
			name: "multi-port: every missing target port is named",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1", testbuild.Containers(testbuild.Container("app", ""))))
				in.Spec.Ports = []v1alpha1.PortBinding{pfBind(80, "tg-a"), pfBind(9090, "tg-b")}
				return in
			}(),
			want: pfSummary{States: map[string]string{"a": "PortNotFound"}},
			details: map[string]string{
				"a": `target port "http" (Service port 80), "metrics" (Service port 9090) of the Service names no container port of the pod`,
			},
		},
		{
			name: "multi-port: two Service ports on one target sending to the same pod port register it once",
			in: func() Input {
				in := pfInput(pfPod("a", "10.0.0.1"))
				in.Service = pfSvc(
					pfSP(80, intstr.FromString("http"), corev1.ProtocolTCP),
					pfSP(8080, intstr.FromString("http"), corev1.ProtocolTCP),
				)
				in.Spec.Ports = []v1alpha1.PortBinding{pfBind(80, "tg-a"), pfBind(8080, "tg-a")}
				return in
			}(),
			want: pfSummary{
				States:   map[string]string{"a": "Bound"},
				Register: map[string][]string{"tg-a": {"10.0.0.1:8080(w=10)"}},
			},
			bug: "plan.go backendsOf/BuildPlan emit the same target+address once per Service port, so Register[tg-a] lists 10.0.0.1:8080 twice",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bug != "" {
				_ = tc.bug
			}
			p := BuildPlan(pfOwned(tc.in))
			pfDiff(t, pfSummarize(p), tc.want)
			for name, want := range tc.details {
				if got := pfFind(t, p, name).Detail; got != want {
					t.Errorf("detail of %s:\n got  %q\n want %q", name, got, want)
				}
			}
		})
	}
}

// TestBuildPlanOrder checks that the plan is sorted and does not depend on the order of its input.
func TestBuildPlanOrder(t *testing.T) {
	mk := func() []*corev1.Pod {
		return []*corev1.Pod{
			pfPod("e", "10.0.0.50", pfCreated(3*time.Minute)),
			pfPod("b", "10.0.0.9", pfCreated(1*time.Minute)),
			pfPod("a", "10.0.0.10", pfCreated(1*time.Minute)),
			pfPod("d", "10.0.0.2", pfCreated(0), testbuild.Deleting(pfNow.Add(25*time.Second), 30)),
			pfPod("c", "10.0.0.3", pfCreated(0), testbuild.Deleting(pfNow.Add(25*time.Second), 30)),
			pfPod("f", "10.0.0.100", pfCreated(2*time.Minute)),
		}
	}
	input := func(pods []*corev1.Pod) Input {
		in := pfInput(pods...)
		in.Spec.Ports = []v1alpha1.PortBinding{pfBind(80, "tg-a"), pfBind(9090, "tg-b")}
		in.Registered = pfRegistered(
			pfB{target: "tg-b", addr: "10.0.0.3:9100", health: providers.HealthHealthy},
			pfB{target: "tg-a", addr: "10.0.0.3:8080", health: providers.HealthHealthy},
			pfB{target: "tg-a", addr: "10.0.0.2:8080", health: providers.HealthHealthy},
			pfB{target: "tg-b", addr: "10.0.0.2:9100", health: providers.HealthHealthy},
			pfB{target: "tg-a", addr: "10.0.0.77:8080", health: providers.HealthHealthy},
			pfB{target: "tg-a", addr: "10.0.0.8:8080", health: providers.HealthHealthy},
		)
		return in
	}
	pods := mk()
	in := input(pods)
	first := BuildPlan(in)

	t.Run("pods in order of creation, then name", func(t *testing.T) {
		var names []string
		for _, pp := range first.Pods {
			names = append(names, pp.Pod.Name)
		}
		if want := []string{"c", "d", "a", "b", "f", "e"}; !slices.Equal(names, want) {
			t.Errorf("pod order: got %v, want %v", names, want)
		}
	})
	t.Run("input pods are not reordered", func(t *testing.T) {
		for i, p := range mk() {
			if in.Pods[i].Name != p.Name {
				t.Fatalf("input pods reordered: position %d holds %s, want %s", i, in.Pods[i].Name, p.Name)
			}
		}
	})
	t.Run("register, drain and deregister sorted by address", func(t *testing.T) {
		pfDiff(t, pfSummarize(first), pfSummary{
			States: map[string]string{"a": "Bound", "b": "Bound", "c": "Leaving", "d": "Leaving", "e": "Bound", "f": "Bound"},
			Register: map[string][]string{
				"tg-a": {"10.0.0.9:8080(w=10)", "10.0.0.10:8080(w=10)", "10.0.0.50:8080(w=10)", "10.0.0.100:8080(w=10)"},
				"tg-b": {"10.0.0.9:9100(w=10)", "10.0.0.10:9100(w=10)", "10.0.0.50:9100(w=10)", "10.0.0.100:9100(w=10)"},
			},
			Drain: map[string][]string{
				"tg-a": {"10.0.0.2:8080", "10.0.0.3:8080"},
				"tg-b": {"10.0.0.2:9100", "10.0.0.3:9100"},
			},
			Deregister: map[string][]string{"tg-a": {"10.0.0.8:8080", "10.0.0.77:8080"}},
			Next:       pfNow.Add(10 * time.Second),
		})
	})
	t.Run("same plan for any input order", func(t *testing.T) {
		for i := range 20 {
			shuffled := mk()
			// a deterministic permutation per round
			for j := range shuffled {
				k := (j*7 + i*3) % len(shuffled)
				shuffled[j], shuffled[k] = shuffled[k], shuffled[j]
			}
			got := BuildPlan(input(shuffled))
			if !reflect.DeepEqual(pfSummarize(got), pfSummarize(first)) {
				t.Fatalf("round %d: plan differs:\n got  %+v\n want %+v", i, pfSummarize(got), pfSummarize(first))
			}
			for j := range got.Pods {
				g, w := got.Pods[j], first.Pods[j]
				if g.Pod.Name != w.Pod.Name || g.State != w.State || g.Detail != w.Detail ||
					!slices.Equal(pfBackends(g.Backends), pfBackends(w.Backends)) {
					t.Fatalf("round %d: pod plan %d differs: got %s %v, want %s %v",
						i, j, g.Pod.Name, pfBackends(g.Backends), w.Pod.Name, pfBackends(w.Backends))
				}
			}
		}
	})
	t.Run("leaving pod found by IP alone lists its backends in a stable order", func(t *testing.T) {

		in := pfInput(pfPod("old", "192.168.0.5", testbuild.Deleting(pfNow.Add(25*time.Second), 30)))
		in.Spec.Ports = []v1alpha1.PortBinding{pfBind(80, "tg-a"), pfBind(9090, "tg-b")}
		in.Registered = pfRegistered(
			pfB{target: "tg-a", addr: "192.168.0.5:8080", health: providers.HealthHealthy},
			pfB{target: "tg-b", addr: "192.168.0.5:9100", health: providers.HealthHealthy},
		)
		want := pfBackends(BuildPlan(in).Pods[0].Backends)
		for i := range 50 {
			if got := pfBackends(BuildPlan(in).Pods[0].Backends); !slices.Equal(got, want) {
				t.Fatalf("run %d: backends %v, first run %v", i, got, want)
			}
		}
	})
}

// TestBuildPlanDoesNotMutateInput checks that planning leaves the pods and the listed backends alone.
func TestBuildPlanDoesNotMutateInput(t *testing.T) {
	in := pfInput(pfPod("b", "10.0.0.2", pfCreated(time.Minute)), pfPod("a", "10.0.0.1"))
	in.Registered = pfRegistered(
		pfB{target: "tg-a", addr: "10.0.0.9:8080", health: providers.HealthHealthy},
		pfB{target: "tg-a", addr: "10.0.0.1:8080", health: providers.HealthHealthy},
	)
	before := make([]*corev1.Pod, len(in.Pods))
	for i, p := range in.Pods {
		before[i] = p.DeepCopy()
	}
	regBefore := maps.Clone(in.Registered)
	for k, v := range regBefore {
		regBefore[k] = slices.Clone(v)
	}
	BuildPlan(in)
	for i := range in.Pods {
		if !reflect.DeepEqual(in.Pods[i], before[i]) {
			t.Errorf("pod %d changed by BuildPlan", i)
		}
	}
	if !reflect.DeepEqual(in.Registered, regBefore) {
		t.Errorf("registered backends changed by BuildPlan")
	}
}
