package webhook

import (
	"reflect"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/lbgate/lbgate/internal/testbuild"
)

const (
	gateWeb = "backend.lbgate.dev/web"
	gateAPI = "backend.lbgate.dev/api"
)

// newPod is pod web-1 of namespace shop, labelled app=web and tier=front,
// with the containers app and proxy; opts change it.
func newPod(opts ...testbuild.PodOption) *corev1.Pod {
	base := []testbuild.PodOption{
		testbuild.Namespace("shop"),
		testbuild.Labels(map[string]string{"app": "web", "tier": "front"}),
		testbuild.Containers(testbuild.Container("app", "app:1"), testbuild.Container("proxy", "proxy:1")),
	}
	return testbuild.Pod("web-1", append(base, opts...)...)
}

// mirror marks a pod as the mirror of a static pod.
var mirror = testbuild.Annotations(map[string]string{corev1.MirrorPodAnnotationKey: "a1b2c3"})

var (
	webGroup = Group{Name: "web", Selector: map[string]string{"app": "web"}}
	apiGroup = Group{Name: "api", Selector: map[string]string{"tier": "front"}}
)

func withDelay(g Group, d time.Duration) Group {
	g.PreStopDelay = d
	return g
}

func TestMutate(t *testing.T) {
	operator := Options{OperatorPodSelector: map[string]string{"app.kubernetes.io/name": "lbgate"}}
	tests := []struct {
		name   string
		pod    *corev1.Pod
		groups []Group
		opts   Options

		wantGates     []string         // the pod's gates afterwards
		wantSleep     map[string]int64 // container -> added sleep seconds
		wantSkipped   SkipReason
		wantMatched   []string
		wantAdded     []string
		wantPresent   []string
		wantPSAdded   []PreStopAdded
		wantPSSkipped []PreStopSkipped
	}{
		{name: "no groups", pod: newPod(), wantMatched: []string{}},
		{name: "one matching group", pod: newPod(), groups: []Group{webGroup},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb}},
		{name: "two matching groups, added in name order", pod: newPod(), groups: []Group{webGroup, apiGroup},
			wantGates: []string{gateAPI, gateWeb}, wantMatched: []string{"api", "web"}, wantAdded: []string{gateAPI, gateWeb}},
		{name: "selector value differs", pod: newPod(testbuild.Labels(map[string]string{"app": "shop"})), groups: []Group{webGroup},
			wantMatched: []string{}},
		{name: "selector needs every pair", pod: newPod(testbuild.Labels(map[string]string{"app": "web"})),
			groups:      []Group{{Name: "both", Selector: map[string]string{"app": "web", "tier": "front"}}},
			wantMatched: []string{}},
		{name: "pod without labels", pod: newPod(testbuild.Labels(map[string]string{})), groups: []Group{webGroup}, wantMatched: []string{}},
		{name: "nil selector matches nothing", pod: newPod(), groups: []Group{{Name: "all"}}, wantMatched: []string{}},
		{name: "empty selector matches nothing", pod: newPod(), groups: []Group{{Name: "all", Selector: map[string]string{}}}, wantMatched: []string{}},
		{name: "group without a name is ignored", pod: newPod(), groups: []Group{{Selector: map[string]string{"app": "web"}}}, wantMatched: []string{}},
		{name: "existing gates kept, ours after them", pod: newPod(testbuild.ReadinessGates("example.com/warm", "backend.lbgate.dev/old")), groups: []Group{webGroup},
			wantGates: []string{"example.com/warm", "backend.lbgate.dev/old", gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb}},
		{name: "gate already present is not added twice", pod: newPod(testbuild.ReadinessGates(gateWeb)), groups: []Group{webGroup, apiGroup},
			wantGates: []string{gateWeb, gateAPI}, wantMatched: []string{"api", "web"}, wantAdded: []string{gateAPI}, wantPresent: []string{gateWeb}},
		{name: "same group listed twice", pod: newPod(), groups: []Group{webGroup, webGroup},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb}},
		{name: "hostNetwork pod", pod: newPod(testbuild.HostNetwork()), groups: []Group{withDelay(webGroup, 10*time.Second)},
			wantSkipped: SkipHostNetwork, wantMatched: []string{"web"}},
		{name: "mirror pod", pod: newPod(mirror), groups: []Group{webGroup},
			wantSkipped: SkipMirrorPod, wantMatched: []string{"web"}},
		{name: "operator's own pod", pod: newPod(testbuild.Labels(map[string]string{"app": "web", "app.kubernetes.io/name": "lbgate"})), groups: []Group{webGroup}, opts: operator,
			wantSkipped: SkipOperatorPod, wantMatched: []string{"web"}},
		{name: "operator label with another value", pod: newPod(testbuild.Labels(map[string]string{"app": "web", "app.kubernetes.io/name": "shop"})), groups: []Group{webGroup}, opts: operator,
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb}},
		{name: "no operator selector skips nobody", pod: newPod(testbuild.Labels(map[string]string{"app": "web", "app.kubernetes.io/name": "lbgate"})), groups: []Group{webGroup},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb}},

		// preStop sleeps.
		{name: "prestop on every container", pod: newPod(testbuild.InitContainers(testbuild.Container("init", "init:1"))), groups: []Group{withDelay(webGroup, 10*time.Second)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep:   map[string]int64{"app": 10, "proxy": 10},
			wantPSAdded: []PreStopAdded{{"app", 10, 10}, {"proxy", 10, 10}}},
		{name: "container with its own preStop keeps it", pod: newPod(testbuild.PreStopExec(0, "drain")), groups: []Group{withDelay(webGroup, 10*time.Second)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep:     map[string]int64{"proxy": 10},
			wantPSAdded:   []PreStopAdded{{"proxy", 10, 10}},
			wantPSSkipped: []PreStopSkipped{{"app", PreStopHookPresent}}},
		{name: "postStart kept beside the added preStop", pod: newPod(testbuild.PostStartExec(1, "warm")), groups: []Group{withDelay(webGroup, 3*time.Second)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep:   map[string]int64{"app": 3, "proxy": 3},
			wantPSAdded: []PreStopAdded{{"app", 3, 3}, {"proxy", 3, 3}}},
		{name: "capped by the default grace period minus margin", pod: newPod(), groups: []Group{withDelay(webGroup, 40*time.Second)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep:   map[string]int64{"app": 25, "proxy": 25},
			wantPSAdded: []PreStopAdded{{"app", 25, 40}, {"proxy", 25, 40}}},
		{name: "capped by a custom grace period and margin", pod: newPod(testbuild.TerminationGrace(60)), groups: []Group{withDelay(webGroup, 90*time.Second)},
			opts:      Options{PreStopMargin: 15 * time.Second},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep:   map[string]int64{"app": 45, "proxy": 45},
			wantPSAdded: []PreStopAdded{{"app", 45, 90}, {"proxy", 45, 90}}},
		{name: "exactly at the cap", pod: newPod(testbuild.TerminationGrace(20)), groups: []Group{withDelay(webGroup, 15*time.Second)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep:   map[string]int64{"app": 15, "proxy": 15},
			wantPSAdded: []PreStopAdded{{"app", 15, 15}, {"proxy", 15, 15}}},
		{name: "fractions round up", pod: newPod(), groups: []Group{withDelay(webGroup, 1500*time.Millisecond)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep:   map[string]int64{"app": 2, "proxy": 2},
			wantPSAdded: []PreStopAdded{{"app", 2, 2}, {"proxy", 2, 2}}},
		{name: "grace period leaves no room", pod: newPod(testbuild.TerminationGrace(5)), groups: []Group{withDelay(webGroup, 10*time.Second)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantPSSkipped: []PreStopSkipped{{"app", PreStopGraceTooShort}, {"proxy", PreStopGraceTooShort}}},
		{name: "grace period zero", pod: newPod(testbuild.TerminationGrace(0)), groups: []Group{withDelay(webGroup, 10*time.Second)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantPSSkipped: []PreStopSkipped{{"app", PreStopGraceTooShort}, {"proxy", PreStopGraceTooShort}}},
		{name: "longest delay of the matching groups", pod: newPod(), groups: []Group{withDelay(webGroup, 5*time.Second), withDelay(apiGroup, 12*time.Second)},
			wantGates: []string{gateAPI, gateWeb}, wantMatched: []string{"api", "web"}, wantAdded: []string{gateAPI, gateWeb},
			wantSleep:   map[string]int64{"app": 12, "proxy": 12},
			wantPSAdded: []PreStopAdded{{"app", 12, 12}, {"proxy", 12, 12}}},
		{name: "delay of a group that does not match is ignored", pod: newPod(),
			groups:    []Group{webGroup, {Name: "other", Selector: map[string]string{"app": "other"}, PreStopDelay: 10 * time.Second}},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb}},
		{name: "prestop for a pod whose gate is already there", pod: newPod(testbuild.ReadinessGates(gateWeb)), groups: []Group{withDelay(webGroup, 4*time.Second)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantPresent: []string{gateWeb},
			wantSleep:   map[string]int64{"app": 4, "proxy": 4},
			wantPSAdded: []PreStopAdded{{"app", 4, 4}, {"proxy", 4, 4}}},
		{name: "mirror pod gets no prestop either", pod: newPod(mirror), groups: []Group{withDelay(webGroup, 4*time.Second)},
			wantSkipped: SkipMirrorPod, wantMatched: []string{"web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.pod.DeepCopy()
			res := Mutate(tt.pod, tt.groups, tt.opts)

			if res.Skipped != tt.wantSkipped {
				t.Errorf("Skipped = %q, want %q", res.Skipped, tt.wantSkipped)
			}
			if !slices.Equal(res.Matched, tt.wantMatched) {
				t.Errorf("Matched = %v, want %v", res.Matched, tt.wantMatched)
			}
			if !slices.Equal(res.GatesAdded, tt.wantAdded) || !slices.Equal(res.GatesPresent, tt.wantPresent) {
				t.Errorf("GatesAdded %v GatesPresent %v, want %v and %v", res.GatesAdded, res.GatesPresent, tt.wantAdded, tt.wantPresent)
			}
			if !slices.Equal(res.PreStopAdded, tt.wantPSAdded) || !slices.Equal(res.PreStopSkipped, tt.wantPSSkipped) {
				t.Errorf("PreStopAdded %v PreStopSkipped %v, want %v and %v", res.PreStopAdded, res.PreStopSkipped, tt.wantPSAdded, tt.wantPSSkipped)
			}
			if got := gateTypes(tt.pod); !slices.Equal(got, tt.wantGates) && !(len(got) == 0 && len(tt.wantGates) == 0) {
				t.Errorf("pod gates %v, want %v", got, tt.wantGates)
			}
			checkSleeps(t, before, tt.pod, tt.wantSleep)
			if tt.pod.Spec.InitContainers != nil && !reflect.DeepEqual(tt.pod.Spec.InitContainers, before.Spec.InitContainers) {
				t.Error("init containers changed")
			}
			if res.Changed() != (len(tt.wantAdded) > 0 || len(tt.wantPSAdded) > 0) {
				t.Errorf("Changed() = %v", res.Changed())
			}
			if !res.Changed() && !reflect.DeepEqual(before, tt.pod) {
				t.Error("pod modified although Changed() is false")
			}

			// Idempotent: the second call changes nothing.
			once := tt.pod.DeepCopy()
			again := Mutate(tt.pod, tt.groups, tt.opts)
			if again.Changed() || !reflect.DeepEqual(once, tt.pod) {
				t.Errorf("second Mutate changed the pod: %s", again)
			}
			if len(again.GatesPresent) != len(tt.wantAdded)+len(tt.wantPresent) {
				t.Errorf("second Mutate reports %v present", again.GatesPresent)
			}
		})
	}
}

// gateTypes lists the pod's readiness gate condition types.
func gateTypes(p *corev1.Pod) []string {
	var out []string
	for _, g := range p.Spec.ReadinessGates {
		out = append(out, string(g.ConditionType))
	}
	return out
}

// checkSleeps checks that exactly the containers in want got a sleep preStop
// of that length, and that the others kept their lifecycle.
func checkSleeps(t *testing.T, before, after *corev1.Pod, want map[string]int64) {
	t.Helper()
	for i, c := range after.Spec.Containers {
		old := before.Spec.Containers[i]
		secs, ok := want[c.Name]
		if !ok {
			if !reflect.DeepEqual(old.Lifecycle, c.Lifecycle) {
				t.Errorf("container %s lifecycle changed", c.Name)
			}
			continue
		}
		if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
			t.Errorf("container %s has no sleep preStop", c.Name)
			continue
		}
		ps := c.Lifecycle.PreStop
		if ps.Sleep.Seconds != secs || ps.Exec != nil || ps.HTTPGet != nil || ps.TCPSocket != nil {
			t.Errorf("container %s preStop %+v, want only sleep %ds", c.Name, ps, secs)
		}
		if old.Lifecycle != nil && !reflect.DeepEqual(old.Lifecycle.PostStart, c.Lifecycle.PostStart) {
			t.Errorf("container %s postStart changed", c.Name)
		}
	}
}

func TestResultString(t *testing.T) {
	pod := newPod(testbuild.PreStopExec(0, "drain"))
	res := Mutate(pod, []Group{withDelay(webGroup, 40*time.Second)}, Options{})
	want := "matched [web], gates added [backend.lbgate.dev/web], preStop sleep 25s on proxy (capped from 40s), no preStop sleep on app (HookPresent)"
	if got := res.String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
	skipped := Mutate(newPod(testbuild.HostNetwork()), []Group{webGroup}, Options{})
	if got := skipped.String(); got != "skipped (HostNetwork), matched [web]" {
		t.Errorf("String() = %s", got)
	}
}
