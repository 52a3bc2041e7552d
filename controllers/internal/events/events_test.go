package events

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientevents "k8s.io/client-go/tools/events"
)

// drain returns the events the fake recorder holds.
func drain(f *clientevents.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-f.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestRecorderOneEventPerDistinctProblem(t *testing.T) {
	fake := clientevents.NewFakeRecorder(100)
	r := NewRecorder(fake)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "uid-1"}}
	other := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "api", UID: "uid-2"}}

	steps := []struct {
		name string
		do   func()
		want []string
	}{
		{"first report", func() { r.Warning(svc, InvalidAnnotation, "Bind", "bad %q", "x") }, []string{`Warning InvalidAnnotation bad "x"`}},
		{"same problem again is quiet", func() { r.Warning(svc, InvalidAnnotation, "Bind", "bad %q", "x") }, nil},
		{"another object is its own", func() { r.Warning(other, InvalidAnnotation, "Bind", "bad %q", "x") }, []string{`Warning InvalidAnnotation bad "x"`}},
		{"another reason is its own", func() { r.Normal(svc, GatesReleased, "Release", "released") }, []string{"Normal GatesReleased released"}},
		{"a new message for the same reason is reported", func() { r.Warning(svc, InvalidAnnotation, "Bind", "bad %q", "y") }, []string{`Warning InvalidAnnotation bad "y"`}},
		{"resolved, then back: reported again", func() {
			r.Resolved(svc, InvalidAnnotation)
			r.Warning(svc, InvalidAnnotation, "Bind", "bad %q", "y")
		}, []string{`Warning InvalidAnnotation bad "y"`}},
		{"forgotten object: everything reported again", func() {
			r.Forget(svc.UID)
			r.Warning(svc, InvalidAnnotation, "Bind", "bad %q", "y")
			r.Normal(svc, GatesReleased, "Release", "released")
			r.Warning(other, InvalidAnnotation, "Bind", "bad %q", "x") // not forgotten: quiet
		}, []string{`Warning InvalidAnnotation bad "y"`, "Normal GatesReleased released"}},
	}
	for _, s := range steps {
		s.do()
		got := drain(fake)
		if len(got) != len(s.want) {
			t.Fatalf("%s: events %q, want %q", s.name, got, s.want)
		}
		for i := range got {
			if got[i] != s.want[i] {
				t.Errorf("%s: event %q, want %q", s.name, got[i], s.want[i])
			}
		}
	}
}
