package webhookcfg

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	podwebhook "github.com/lbgate/lbgate/webhook"
)

// TestObserveAdmissionPreStop: the admission log says where a pod's preStop
// delay came from, and lbgate_webhook_prestop_total counts pods by it; dry
// runs and pods admitted unchanged after an error are not counted (issue 10,
// item 7).
func TestObserveAdmissionPreStop(t *testing.T) {
	web := podwebhook.Group{Name: "web", Selector: map[string]string{"app": "web"}}
	zero := time.Duration(0)
	off := web
	off.PreStopDelay = &zero
	pod := func() *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1", Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}},
		}
	}
	outcome := func(groups []podwebhook.Group) podwebhook.Outcome {
		return podwebhook.Outcome{Namespace: "shop", Name: "web-1", Result: podwebhook.Mutate(pod(), groups, podwebhook.Options{})}
	}
	tests := []struct {
		name    string
		out     podwebhook.Outcome
		wantLog []string // substrings of the one log line
		notLog  []string // and what it must not hold
		counted string   // the source label counted, "" for none
	}{
		{name: "default", out: outcome([]podwebhook.Group{web}),
			wantLog: []string{`"preStop"="Default"`, `preStop sleep 5s on app (default)`}, counted: "default"},
		{name: "off", out: outcome([]podwebhook.Group{off}),
			wantLog: []string{`"preStop"="Off"`, `preStop sleep off (prestop-delay \"0\")`}, counted: "off"},
		{name: "no group", out: outcome(nil), wantLog: []string{`"result"="matched []"`}, notLog: []string{`"preStop"`}},
		{name: "dry run", out: func() podwebhook.Outcome { o := outcome([]podwebhook.Group{web}); o.DryRun = true; return o }(),
			wantLog: []string{`"preStop"="Default"`, `"dryRun"=true`}},
		{name: "error", out: func() podwebhook.Outcome { o := outcome([]podwebhook.Group{web}); o.Err = errors.New("boom"); return o }(),
			wantLog: []string{`"preStop"="Default"`, `"error"="boom"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lines []string
			log := funcr.New(func(_, args string) { lines = append(lines, args) }, funcr.Options{Verbosity: 1})
			before := map[string]float64{}
			for _, s := range []string{"service", "default", "off"} {
				before[s] = testutil.ToFloat64(preStops.WithLabelValues(s))
			}

			observeAdmission(log)(context.Background(), tt.out)

			if len(lines) != 1 {
				t.Fatalf("logged %d lines, want 1: %q", len(lines), lines)
			}
			for _, want := range tt.wantLog {
				if !strings.Contains(lines[0], want) {
					t.Errorf("log line %s\nlacks %s", lines[0], want)
				}
			}
			for _, not := range tt.notLog {
				if strings.Contains(lines[0], not) {
					t.Errorf("log line %s\nholds %s", lines[0], not)
				}
			}
			for s, b := range before {
				want := 0.0
				if s == tt.counted {
					want = 1
				}
				if got := testutil.ToFloat64(preStops.WithLabelValues(s)) - b; got != want {
					t.Errorf("lbgate_webhook_prestop_total{source=%q} grew by %v, want %v", s, got, want)
				}
			}
		})
	}
}
