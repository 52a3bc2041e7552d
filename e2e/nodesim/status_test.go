package nodesim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const testGate corev1.PodConditionType = "backend.lbgate.dev/web"

// statusPod is a pod with two containers and a readiness gate, as the server has it.
func statusPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns", UID: "uid-1", Generation: 3},
		Spec: corev1.PodSpec{
			Containers:     []corev1.Container{{Name: "app", Image: "app:v1"}, {Name: "side", Image: "side:v1"}},
			ReadinessGates: []corev1.PodReadinessGate{{ConditionType: testGate}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodPending, QOSClass: corev1.PodQOSBestEffort},
	}
}

func runningView(ready ...bool) podView {
	at := metav1.NewTime(time.Unix(1000, 0))
	v := podView{Phase: corev1.PodRunning, HostIP: "127.0.0.1", PodIP: "127.100.0.2", StartTime: at}
	for i, name := range []string{"app", "side"} {
		v.Containers = append(v.Containers, corev1.ContainerStatus{
			Name: name, Ready: ready[i], Started: new(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: at}},
		})
	}
	return v
}

func cond(st corev1.PodStatus, t corev1.PodConditionType) corev1.PodCondition {
	if c := findCondition(st.Conditions, t); c != nil {
		return *c
	}
	return corev1.PodCondition{}
}

// TestBuildStatus checks the kubelet's Ready rules through buildStatus, one
// case per rule of KUBELET-RULES "Pod Ready".
func TestBuildStatus(t *testing.T) {
	now := metav1.NewTime(time.Unix(2000, 0))
	gate := func(s corev1.ConditionStatus) []corev1.PodCondition {
		return []corev1.PodCondition{{Type: testGate, Status: s, Reason: "HealthCheckPending", LastTransitionTime: metav1.NewTime(time.Unix(5, 0))}}
	}
	cases := []struct {
		rule                   string
		gates                  []corev1.PodCondition
		view                   podView
		wantContainers, wantRd corev1.ConditionStatus
		wantReason, wantMsg    string
	}{
		{
			rule: "ContainersReady False with the unready containers; Ready copies it and ignores gates",
			view: runningView(false, true), gates: gate(corev1.ConditionTrue),
			wantContainers: corev1.ConditionFalse, wantRd: corev1.ConditionFalse,
			wantReason: "ContainersNotReady", wantMsg: "containers with unready status: [app]",
		},
		{
			rule:           "gate condition missing: Ready False ReadinessGatesNotReady, does not exist",
			view:           runningView(true, true),
			wantContainers: corev1.ConditionTrue, wantRd: corev1.ConditionFalse,
			wantReason: "ReadinessGatesNotReady", wantMsg: `corresponding condition of pod readiness gate "backend.lbgate.dev/web" does not exist.`,
		},
		{
			rule: "gate condition False: Ready False, is not True but False",
			view: runningView(true, true), gates: gate(corev1.ConditionFalse),
			wantContainers: corev1.ConditionTrue, wantRd: corev1.ConditionFalse,
			wantReason: "ReadinessGatesNotReady", wantMsg: `the status of pod readiness gate "backend.lbgate.dev/web" is not "True", but False`,
		},
		{
			rule: "containers ready and every gate True: Ready True",
			view: runningView(true, true), gates: gate(corev1.ConditionTrue),
			wantContainers: corev1.ConditionTrue, wantRd: corev1.ConditionTrue,
		},
		{
			rule: "Succeeded: ContainersReady and Ready False PodCompleted",
			view: func() podView {
				v := runningView(false, false)
				v.Phase = corev1.PodSucceeded
				return v
			}(),
			gates:          gate(corev1.ConditionTrue),
			wantContainers: corev1.ConditionFalse, wantRd: corev1.ConditionFalse, wantReason: "PodCompleted",
		},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			pod := statusPod()
			pod.Status.Conditions = tc.gates
			st := buildStatus(pod, tc.view, now)
			cr, rd := cond(st, corev1.ContainersReady), cond(st, corev1.PodReady)
			if cr.Status != tc.wantContainers || rd.Status != tc.wantRd || rd.Reason != tc.wantReason || rd.Message != tc.wantMsg {
				t.Fatalf("ContainersReady=%s Ready=%s %q %q; want %s %s %q %q", cr.Status, rd.Status, rd.Reason, rd.Message,
					tc.wantContainers, tc.wantRd, tc.wantReason, tc.wantMsg)
			}
			for _, c := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.PodReadyToStartContainers} {
				if got := cond(st, c); got.Type == "" || got.ObservedGeneration != 3 {
					t.Fatalf("condition %s missing or without observedGeneration: %+v", c, got)
				}
			}
		})
	}
}

