package backendgroup

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/internal/testbuild"
	"github.com/lbgate/lbgate/providers"
)

// owRec records tb as pod's; opts adjust it.
func owRec(target, addr string, pod *corev1.Pod, opts ...func(*v1alpha1.BackendRecord)) (TargetBackend, v1alpha1.BackendRecord) {
	tb := pfTB(target, addr)
	rec := record(tb, pod)
	for _, o := range opts {
		o(&rec)
	}
	return tb, rec
}

func owDraining(since time.Time) func(*v1alpha1.BackendRecord) {
	return func(r *v1alpha1.BackendRecord) { t := metav1.NewTime(since); r.DrainingSince = &t }
}

func owRetired(at time.Time) func(*v1alpha1.BackendRecord) {
	return func(r *v1alpha1.BackendRecord) { t := metav1.NewTime(at); r.RetiredAt = &t }
}

// owGateTrue gives the pod the gate of group web, True.
func owGateTrue() testbuild.PodOption {
	return testbuild.Condition(corev1.PodConditionType(v1alpha1.GateConditionType("web")), corev1.ConditionTrue)
}

// TestBuildPlanOwnership: the planner decides from whose each backend is
// (issue 8, bugs 1, 4 and 6), never from an address alone.
func TestBuildPlanOwnership(t *testing.T) {
	healthy, initial, draining := providers.HealthHealthy, providers.HealthInitial, providers.HealthDraining
	dueIn := func(d time.Duration) time.Time { return pfNow.Add(d) }
	old := pfPod("old", "10.0.0.1", pfCreated(-time.Hour))
	blue := pfPod("blue", "10.0.1.1", testbuild.Labels(map[string]string{"app": "blue"}), owGateTrue())
	tests := []struct {
		name       string
		pods       []*corev1.Pod
		others     []*corev1.Pod // pods not selected, for Owners
		registered []pfB
		records    []func() (TargetBackend, v1alpha1.BackendRecord)
		edit       func(*Input)
		want       pfSummary
		held       int
		timedOut   int
		owners     map[string]string // backend -> pod name after the plan ("" for none)
	}{
		{
			name:       "bug 1: a new pod on a freed IP gets a fresh check, not the previous pod's health",
			pods:       []*corev1.Pod{pfPod("new", "10.0.0.1")},
			registered: []pfB{{target: "tg-a", addr: "10.0.0.1:8080", health: healthy}},
			records:    []func() (TargetBackend, v1alpha1.BackendRecord){func() (TargetBackend, v1alpha1.BackendRecord) { return owRec("tg-a", "10.0.0.1:8080", old) }},
			want: pfSummary{
				States:   map[string]string{"new": "Bound"},
				Register: map[string][]string{"tg-a": {"10.0.0.1:8080(w=10) recheck"}},
			},
			owners: map[string]string{"tg-a 10.0.0.1:8080": "new"},
		},
		{
			name:       "bug 1: a new pod on a freed IP waits for its containers; the gone pod's backend goes",
			pods:       []*corev1.Pod{pfPod("new", "10.0.0.1", pfUnready())},
			registered: []pfB{{target: "tg-a", addr: "10.0.0.1:8080", health: healthy}},
			records:    []func() (TargetBackend, v1alpha1.BackendRecord){func() (TargetBackend, v1alpha1.BackendRecord) { return owRec("tg-a", "10.0.0.1:8080", old) }},
			want: pfSummary{
				States:     map[string]string{"new": "WaitingContainers"},
				Deregister: map[string][]string{"tg-a": {"10.0.0.1:8080"}},
			},
			owners: map[string]string{},
		},
		{
			name: "bug 1: a new pod on the IP of a pod still draining takes the backend over with a fresh check",
			pods: []*corev1.Pod{
				pfPod("old", "10.0.0.1", pfCreated(-time.Hour), testbuild.Deleting(pfNow, 30)),
				pfPod("new", "10.0.0.1"),
			},
			registered: []pfB{{target: "tg-a", addr: "10.0.0.1:8080", health: draining}},
			records:    []func() (TargetBackend, v1alpha1.BackendRecord){func() (TargetBackend, v1alpha1.BackendRecord) { return owRec("tg-a", "10.0.0.1:8080", old) }},
			want: pfSummary{
				States:   map[string]string{"old": "Leaving", "new": "Bound"},
				Register: map[string][]string{"tg-a": {"10.0.0.1:8080(w=10) recheck"}},
			},
			owners: map[string]string{"tg-a 10.0.0.1:8080": "new"},
		},
		{
			name:       "bug 1: a backend of no known pod is checked afresh for a pod whose gate is not True",
			pods:       []*corev1.Pod{pfPod("a", "10.0.0.1")},
			registered: []pfB{{target: "tg-a", addr: "10.0.0.1:8080", health: healthy}},
			records:    nil,
			edit:       func(in *Input) { in.Records = map[TargetBackend]v1alpha1.BackendRecord{} },
			want: pfSummary{
				States:   map[string]string{"a": "Bound"},
				Register: map[string][]string{"tg-a": {"10.0.0.1:8080(w=10) recheck"}},
			},
			owners: map[string]string{"tg-a 10.0.0.1:8080": "a"},
		},
		{
			name:       "a pod whose gate is True adopts an unrecorded backend at its address (groups from before records)",
			pods:       []*corev1.Pod{pfPod("a", "10.0.0.1", owGateTrue())},
			registered: []pfB{{target: "tg-a", addr: "10.0.0.1:8080", health: healthy}},
			edit:       func(in *Input) { in.Records = map[TargetBackend]v1alpha1.BackendRecord{} },
			want:       pfSummary{States: map[string]string{"a": "Bound"}},
			owners:     map[string]string{"tg-a 10.0.0.1:8080": "a"},
		},
		{
			name:       "bug 1: a pod whose sandbox got a new IP registers it and drains the old one",
			pods:       []*corev1.Pod{pfPod("a", "10.0.0.2", owGateTrue())},
			registered: []pfB{{target: "tg-a", addr: "10.0.0.1:8080", health: healthy}},
			records: []func() (TargetBackend, v1alpha1.BackendRecord){func() (TargetBackend, v1alpha1.BackendRecord) {
				return owRec("tg-a", "10.0.0.1:8080", pfPod("a", "10.0.0.2"))
			}},
			want: pfSummary{
				States:   map[string]string{"a": "Bound"},
				Register: map[string][]string{"tg-a": {"10.0.0.2:8080(w=10)"}},
				Drain:    map[string][]string{"tg-a": {"10.0.0.1:8080"}},
				Next:     dueIn(15 * time.Second),
			},
			owners: map[string]string{"tg-a 10.0.0.1:8080": "a", "tg-a 10.0.0.2:8080": "a"},
		},
		{
			name:       "bug 1: a pod whose sandbox got a new IP keeps its place while its containers restart",
			pods:       []*corev1.Pod{pfPod("a", "10.0.0.2", owGateTrue(), pfUnready())},
			registered: []pfB{{target: "tg-a", addr: "10.0.0.1:8080", health: healthy}},
			records: []func() (TargetBackend, v1alpha1.BackendRecord){func() (TargetBackend, v1alpha1.BackendRecord) {
				return owRec("tg-a", "10.0.0.1:8080", pfPod("a", "10.0.0.2"))
			}},
			want: pfSummary{
				States: map[string]string{"a": "Bound"},
				Drain:  map[string][]string{"tg-a": {"10.0.0.1:8080"}},
				Next:   dueIn(15 * time.Second),
			},
			owners: map[string]string{"tg-a 10.0.0.1:8080": "a"},
		},
		{
			name:       "bug 4: after a selector switch the old pods stay in traffic while the new ones are checked",
			pods:       []*corev1.Pod{pfPod("green", "10.0.0.1")},
			others:     []*corev1.Pod{blue},
			registered: []pfB{{target: "tg-a", addr: "10.0.0.1:8080", health: initial}, {target: "tg-a", addr: "10.0.1.1:8080", health: healthy}},
			records: []func() (TargetBackend, v1alpha1.BackendRecord){
				func() (TargetBackend, v1alpha1.BackendRecord) {
					return owRec("tg-a", "10.0.0.1:8080", pfPod("green", "10.0.0.1"))
				},
				func() (TargetBackend, v1alpha1.BackendRecord) { return owRec("tg-a", "10.0.1.1:8080", blue) },
			},
			want:   pfSummary{States: map[string]string{"green": "Bound"}, Next: dueIn(DefaultHandoverTimeout)},
			held:   1,
			owners: map[string]string{"tg-a 10.0.0.1:8080": "green", "tg-a 10.0.1.1:8080": "blue"},
		},
		{
			name:       "bug 4: once the new pods are healthy the old ones drain, then go",
			pods:       []*corev1.Pod{pfPod("green", "10.0.0.1")},
			others:     []*corev1.Pod{blue},
			registered: []pfB{{target: "tg-a", addr: "10.0.0.1:8080", health: healthy}, {target: "tg-a", addr: "10.0.1.1:8080", health: healthy}},
			records: []func() (TargetBackend, v1alpha1.BackendRecord){
				func() (TargetBackend, v1alpha1.BackendRecord) {
					return owRec("tg-a", "10.0.0.1:8080", pfPod("green", "10.0.0.1"))
				},
				func() (TargetBackend, v1alpha1.BackendRecord) {
					return owRec("tg-a", "10.0.1.1:8080", blue, owRetired(pfNow.Add(-time.Minute)))
				},
			},
			want: pfSummary{
				States: map[string]string{"green": "Bound"},
				Drain:  map[string][]string{"tg-a": {"10.0.1.1:8080"}},
				Next:   dueIn(15 * time.Second),
			},
			owners: map[string]string{"tg-a 10.0.0.1:8080": "green", "tg-a 10.0.1.1:8080": "blue"},
		},
		{
			name:       "bug 4: a handover that times out drains the old pods and says so",
			pods:       []*corev1.Pod{pfPod("green", "10.0.0.1")},
			others:     []*corev1.Pod{blue},
			registered: []pfB{{target: "tg-a", addr: "10.0.0.1:8080", health: providers.HealthUnhealthy}, {target: "tg-a", addr: "10.0.1.1:8080", health: healthy}},
			records: []func() (TargetBackend, v1alpha1.BackendRecord){
				func() (TargetBackend, v1alpha1.BackendRecord) {
					return owRec("tg-a", "10.0.0.1:8080", pfPod("green", "10.0.0.1"))
				},
				func() (TargetBackend, v1alpha1.BackendRecord) {
					return owRec("tg-a", "10.0.1.1:8080", blue, owRetired(pfNow.Add(-DefaultHandoverTimeout)))
				},
			},
			want: pfSummary{
				States: map[string]string{"green": "Bound"},
				Drain:  map[string][]string{"tg-a": {"10.0.1.1:8080"}},
				Next:   dueIn(15 * time.Second),
			},
			timedOut: 1,
			owners:   map[string]string{"tg-a 10.0.0.1:8080": "green", "tg-a 10.0.1.1:8080": "blue"},
		},
		{
			name:       "bug 4: a drained old backend goes after the deregistration delay",
			pods:       []*corev1.Pod{pfPod("green", "10.0.0.1")},
			others:     []*corev1.Pod{blue},
			registered: []pfB{{target: "tg-a", addr: "10.0.0.1:8080", health: healthy}, {target: "tg-a", addr: "10.0.1.1:8080", health: draining}},
			records: []func() (TargetBackend, v1alpha1.BackendRecord){
				func() (TargetBackend, v1alpha1.BackendRecord) {
					return owRec("tg-a", "10.0.0.1:8080", pfPod("green", "10.0.0.1"))
				},
				func() (TargetBackend, v1alpha1.BackendRecord) {
					return owRec("tg-a", "10.0.1.1:8080", blue, owDraining(pfNow.Add(-15*time.Second)))
				},
			},
			want: pfSummary{
				States:     map[string]string{"green": "Bound"},
				Deregister: map[string][]string{"tg-a": {"10.0.1.1:8080"}},
			},
			owners: map[string]string{"tg-a 10.0.0.1:8080": "green"},
		},
		{
			name:       "bug 4: a move to another target registers there first and keeps the old target until the pods pass",
			pods:       []*corev1.Pod{pfPod("a", "10.0.0.1", owGateTrue())},
			registered: []pfB{{target: "tg-old", addr: "10.0.0.1:8080", health: healthy}},
			records: []func() (TargetBackend, v1alpha1.BackendRecord){
				func() (TargetBackend, v1alpha1.BackendRecord) {
					return owRec("tg-old", "10.0.0.1:8080", pfPod("a", "10.0.0.1"))
				},
			},
			want: pfSummary{
				States:   map[string]string{"a": "Bound"},
				Register: map[string][]string{"tg-a": {"10.0.0.1:8080(w=10)"}},
				Next:     dueIn(DefaultHandoverTimeout),
			},
			held:   1,
			owners: map[string]string{"tg-a 10.0.0.1:8080": "a", "tg-old 10.0.0.1:8080": "a"},
		},
		{
			name: "bug 6: the quota counts slots: a pod with two backends on one target takes two",
			pods: []*corev1.Pod{pfPod("a", "10.0.0.1", pfCreated(0)), pfPod("b", "10.0.0.2", pfCreated(time.Minute))},
			registered: []pfB{
				{target: "tg-a", addr: "10.0.0.1:8080", health: healthy},
				{target: "tg-a", addr: "10.0.0.1:9100", health: healthy},
			},
			records: []func() (TargetBackend, v1alpha1.BackendRecord){
				func() (TargetBackend, v1alpha1.BackendRecord) {
					return owRec("tg-a", "10.0.0.1:8080", pfPod("a", "10.0.0.1"))
				},
				func() (TargetBackend, v1alpha1.BackendRecord) {
					return owRec("tg-a", "10.0.0.1:9100", pfPod("a", "10.0.0.1"))
				},
			},
			edit: func(in *Input) {
				in.Spec.Ports = []v1alpha1.PortBinding{pfBind(80, "tg-a"), pfBind(9090, "tg-a")}
				in.MaxBackends = 3
			},
			want:   pfSummary{States: map[string]string{"a": "Bound", "b": "QuotaWait"}},
			owners: map[string]string{"tg-a 10.0.0.1:8080": "a", "tg-a 10.0.0.1:9100": "a"},
		},
		{
			name:       "bug 6: the quota counts backends still draining for a pod that is gone",
			pods:       []*corev1.Pod{pfPod("a", "10.0.0.1", pfCreated(0)), pfPod("b", "10.0.0.2", pfCreated(time.Minute))},
			others:     []*corev1.Pod{blue},
			registered: []pfB{{target: "tg-a", addr: "10.0.0.1:8080", health: healthy}, {target: "tg-a", addr: "10.0.1.1:8080", health: draining}},
			records: []func() (TargetBackend, v1alpha1.BackendRecord){
				func() (TargetBackend, v1alpha1.BackendRecord) {
					return owRec("tg-a", "10.0.0.1:8080", pfPod("a", "10.0.0.1"))
				},
				func() (TargetBackend, v1alpha1.BackendRecord) {
					return owRec("tg-a", "10.0.1.1:8080", blue, owDraining(pfNow.Add(-5*time.Second)))
				},
			},
			edit: func(in *Input) { in.MaxBackends = 2 },
			want: pfSummary{
				States: map[string]string{"a": "Bound", "b": "QuotaWait"},
				Next:   dueIn(10 * time.Second),
			},
			owners: map[string]string{"tg-a 10.0.0.1:8080": "a", "tg-a 10.0.1.1:8080": "blue"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := pfInput(tc.pods...)
			in.Registered = pfRegistered(tc.registered...)
			in.GateType = v1alpha1.GateConditionType("web")
			in.Owners = map[types.UID]*corev1.Pod{}
			for _, p := range append(append([]*corev1.Pod{}, tc.pods...), tc.others...) {
				in.Owners[p.UID] = p
			}
			in.Records = map[TargetBackend]v1alpha1.BackendRecord{}
			for _, r := range tc.records {
				tb, rec := r()
				in.Records[tb] = rec
			}
			if tc.edit != nil {
				tc.edit(&in)
			}
			p := BuildPlan(in)
			pfDiff(t, pfSummarize(p), tc.want)
			if len(p.Held) != tc.held {
				t.Errorf("held: got %v, want %d", p.Held, tc.held)
			}
			if len(p.HandoverTimedOut) != tc.timedOut {
				t.Errorf("handover timed out: got %v, want %d", p.HandoverTimedOut, tc.timedOut)
			}
			got := map[string]string{}
			for tb, rec := range p.Records {
				got[tb.Target+" "+tb.Addr.String()] = rec.Pod
			}
			if tc.owners != nil && !equalMaps(got, tc.owners) {
				t.Errorf("owners:\n got  %v\n want %v", got, tc.owners)
			}
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
