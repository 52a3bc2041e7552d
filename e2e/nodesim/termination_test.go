package nodesim

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestGracePeriod checks "grace = delete option, else
// spec.terminationGracePeriodSeconds (30)".
func TestGracePeriod(t *testing.T) {
	cases := []struct {
		rule          string
		deleteGrace   *int64
		specGrace     *int64
		wantGraceSecs int64
	}{
		{"the delete's grace period wins", new(int64(5)), new(int64(30)), 5},
		{"a delete with grace 0 (force) wins", new(int64(0)), new(int64(30)), 0},
		{"else spec.terminationGracePeriodSeconds", nil, new(int64(12)), 12},
		{"else the API default 30", nil, nil, 30},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			pod := &corev1.Pod{}
			pod.DeletionGracePeriodSeconds = tc.deleteGrace
			pod.Spec.TerminationGracePeriodSeconds = tc.specGrace
			if got := gracePeriodSeconds(pod); got != tc.wantGraceSecs {
				t.Fatalf("got %d, want %d", got, tc.wantGraceSecs)
			}
		})
	}
}

// TestPreStopAndStopWindow checks the kubelet's killContainer timing:
// "preStop runs first with the whole grace as its timeout; its time is
// subtracted; then SIGTERM; SIGKILL when the rest runs out (at least 2 s)".
func TestPreStopAndStopWindow(t *testing.T) {
	sleep := func(s int64) *corev1.Container {
		return &corev1.Container{Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: s}}}}
	}
	cases := []struct {
		rule        string
		c           *corev1.Container
		grace       int64
		preStopTook time.Duration
		wantRuns    bool
		wantWindow  time.Duration
	}{
		{"no preStop: SIGTERM gets the whole grace", &corev1.Container{}, 30, 0, false, 30 * time.Second},
		{"preStop runs when the grace is above 0", sleep(5), 30, 5 * time.Second, true, 25 * time.Second},
		{"preStop is skipped with grace 0; the window is the 2 s minimum", sleep(5), 0, 0, false, 2 * time.Second},
		{"the preStop time is subtracted in whole seconds (5.9s counts 5)", sleep(6), 30, 5900 * time.Millisecond, true, 25 * time.Second},
		{"a preStop that used the whole grace leaves the 2 s minimum", sleep(60), 10, 10 * time.Second, true, 2 * time.Second},
		{"a rest below 2 s is raised to 2 s", sleep(9), 10, 9 * time.Second, true, 2 * time.Second},
		{"a short grace without preStop is raised to 2 s", &corev1.Container{}, 1, 0, false, 2 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			if got := runsPreStop(tc.c, tc.grace); got != tc.wantRuns {
				t.Fatalf("runsPreStop = %v, want %v", got, tc.wantRuns)
			}
			if got := stopWindow(tc.grace, tc.preStopTook); got != tc.wantWindow {
				t.Fatalf("stopWindow = %v, want %v", got, tc.wantWindow)
			}
		})
	}
	if got := preStopTimeout(17); got != 17*time.Second {
		t.Fatalf("preStop timeout is the whole grace: got %v", got)
	}
	if d, ok := preStopSleep(sleep(7)); !ok || d != 7*time.Second {
		t.Fatalf("preStopSleep = %v, %v", d, ok)
	}
	if _, ok := preStopSleep(&corev1.Container{}); ok {
		t.Fatal("no hook: no sleep")
	}
}

// TestTerminalPhase checks "phase Succeeded if all exited 0 else Failed".
func TestTerminalPhase(t *testing.T) {
	cases := []struct {
		rule  string
		exits []int32
		want  corev1.PodPhase
	}{
		{"all containers exited 0: Succeeded", []int32{0, 0}, corev1.PodSucceeded},
		{"one container killed (137): Failed", []int32{0, exitCodeKilled}, corev1.PodFailed},
		{"one container exited 1: Failed", []int32{1}, corev1.PodFailed},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			if got := terminalPhase(tc.exits); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}
