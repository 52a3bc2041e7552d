package webhook

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/lbgate/lbgate/api/v1alpha1"
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

// withDelay is g whose Service sets lbgate.dev/prestop-delay to d (0: off).
func withDelay(g Group, d time.Duration) Group {
	g.PreStopDelay = &d
	return g
}

// The default preStop sleep on both containers of newPod.
var (
	defaultSleep = map[string]int64{"app": 5, "proxy": 5}
	defaultAdded = []PreStopAdded{{"app", 5, 5}, {"proxy", 5, 5}}
)

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
		wantSource    PreStopSource
	}{
		{name: "no groups", pod: newPod(), wantMatched: []string{}},
		{name: "one matching group", pod: newPod(), groups: []Group{webGroup},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep: defaultSleep, wantPSAdded: defaultAdded, wantSource: PreStopDefault},
		{name: "two matching groups, added in name order", pod: newPod(), groups: []Group{webGroup, apiGroup},
			wantGates: []string{gateAPI, gateWeb}, wantMatched: []string{"api", "web"}, wantAdded: []string{gateAPI, gateWeb},
			wantSleep: defaultSleep, wantPSAdded: defaultAdded, wantSource: PreStopDefault},
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
			wantGates: []string{"example.com/warm", "backend.lbgate.dev/old", gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep: defaultSleep, wantPSAdded: defaultAdded, wantSource: PreStopDefault},
		{name: "gate already present is not added twice", pod: newPod(testbuild.ReadinessGates(gateWeb)), groups: []Group{webGroup, apiGroup},
			wantGates: []string{gateWeb, gateAPI}, wantMatched: []string{"api", "web"}, wantAdded: []string{gateAPI}, wantPresent: []string{gateWeb},
			wantSleep: defaultSleep, wantPSAdded: defaultAdded, wantSource: PreStopDefault},
		{name: "same group listed twice", pod: newPod(), groups: []Group{webGroup, webGroup},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep: defaultSleep, wantPSAdded: defaultAdded, wantSource: PreStopDefault},
		{name: "hostNetwork pod", pod: newPod(testbuild.HostNetwork()), groups: []Group{withDelay(webGroup, 10*time.Second)},
			wantSkipped: SkipHostNetwork, wantMatched: []string{"web"}},
		{name: "hostNetwork pod gets no default preStop either", pod: newPod(testbuild.HostNetwork()), groups: []Group{webGroup},
			wantSkipped: SkipHostNetwork, wantMatched: []string{"web"}},
		{name: "mirror pod", pod: newPod(mirror), groups: []Group{webGroup},
			wantSkipped: SkipMirrorPod, wantMatched: []string{"web"}},
		{name: "operator's own pod", pod: newPod(testbuild.Labels(map[string]string{"app": "web", "app.kubernetes.io/name": "lbgate"})), groups: []Group{webGroup}, opts: operator,
			wantSkipped: SkipOperatorPod, wantMatched: []string{"web"}},
		{name: "operator label with another value", pod: newPod(testbuild.Labels(map[string]string{"app": "web", "app.kubernetes.io/name": "shop"})), groups: []Group{webGroup}, opts: operator,
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep: defaultSleep, wantPSAdded: defaultAdded, wantSource: PreStopDefault},
		{name: "no operator selector skips nobody", pod: newPod(testbuild.Labels(map[string]string{"app": "web", "app.kubernetes.io/name": "lbgate"})), groups: []Group{webGroup},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep: defaultSleep, wantPSAdded: defaultAdded, wantSource: PreStopDefault},

		// preStop sleeps a Service asks for.
		{name: "prestop on every container", pod: newPod(testbuild.InitContainers(testbuild.Container("init", "init:1"))), groups: []Group{withDelay(webGroup, 10*time.Second)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep:   map[string]int64{"app": 10, "proxy": 10},
			wantPSAdded: []PreStopAdded{{"app", 10, 10}, {"proxy", 10, 10}}, wantSource: PreStopFromService},
		{name: "container with its own preStop keeps it", pod: newPod(testbuild.PreStopExec(0, "drain")), groups: []Group{withDelay(webGroup, 10*time.Second)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep:     map[string]int64{"proxy": 10},
			wantPSAdded:   []PreStopAdded{{"proxy", 10, 10}},
			wantPSSkipped: []PreStopSkipped{{"app", PreStopHookPresent}}, wantSource: PreStopFromService},
		{name: "postStart kept beside the added preStop", pod: newPod(testbuild.PostStartExec(1, "warm")), groups: []Group{withDelay(webGroup, 3*time.Second)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep:   map[string]int64{"app": 3, "proxy": 3},
			wantPSAdded: []PreStopAdded{{"app", 3, 3}, {"proxy", 3, 3}}, wantSource: PreStopFromService},
		{name: "capped by the default grace period minus margin", pod: newPod(), groups: []Group{withDelay(webGroup, 40*time.Second)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep:   map[string]int64{"app": 25, "proxy": 25},
			wantPSAdded: []PreStopAdded{{"app", 25, 40}, {"proxy", 25, 40}}, wantSource: PreStopFromService},
		{name: "capped by a custom grace period and margin", pod: newPod(testbuild.TerminationGrace(60)), groups: []Group{withDelay(webGroup, 90*time.Second)},
			opts:      Options{PreStopMargin: 15 * time.Second},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep:   map[string]int64{"app": 45, "proxy": 45},
			wantPSAdded: []PreStopAdded{{"app", 45, 90}, {"proxy", 45, 90}}, wantSource: PreStopFromService},
		{name: "exactly at the cap", pod: newPod(testbuild.TerminationGrace(20)), groups: []Group{withDelay(webGroup, 15*time.Second)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep:   map[string]int64{"app": 15, "proxy": 15},
			wantPSAdded: []PreStopAdded{{"app", 15, 15}, {"proxy", 15, 15}}, wantSource: PreStopFromService},
		{name: "fractions round up", pod: newPod(), groups: []Group{withDelay(webGroup, 1500*time.Millisecond)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep:   map[string]int64{"app": 2, "proxy": 2},
			wantPSAdded: []PreStopAdded{{"app", 2, 2}, {"proxy", 2, 2}}, wantSource: PreStopFromService},
		{name: "grace period leaves no room", pod: newPod(testbuild.TerminationGrace(5)), groups: []Group{withDelay(webGroup, 10*time.Second)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantPSSkipped: []PreStopSkipped{{"app", PreStopGraceTooShort}, {"proxy", PreStopGraceTooShort}}, wantSource: PreStopFromService},
		{name: "grace period zero", pod: newPod(testbuild.TerminationGrace(0)), groups: []Group{withDelay(webGroup, 10*time.Second)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantPSSkipped: []PreStopSkipped{{"app", PreStopGraceTooShort}, {"proxy", PreStopGraceTooShort}}, wantSource: PreStopFromService},
		{name: "longest delay of the matching groups", pod: newPod(), groups: []Group{withDelay(webGroup, 5*time.Second), withDelay(apiGroup, 12*time.Second)},
			wantGates: []string{gateAPI, gateWeb}, wantMatched: []string{"api", "web"}, wantAdded: []string{gateAPI, gateWeb},
			wantSleep:   map[string]int64{"app": 12, "proxy": 12},
			wantPSAdded: []PreStopAdded{{"app", 12, 12}, {"proxy", 12, 12}}, wantSource: PreStopFromService},
		{name: "delay of a group that does not match is ignored", pod: newPod(),
			groups:    []Group{webGroup, withDelay(Group{Name: "other", Selector: map[string]string{"app": "other"}}, 10*time.Second)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep: defaultSleep, wantPSAdded: defaultAdded, wantSource: PreStopDefault},
		{name: "\"0\" of a group that does not match is ignored", pod: newPod(),
			groups:    []Group{webGroup, withDelay(Group{Name: "other", Selector: map[string]string{"app": "other"}}, 0)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep: defaultSleep, wantPSAdded: defaultAdded, wantSource: PreStopDefault},
		{name: "prestop for a pod whose gate is already there", pod: newPod(testbuild.ReadinessGates(gateWeb)), groups: []Group{withDelay(webGroup, 4*time.Second)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantPresent: []string{gateWeb},
			wantSleep:   map[string]int64{"app": 4, "proxy": 4},
			wantPSAdded: []PreStopAdded{{"app", 4, 4}, {"proxy", 4, 4}}, wantSource: PreStopFromService},
		{name: "mirror pod gets no prestop either", pod: newPod(mirror), groups: []Group{withDelay(webGroup, 4*time.Second)},
			wantSkipped: SkipMirrorPod, wantMatched: []string{"web"}},

		// Issue 10, item 7: the default preStop sleep, and "0" to turn it off.
		{name: "default keeps a container's own preStop", pod: newPod(testbuild.PreStopExec(0, "drain")), groups: []Group{webGroup},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep:     map[string]int64{"proxy": 5},
			wantPSAdded:   []PreStopAdded{{"proxy", 5, 5}},
			wantPSSkipped: []PreStopSkipped{{"app", PreStopHookPresent}}, wantSource: PreStopDefault},
		{name: "default capped by a short grace period", pod: newPod(testbuild.TerminationGrace(8)), groups: []Group{webGroup},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep:   map[string]int64{"app": 3, "proxy": 3},
			wantPSAdded: []PreStopAdded{{"app", 3, 5}, {"proxy", 3, 5}}, wantSource: PreStopDefault},
		{name: "default with a margin that leaves no room", pod: newPod(testbuild.TerminationGrace(10)), groups: []Group{webGroup},
			opts:      Options{PreStopMargin: 10 * time.Second},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantPSSkipped: []PreStopSkipped{{"app", PreStopGraceTooShort}, {"proxy", PreStopGraceTooShort}}, wantSource: PreStopDefault},
		{name: "\"0\" turns the sleep off", pod: newPod(), groups: []Group{withDelay(webGroup, 0)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb}, wantSource: PreStopOff},
		{name: "\"0\" on a pod whose gate is there: nothing to do", pod: newPod(testbuild.ReadinessGates(gateWeb)), groups: []Group{withDelay(webGroup, 0)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantPresent: []string{gateWeb}, wantSource: PreStopOff},
		{name: "\"0\" wins over a Service that sets nothing", pod: newPod(), groups: []Group{withDelay(webGroup, 0), apiGroup},
			wantGates: []string{gateAPI, gateWeb}, wantMatched: []string{"api", "web"}, wantAdded: []string{gateAPI, gateWeb}, wantSource: PreStopOff},
		{name: "a delay wins over \"0\"", pod: newPod(), groups: []Group{withDelay(webGroup, 0), withDelay(apiGroup, 12*time.Second)},
			wantGates: []string{gateAPI, gateWeb}, wantMatched: []string{"api", "web"}, wantAdded: []string{gateAPI, gateWeb},
			wantSleep:   map[string]int64{"app": 12, "proxy": 12},
			wantPSAdded: []PreStopAdded{{"app", 12, 12}, {"proxy", 12, 12}}, wantSource: PreStopFromService},
		{name: "a delay shorter than the default wins over it", pod: newPod(), groups: []Group{withDelay(webGroup, 2*time.Second), apiGroup},
			wantGates: []string{gateAPI, gateWeb}, wantMatched: []string{"api", "web"}, wantAdded: []string{gateAPI, gateWeb},
			wantSleep:   map[string]int64{"app": 2, "proxy": 2},
			wantPSAdded: []PreStopAdded{{"app", 2, 2}, {"proxy", 2, 2}}, wantSource: PreStopFromService},
		{name: "same group listed with \"0\" and without a value", pod: newPod(), groups: []Group{webGroup, withDelay(webGroup, 0)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb}, wantSource: PreStopOff},
		{name: "same group listed with \"0\" and a delay", pod: newPod(), groups: []Group{withDelay(webGroup, 7*time.Second), withDelay(webGroup, 0)},
			wantGates: []string{gateWeb}, wantMatched: []string{"web"}, wantAdded: []string{gateWeb},
			wantSleep:   map[string]int64{"app": 7, "proxy": 7},
			wantPSAdded: []PreStopAdded{{"app", 7, 7}, {"proxy", 7, 7}}, wantSource: PreStopFromService},
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
			if res.PreStopSource != tt.wantSource {
				t.Errorf("PreStopSource = %q, want %q", res.PreStopSource, tt.wantSource)
			}
			if !slices.Equal(res.PreStopAdded, tt.wantPSAdded) || !slices.Equal(res.PreStopSkipped, tt.wantPSSkipped) {
				t.Errorf("PreStopAdded %v PreStopSkipped %v, want %v and %v", res.PreStopAdded, res.PreStopSkipped, tt.wantPSAdded, tt.wantPSSkipped)
			}
			// slices.Equal takes nil and empty as equal: a pod left without gates
			// matches a case that wants none, however either is spelled.
			if got := gateTypes(tt.pod); !slices.Equal(got, tt.wantGates) {
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

// TestDecidePreStop is the rule for the preStop delay of a pod that
// several groups select (issue 10, item 7): a delay a Service sets wins,
// the longest; else "0" turns the sleep off; else the default applies.
func TestDecidePreStop(t *testing.T) {
	d := func(v time.Duration) *time.Duration { return &v }
	tests := []struct {
		name       string
		delays     []*time.Duration // one matching group each
		want       time.Duration
		wantSource PreStopSource
	}{
		{name: "no group", delays: nil, want: 0, wantSource: ""},
		{name: "one group that sets nothing", delays: []*time.Duration{nil}, want: v1alpha1.DefaultPreStopDelay, wantSource: PreStopDefault},
		{name: "several that set nothing", delays: []*time.Duration{nil, nil}, want: v1alpha1.DefaultPreStopDelay, wantSource: PreStopDefault},
		{name: "one that sets a delay", delays: []*time.Duration{d(12 * time.Second)}, want: 12 * time.Second, wantSource: PreStopFromService},
		{name: "a delay shorter than the default", delays: []*time.Duration{nil, d(2 * time.Second)}, want: 2 * time.Second, wantSource: PreStopFromService},
		{name: "the longest delay", delays: []*time.Duration{d(3 * time.Second), d(20 * time.Second), d(7 * time.Second)}, want: 20 * time.Second, wantSource: PreStopFromService},
		{name: "one that sets 0", delays: []*time.Duration{d(0)}, want: 0, wantSource: PreStopOff},
		{name: "0 and one that sets nothing", delays: []*time.Duration{d(0), nil}, want: 0, wantSource: PreStopOff},
		{name: "nothing and 0", delays: []*time.Duration{nil, d(0)}, want: 0, wantSource: PreStopOff},
		{name: "0 and a delay", delays: []*time.Duration{d(0), d(3 * time.Second)}, want: 3 * time.Second, wantSource: PreStopFromService},
		{name: "a delay and 0", delays: []*time.Duration{d(3 * time.Second), d(0), nil}, want: 3 * time.Second, wantSource: PreStopFromService},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var groups []Group
			for i, delay := range tt.delays {
				groups = append(groups, Group{Name: fmt.Sprintf("g%d", i), Selector: map[string]string{"app": "web"}, PreStopDelay: delay})
			}
			got, source := decidePreStop(groups)
			if got != tt.want || source != tt.wantSource {
				t.Errorf("decidePreStop = %s, %q; want %s, %q", got, source, tt.want, tt.wantSource)
			}
		})
	}
}

func TestResultString(t *testing.T) {
	tests := []struct {
		name   string
		pod    *corev1.Pod
		groups []Group
		want   string
	}{
		{name: "a Service's delay, capped, and a container's own hook", pod: newPod(testbuild.PreStopExec(0, "drain")), groups: []Group{withDelay(webGroup, 40*time.Second)},
			want: "matched [web], gates added [backend.lbgate.dev/web], preStop sleep 25s on proxy (capped from 40s), no preStop sleep on app (HookPresent)"},
		{name: "skipped pod", pod: newPod(testbuild.HostNetwork()), groups: []Group{webGroup},
			want: "skipped (HostNetwork), matched [web]"},
		{name: "the default", pod: newPod(testbuild.PreStopExec(0, "drain")), groups: []Group{webGroup},
			want: "matched [web], gates added [backend.lbgate.dev/web], preStop sleep 5s on proxy (default), no preStop sleep on app (HookPresent, default)"},
		{name: "the default, capped", pod: newPod(testbuild.TerminationGrace(7)), groups: []Group{webGroup},
			want: "matched [web], gates added [backend.lbgate.dev/web], preStop sleep 2s on app (default, capped from 5s), preStop sleep 2s on proxy (default, capped from 5s)"},
		{name: "off", pod: newPod(), groups: []Group{withDelay(webGroup, 0), apiGroup},
			want: `matched [api web], gates added [backend.lbgate.dev/api backend.lbgate.dev/web], preStop sleep off (prestop-delay "0")`},
		{name: "no group", pod: newPod(), want: "matched []"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Mutate(tt.pod, tt.groups, Options{}).String(); got != tt.want {
				t.Errorf("String() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