// TestBuildStatusKeepsForeignFields checks "It keeps every condition it
// does not own exactly as the server has it (gate conditions pass through
// untouched)" and that fields the kubelet does not write stay.
func TestBuildStatusKeepsForeignFields(t *testing.T) {
	pod := statusPod()
	gate := corev1.PodCondition{Type: testGate, Status: corev1.ConditionFalse, Reason: "Registering", Message: "m",
		LastTransitionTime: metav1.NewTime(time.Unix(7, 0)), LastProbeTime: metav1.NewTime(time.Unix(8, 0)), ObservedGeneration: 1}
	disruption := corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI"}
	pod.Status.Conditions = []corev1.PodCondition{gate, disruption}
	st := buildStatus(pod, runningView(true, true), metav1.NewTime(time.Unix(2000, 0)))
	if got := cond(st, testGate); !got.LastTransitionTime.Equal(&gate.LastTransitionTime) || got.Reason != gate.Reason ||
		got.Message != gate.Message || got.ObservedGeneration != 1 || !got.LastProbeTime.Equal(&gate.LastProbeTime) {
		t.Fatalf("gate condition changed: %+v", got)
	}
	if got := cond(st, corev1.DisruptionTarget); got.Reason != disruption.Reason {
		t.Fatalf("DisruptionTarget changed: %+v", got)
	}
	if st.QOSClass != corev1.PodQOSBestEffort {
		t.Fatalf("qosClass lost: %q", st.QOSClass)
	}
	if st.PodIP != "127.100.0.2" || len(st.PodIPs) != 1 || st.HostIP != "127.0.0.1" || st.ObservedGeneration != 3 {
		t.Fatalf("addresses: %+v", st)
	}
}

// TestLastTransitionTime checks "lastTransitionTime of its own conditions
// changes only when Status changes".
func TestLastTransitionTime(t *testing.T) {
	pod := statusPod()
	pod.Status.Conditions = []corev1.PodCondition{{Type: testGate, Status: corev1.ConditionTrue}}
	t1 := metav1.NewTime(time.Unix(1000, 0))
	first := buildStatus(pod, runningView(false, true), t1)
	pod.Status = first

	t2 := metav1.NewTime(time.Unix(2000, 0))
	// Same statuses, new message (another container unready): time stays.
	second := buildStatus(pod, runningView(false, false), t2)
	if got := cond(second, corev1.PodReady); !got.LastTransitionTime.Equal(&t1) {
		t.Fatalf("Ready stayed False but lastTransitionTime moved to %v", got.LastTransitionTime)
	}
	if got := cond(second, corev1.PodReady); got.Message != "containers with unready status: [app side]" {
		t.Fatalf("message not updated: %q", got.Message)
	}
	pod.Status = second

	t3 := metav1.NewTime(time.Unix(3000, 0))
	third := buildStatus(pod, runningView(true, true), t3)
	for _, c := range []corev1.PodConditionType{corev1.PodReady, corev1.ContainersReady} {
		if got := cond(third, c); got.Status != corev1.ConditionTrue || !got.LastTransitionTime.Equal(&t3) {
			t.Fatalf("%s turned True but lastTransitionTime is %v", c, got.LastTransitionTime)
		}
	}
	if got := cond(third, corev1.PodScheduled); !got.LastTransitionTime.Equal(&t1) {
		t.Fatalf("PodScheduled never changed but lastTransitionTime moved: %v", got.LastTransitionTime)
	}
}

// TestStatusPatch checks "writes with a two-way strategic merge patch
// carrying the pod UID": the patch names the UID, never mentions a
// condition it does not change (so a gate written meanwhile survives), and
// an unchanged status is not sent.
func TestStatusPatch(t *testing.T) {
	pod := statusPod()
	pod.Status.Conditions = []corev1.PodCondition{{Type: testGate, Status: corev1.ConditionFalse}}
	st := buildStatus(pod, runningView(true, true), metav1.NewTime(time.Unix(1000, 0)))
	patch, unchanged, err := statusPatch(pod.UID, pod.Status, st)
	if err != nil || unchanged {
		t.Fatalf("patch: %v unchanged=%v", err, unchanged)
	}
	var doc struct {
		Metadata struct{ UID string } `json:"metadata"`
		Status   struct {
			Conditions []map[string]any `json:"conditions"`
		} `json:"status"`
	}
	if err := json.Unmarshal(patch, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Metadata.UID != "uid-1" {
		t.Fatalf("patch does not carry the UID: %s", patch)
	}
	for _, c := range doc.Status.Conditions {
		if c["type"] == string(testGate) {
			t.Fatalf("patch touches the gate condition: %s", patch)
		}
	}
	if !strings.Contains(string(patch), `"$setElementOrder/conditions"`) {
		t.Fatalf("expected a strategic merge patch of conditions by type: %s", patch)
	}
	// Written: the same status again is no change.
	pod.Status = st
	if _, unchanged, _ := statusPatch(pod.UID, pod.Status, buildStatus(pod, runningView(true, true), metav1.NewTime(time.Unix(9000, 0)))); !unchanged {
		t.Fatal("rebuilding the written status must be unchanged")
	}
}
