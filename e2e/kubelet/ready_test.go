package kubelet

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Builders for the readiness-rule tests (prefixed rt so they cannot collide
// with helpers of other test files in this package).

type rtOpt func(*corev1.Pod)

// rtPod is a Running pod with the given regular containers and no statuses.
func rtPod(containers []string, opts ...rtOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// rtSidecar adds an init container with restartPolicy Always.
func rtSidecar(name string) rtOpt {
	return func(p *corev1.Pod) {
		always := corev1.ContainerRestartPolicyAlways
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: name, RestartPolicy: &always})
	}
}

// rtInit adds a regular (run-to-completion) init container.
func rtInit(name string) rtOpt {
	return func(p *corev1.Pod) {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: name})
	}
}

// rtStatus adds a container status.
func rtStatus(name string, ready bool) rtOpt {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: name, Ready: ready})
	}
}

// rtInitStatus adds an init container status.
func rtInitStatus(name string, ready bool) rtOpt {
	return func(p *corev1.Pod) {
		p.Status.InitContainerStatuses = append(p.Status.InitContainerStatuses, corev1.ContainerStatus{Name: name, Ready: ready})
	}
}

func rtPhase(ph corev1.PodPhase) rtOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }

// rtGate adds a readiness gate to the spec.
func rtGate(t corev1.PodConditionType) rtOpt {
	return func(p *corev1.Pod) {
		p.Spec.ReadinessGates = append(p.Spec.ReadinessGates, corev1.PodReadinessGate{ConditionType: t})
	}
}

// rtCond sets a pod condition.
func rtCond(t corev1.PodConditionType, s corev1.ConditionStatus) rtOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: s})
	}
}

type rtWant struct {
	status  corev1.ConditionStatus
	reason  string
	message string
}

func rtCheck(t *testing.T, what string, s corev1.ConditionStatus, r, m string, want rtWant) {
	t.Helper()
	if s != want.status || r != want.reason || m != want.message {
		t.Errorf("%s:\n got  (%s, %q, %q)\n want (%s, %q, %q)", what, s, r, m, want.status, want.reason, want.message)
	}
}

