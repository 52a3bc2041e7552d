package nodesim

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestProbeDefaults checks the kubelet rule "Defaults: timeoutSeconds 1,
// periodSeconds 10, successThreshold 1, failureThreshold 3,
// initialDelaySeconds 0".
func TestProbeDefaults(t *testing.T) {
	got := settingsFor(&corev1.Probe{})
	want := probeSettings{Timeout: time.Second, Period: 10 * time.Second, InitialDelay: 0, SuccessThreshold: 1, FailureThreshold: 3}
	if got != want {
		t.Fatalf("defaults: got %+v, want %+v", got, want)
	}
	set := settingsFor(&corev1.Probe{TimeoutSeconds: 2, PeriodSeconds: 1, InitialDelaySeconds: 5, SuccessThreshold: 2, FailureThreshold: 4})
	want = probeSettings{Timeout: 2 * time.Second, Period: time.Second, InitialDelay: 5 * time.Second, SuccessThreshold: 2, FailureThreshold: 4}
	if set != want {
		t.Fatalf("explicit: got %+v, want %+v", set, want)
	}
}

// TestReadinessStateMachine checks the prober worker's rules, one case per
// rule: results are S (success) and F (failure); after each result the
// container's readiness must be the matching letter of want (R ready, U unready).
func TestReadinessStateMachine(t *testing.T) {
	cases := []struct {
		rule             string
		success, failure int
		results          string
		want             string
	}{
		{"a container starts not ready (initial result Failure)", 1, 3, "", ""},
		{"ready after successThreshold=1 success", 1, 3, "S", "R"},
		{"ready after successThreshold=3 successes in a row", 3, 3, "SSS", "UUR"},
		{"a failure restarts the success run", 3, 3, "SSFSSS", "UUUUUR"},
		{"failures below failureThreshold leave a ready container ready", 1, 3, "SFF", "RRR"},
		{"unready after failureThreshold=3 failures in a row", 1, 3, "SFFF", "RRRU"},
		{"a success restarts the failure run", 1, 3, "SFFSFFF", "RRRRRRU"},
		{"failureThreshold=1 turns unready at the first failure", 1, 1, "SF", "RU"},
		{"failures keep a never-ready container unready", 1, 3, "FFFFF", "UUUUU"},
		{"ready again after successThreshold successes following unready", 2, 2, "SSFFSS", "URRUUR"},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			r := newReadiness(probeSettings{SuccessThreshold: tc.success, FailureThreshold: tc.failure})
			if r.Ready() {
				t.Fatal("ready before any probe")
			}
			var got strings.Builder
			for _, ch := range tc.results {
				res := probeFailure
				if ch == 'S' {
					res = probeSuccess
				}
				before := r.Ready()
				changed := r.observe(res)
				if changed != (before != r.Ready()) {
					t.Fatalf("observe reported changed=%v but readiness went %v -> %v", changed, before, r.Ready())
				}
				if r.Ready() {
					got.WriteByte('R')
				} else {
					got.WriteByte('U')
				}
			}
			if got.String() != tc.want {
				t.Fatalf("results %s: readiness %s, want %s", tc.results, got.String(), tc.want)
			}
		})
	}
}

// TestContainerReadyRule checks "No readiness probe: ready as soon as it
// runs" and that a container that does not run is never ready.
func TestContainerReadyRule(t *testing.T) {
	ready := newReadiness(probeSettings{SuccessThreshold: 1, FailureThreshold: 1})
	ready.observe(probeSuccess)
	cases := []struct {
		rule    string
		running bool
		probe   *readiness
		want    bool
	}{
		{"no readiness probe: ready as soon as it runs", true, nil, true},
		{"a stopped container is not ready, probe or not", false, nil, false},
		{"a stopped container is not ready even after a passing probe", false, ready, false},
		{"with a probe: not ready until the probe passes", true, newReadiness(probeSettings{SuccessThreshold: 1, FailureThreshold: 3}), false},
		{"with a probe: ready once the probe passed", true, ready, true},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			if got := containerReady(tc.running, tc.probe); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestProbeInitialDelay checks "Probe disabled for InitialDelaySeconds",
// compared in whole seconds as the kubelet does.
func TestProbeInitialDelay(t *testing.T) {
	start := time.Unix(1000, 0)
	s := probeSettings{InitialDelay: 3 * time.Second}
	cases := []struct {
		rule  string
		after time.Duration
		want  bool
	}{
		{"no probe right after the start", 0, false},
		{"no probe at 2.9s: int32(seconds) is 2 < 3", 2900 * time.Millisecond, false},
		{"probes from 3s on", 3 * time.Second, true},
		{"and later", time.Minute, true},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			if got := probeDue(start, start.Add(tc.after), s); got != tc.want {
				t.Fatalf("probeDue after %v = %v, want %v", tc.after, got, tc.want)
			}
		})
	}
	if !probeDue(start, start, probeSettings{}) {
		t.Fatal("initialDelaySeconds 0: the first probe runs at once")
	}
}
