package testbuild

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// TestPod checks the options that do more than set one field.
func TestPod(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	drain := &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"drain"}}}
	warm := &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"warm"}}}
	ready := func(s corev1.ConditionStatus) corev1.PodCondition {
		return corev1.PodCondition{Type: corev1.ContainersReady, Status: s}
	}
	tests := []struct {
		name string
		opts []PodOption
		want func(p *corev1.Pod) // edits a bare pod "a" into the expected one
	}{
		{"no options: only the name", nil, func(*corev1.Pod) {}},
		{"IPs: the first is the pod IP", []PodOption{IPs("10.0.0.1", "fd00::1")}, func(p *corev1.Pod) {
			p.Status.PodIP = "10.0.0.1"
			p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}
		}},
		{"IPs replace earlier IPs", []PodOption{IPs("10.0.0.1", "fd00::1"), IPs("10.0.0.2")}, func(p *corev1.Pod) {
			p.Status.PodIP = "10.0.0.2"
			p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.2"}}
		}},
		{"Condition adds a condition", []PodOption{Condition(corev1.ContainersReady, corev1.ConditionTrue)}, func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{ready(corev1.ConditionTrue)}
		}},
		{"Condition changes the status of one already there, in place",
			[]PodOption{Condition(corev1.ContainersReady, corev1.ConditionTrue), Condition("gate", corev1.ConditionTrue), Condition(corev1.ContainersReady, corev1.ConditionFalse)},
			func(p *corev1.Pod) {
				p.Status.Conditions = []corev1.PodCondition{ready(corev1.ConditionFalse), {Type: "gate", Status: corev1.ConditionTrue}}
			}},
		{"NoConditions", []PodOption{Condition(corev1.ContainersReady, corev1.ConditionTrue), NoConditions()}, func(*corev1.Pod) {}},
		{"Deleting with a grace period", []PodOption{Deleting(at, 30)}, func(p *corev1.Pod) {
			p.DeletionTimestamp = &metav1.Time{Time: at}
			p.DeletionGracePeriodSeconds = ptr.To[int64](30)
		}},
		{"Deleting with a negative grace period sets none", []PodOption{Deleting(at, -1)}, func(p *corev1.Pod) {
			p.DeletionTimestamp = &metav1.Time{Time: at}
		}},
		{"ReadinessGates add to those there", []PodOption{ReadinessGates("x"), ReadinessGates("y", "z")}, func(p *corev1.Pod) {
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "x"}, {ConditionType: "y"}, {ConditionType: "z"}}
		}},
		{"PreStopExec and PostStartExec on one container keep each other",
			[]PodOption{Containers(Container("app", "app:1"), Container("proxy", "")), PostStartExec(1, "warm"), PreStopExec(1, "drain")},
			func(p *corev1.Pod) {
				p.Spec.Containers = []corev1.Container{{Name: "app", Image: "app:1"}, {Name: "proxy", Lifecycle: &corev1.Lifecycle{PreStop: drain, PostStart: warm}}}
			}},
		{"Sidecar: an init container restarted always",
			[]PodOption{InitContainers(Container("setup", ""), Sidecar(Container("proxy", "", ContainerPort("http", 15001, corev1.ProtocolTCP))))},
			func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{
					{Name: "setup"},
					{Name: "proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways), Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 15001, Protocol: corev1.ProtocolTCP}}},
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a"}}
			tc.want(want)
			if got := Pod("a", tc.opts...); !reflect.DeepEqual(got, want) {
				t.Errorf("Pod:\n got  %+v\n want %+v", got, want)
			}
		})
	}
}

// TestOptionsShareNothing: one option value builds many objects; changing
// one of them changes neither the others nor what the caller passed in.
func TestOptionsShareNothing(t *testing.T) {
	labels := map[string]string{"app": "web"}
	opts := []PodOption{Labels(labels), Annotations(labels), Deleting(time.Now(), 30), TerminationGrace(30), Containers(Container("app", "")), PreStopExec(0, "drain")}
	a, b := Pod("a", opts...), Pod("b", opts...)
	a.Labels["app"], a.Annotations["app"] = "other", "other"
	*a.DeletionGracePeriodSeconds, *a.Spec.TerminationGracePeriodSeconds = 1, 1
	a.Spec.Containers[0].Name = "other"
	if b.Labels["app"] != "web" || b.Annotations["app"] != "web" || labels["app"] != "web" {
		t.Errorf("labels or annotations shared: %v %v %v", b.Labels, b.Annotations, labels)
	}
	if *b.DeletionGracePeriodSeconds != 30 || *b.Spec.TerminationGracePeriodSeconds != 30 {
		t.Errorf("grace periods shared: %d %d", *b.DeletionGracePeriodSeconds, *b.Spec.TerminationGracePeriodSeconds)
	}
	if b.Spec.Containers[0].Name != "app" {
		t.Errorf("containers shared: %v", b.Spec.Containers)
	}

	sel := map[string]string{"app": "web"}
	port := ServicePort("http", 80, intstr.FromString("http"), "")
	s1 := Service("web", Namespace("ns"), Selector(sel), Ports(port))
	s2 := Service("web", Namespace("ns"), Selector(sel), Ports(port))
	s1.Spec.Selector["app"], s1.Spec.Ports[0].Port = "other", 81
	if s2.Spec.Selector["app"] != "web" || sel["app"] != "web" || s2.Spec.Ports[0].Port != 80 {
		t.Errorf("selector or ports shared: %v %v %v", s2.Spec.Selector, sel, s2.Spec.Ports)
	}
	want := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
	}
	if !reflect.DeepEqual(s2, want) {
		t.Errorf("Service:\n got  %+v\n want %+v", s2, want)
	}
}