func TestContainersReady(t *testing.T) {
	const (
		F = corev1.ConditionFalse
		T = corev1.ConditionTrue
	)
	tests := []struct {
		name string
		pod  *corev1.Pod
		want rtWant
		bug  string
	}{
		{
			name: "ContainersReady: no container statuses -> False UnknownContainerStatuses",
			pod:  rtPod([]string{"app"}),
			want: rtWant{F, ReasonUnknownContainerStatuses, ""},
		},
		{
			name: "ContainersReady: no container statuses -> False UnknownContainerStatuses (even when Succeeded)",
			pod:  rtPod([]string{"app"}, rtPhase(corev1.PodSucceeded)),
			want: rtWant{F, ReasonUnknownContainerStatuses, ""},
		},
		{
			name: "ContainersReady: no container statuses (init and regular together) -> a sidecar status alone makes the regular containers unknown",
			pod:  rtPod([]string{"app"}, rtSidecar("proxy"), rtInitStatus("proxy", true)),
			want: rtWant{F, ReasonContainersNotReady, "containers with unknown status: [app]"},
			bug:  "ready.go ContainersReady tests only pod.Status.ContainerStatuses for \"no container statuses\"; the kubelet tests init+regular statuses together",
		},
		{
			name: "ContainersReady: missing status -> \"unknown\" list: containers with unknown status: [a b]",
			pod:  rtPod([]string{"a", "b", "c"}, rtStatus("c", true)),
			want: rtWant{F, ReasonContainersNotReady, "containers with unknown status: [a b]"},
		},
		{
			name: "ContainersReady: Ready=false -> \"unready\" list: containers with unready status: [b c]",
			pod:  rtPod([]string{"a", "b", "c"}, rtStatus("a", true), rtStatus("b", false), rtStatus("c", false)),
			want: rtWant{F, ReasonContainersNotReady, "containers with unready status: [b c]"},
		},
		{
			name: "ContainersReady: both lists joined by \", \": containers with unknown status: [a b], containers with unready status: [c]",
			pod:  rtPod([]string{"a", "b", "c"}, rtStatus("c", false)),
			want: rtWant{F, ReasonContainersNotReady, "containers with unknown status: [a b], containers with unready status: [c]"},
		},
		{
			name: "ContainersReady: containers walked in spec order (not status order)",
			pod:  rtPod([]string{"z", "m", "a"}, rtStatus("a", false), rtStatus("m", false), rtStatus("z", false)),
			want: rtWant{F, ReasonContainersNotReady, "containers with unready status: [z m a]"},
		},
		{
			name: "ContainersReady: sidecar init containers first",
			pod: rtPod([]string{"app"}, rtSidecar("proxy"),
				rtInitStatus("proxy", false), rtStatus("app", false)),
			want: rtWant{F, ReasonContainersNotReady, "containers with unready status: [proxy app]"},
		},
		{
			name: "ContainersReady: sidecar init containers first, missing sidecar status -> unknown",
			pod:  rtPod([]string{"app"}, rtSidecar("proxy"), rtStatus("app", false)),
			want: rtWant{F, ReasonContainersNotReady, "containers with unknown status: [proxy], containers with unready status: [app]"},
		},
		{
			name: "ContainersReady: sidecar init containers first, several sidecars in spec order",
			pod: rtPod([]string{"app"}, rtSidecar("s2"), rtInit("setup"), rtSidecar("s1"),
				rtInitStatus("setup", false), rtStatus("app", true)),
			want: rtWant{F, ReasonContainersNotReady, "containers with unknown status: [s2 s1]"},
		},
		{
			name: "ContainersReady: regular (non-restartable) init containers are not counted",
			pod: rtPod([]string{"app"}, rtInit("setup"),
				rtInitStatus("setup", false), rtStatus("app", true)),
			want: rtWant{T, "", ""},
		},
		{
			name: "ContainersReady: ready sidecar and ready containers -> True",
			pod: rtPod([]string{"app"}, rtSidecar("proxy"),
				rtInitStatus("proxy", true), rtStatus("app", true)),
			want: rtWant{T, "", ""},
		},
		{
			name: "ContainersReady: Succeeded and none unknown -> False PodCompleted",
			pod:  rtPod([]string{"a", "b"}, rtPhase(corev1.PodSucceeded), rtStatus("a", false), rtStatus("b", false)),
			want: rtWant{F, ReasonPodCompleted, ""},
		},
		{
			name: "ContainersReady: Succeeded and none unknown -> False PodCompleted (even if a status says ready)",
			pod:  rtPod([]string{"a"}, rtPhase(corev1.PodSucceeded), rtStatus("a", true)),
			want: rtWant{F, ReasonPodCompleted, ""},
		},
		{
			name: "ContainersReady: Succeeded with an unknown container -> ContainersNotReady, not PodCompleted",
			pod:  rtPod([]string{"a", "b"}, rtPhase(corev1.PodSucceeded), rtStatus("b", false)),
			want: rtWant{F, ReasonContainersNotReady, "containers with unknown status: [a], containers with unready status: [b]"},
		},
		{
			name: "ContainersReady: Failed -> False PodFailed",
			pod:  rtPod([]string{"a", "b"}, rtPhase(corev1.PodFailed), rtStatus("a", false), rtStatus("b", true)),
			want: rtWant{F, ReasonPodFailed, ""},
		},
		{
			name: "ContainersReady: Failed -> False PodFailed (even with unknown containers)",
			pod:  rtPod([]string{"a", "b"}, rtPhase(corev1.PodFailed), rtStatus("b", false)),
			want: rtWant{F, ReasonPodFailed, ""},
			bug:  "ready.go ContainersReady returns PodFailed only when no container is unknown; the kubelet returns PodFailed for every Failed pod",
		},
		{
			name: "ContainersReady: Else True (all ready)",
			pod:  rtPod([]string{"a", "b"}, rtStatus("b", true), rtStatus("a", true)),
			want: rtWant{T, "", ""},
		},
		{
			name: "ContainersReady: computed from statuses, a stale ContainersReady condition is ignored",
			pod:  rtPod([]string{"a"}, rtStatus("a", false), rtCond(corev1.ContainersReady, T)),
			want: rtWant{F, ReasonContainersNotReady, "containers with unready status: [a]"},
		},
		{
			name: "ContainersReady: status of a container not in the spec is ignored",
			pod:  rtPod([]string{"a"}, rtStatus("a", true), rtStatus("gone", false)),
			want: rtWant{T, "", ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bug != "" {
				_ = tc.bug
			}
			s, r, m := ContainersReady(tc.pod)
			rtCheck(t, "ContainersReady", s, r, m, tc.want)
		})
	}
}

func TestReady(t *testing.T) {
	const (
		F = corev1.ConditionFalse
		T = corev1.ConditionTrue
		U = corev1.ConditionUnknown
	)
	const g1, g2, g3 = corev1.PodConditionType("backend.lbgate.dev/a"), corev1.PodConditionType("backend.lbgate.dev/b"), corev1.PodConditionType("example.com/c")
	ready := rtStatus("app", true)
	tests := []struct {
		name string
		pod  *corev1.Pod
		want rtWant
	}{
		{
			name: "Ready: if ContainersReady is not True, Ready copies its status, reason and message (gates are not looked at)",
			pod:  rtPod([]string{"app", "log"}, rtStatus("app", false), rtGate(g1)),
			want: rtWant{F, ReasonContainersNotReady, "containers with unknown status: [log], containers with unready status: [app]"},
		},
		{
			name: "Ready: if ContainersReady is not True, Ready copies it: UnknownContainerStatuses",
			pod:  rtPod([]string{"app"}, rtGate(g1), rtCond(g1, T)),
			want: rtWant{F, ReasonUnknownContainerStatuses, ""},
		},
		{
			name: "Ready: if ContainersReady is not True, Ready copies it: PodCompleted",
			pod:  rtPod([]string{"app"}, rtPhase(corev1.PodSucceeded), rtStatus("app", false), rtGate(g1), rtCond(g1, T)),
			want: rtWant{F, ReasonPodCompleted, ""},
		},
		{
			name: "Ready: if ContainersReady is not True, Ready copies it: PodFailed",
			pod:  rtPod([]string{"app"}, rtPhase(corev1.PodFailed), rtStatus("app", false), rtGate(g1)),
			want: rtWant{F, ReasonPodFailed, ""},
		},
		{
			name: "Ready: gate condition missing -> corresponding condition of pod readiness gate \"X\" does not exist.",
			pod:  rtPod([]string{"app"}, ready, rtGate(g1)),
			want: rtWant{F, ReasonReadinessGatesNotReady, `corresponding condition of pod readiness gate "backend.lbgate.dev/a" does not exist.`},
		},
		{
			name: "Ready: gate condition not True -> the status of pod readiness gate \"X\" is not \"True\", but False",
			pod:  rtPod([]string{"app"}, ready, rtGate(g1), rtCond(g1, F)),
			want: rtWant{F, ReasonReadinessGatesNotReady, `the status of pod readiness gate "backend.lbgate.dev/a" is not "True", but False`},
		},
		{
			name: "Ready: gate condition not True -> ... but Unknown",
			pod:  rtPod([]string{"app"}, ready, rtGate(g1), rtCond(g1, U)),
			want: rtWant{F, ReasonReadinessGatesNotReady, `the status of pod readiness gate "backend.lbgate.dev/a" is not "True", but Unknown`},
		},
		{
			name: "Ready: each readinessGate in spec order, messages joined by \", \"",
			pod: rtPod([]string{"app"}, ready,
				rtGate(g3), rtGate(g1), rtGate(g2),
				rtCond(g2, U), rtCond(g1, T), // g3 missing, g1 True, g2 Unknown
			),
			want: rtWant{F, ReasonReadinessGatesNotReady,
				`corresponding condition of pod readiness gate "example.com/c" does not exist., ` +
					`the status of pod readiness gate "backend.lbgate.dev/b" is not "True", but Unknown`},
		},
		{
			name: "Ready: Else True (every gate condition True)",
			pod:  rtPod([]string{"app"}, ready, rtGate(g1), rtGate(g2), rtCond(g2, T), rtCond(g1, T)),
			want: rtWant{T, "", ""},
		},
		{
			name: "Ready: Else True (no readiness gates, containers ready)",
			pod:  rtPod([]string{"app"}, ready),
			want: rtWant{T, "", ""},
		},
		{
			name: "Ready: a condition without a readiness gate is not looked at",
			pod:  rtPod([]string{"app"}, ready, rtCond(g1, F)),
			want: rtWant{T, "", ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, r, m := Ready(tc.pod)
			rtCheck(t, "Ready", s, r, m, tc.want)
		})
	}
}
