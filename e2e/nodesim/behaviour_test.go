package nodesim

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestSplitImageTag(t *testing.T) {
	cases := []struct {
		image, version string
		items          int
	}{
		{"app", "", 0},
		{"app:v1", "v1", 0},
		{"registry:5000/team/app", "", 0},
		{"registry:5000/team/app:v2--healthz-500--startup-2s", "v2", 2},
		{"app:v3@sha256:abc", "v3", 0},
	}
	for _, tc := range cases {
		v, items := splitImageTag(tc.image)
		if v != tc.version || len(items) != tc.items {
			t.Errorf("%s: got %q %v, want %q and %d items", tc.image, v, items, tc.version, tc.items)
		}
	}
}

func TestParseBehaviour(t *testing.T) {
	env := func(kv ...string) []corev1.EnvVar {
		var out []corev1.EnvVar
		for i := 0; i < len(kv); i += 2 {
			out = append(out, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	cases := []struct {
		name    string
		c       corev1.Container
		check   func(behaviour) bool
		wantErr bool
	}{
		{"defaults: version latest, healthy, no delays", corev1.Container{Image: "app"},
			func(b behaviour) bool { return b == defaultBehaviour() }, false},
		{"version from the image tag", corev1.Container{Image: "app:v7"},
			func(b behaviour) bool { return b.Version == "v7" }, false},
		{"knobs from image tag items", corev1.Container{Image: "app:v2--healthz-500--startup-1500ms--warmup-3s--warmupmode-fail"},
			func(b behaviour) bool {
				return b.Version == "v2" && b.HealthzStatus == 500 && b.StartupDelay == 1500*time.Millisecond &&
					b.Warmup == 3*time.Second && b.WarmupMode == WarmupFail
			}, false},
		{"env wins over the image tag", corev1.Container{Image: "app:v2--healthz-500", Env: env(EnvHealthzStatus, "200", EnvVersion, "v9")},
			func(b behaviour) bool { return b.HealthzStatus == 200 && b.Version == "v9" }, false},
		{"every env knob", corev1.Container{Image: "app", Env: env(EnvStartupDelay, "2s", EnvReadinessStatus, "503", EnvWarmup, "1s",
			EnvWarmupLatency, "250ms", EnvWarmupStatus, "502", EnvWarmupHealthz, "true", "OTHER", "x")},
			func(b behaviour) bool {
				return b.StartupDelay == 2*time.Second && b.ReadinessStatus == 503 && b.Warmup == time.Second &&
					b.WarmupLatency == 250*time.Millisecond && b.WarmupStatus == 502 && b.WarmupHealthz
			}, false},
		{"warm-up concurrency from the image tag", corev1.Container{Image: "app:v2--warmup-6s--warmuplatency-100ms--warmupconcurrency-2"},
			func(b behaviour) bool {
				return b.Warmup == 6*time.Second && b.WarmupLatency == 100*time.Millisecond && b.WarmupConcurrency == 2 && b.WarmupMode == WarmupSlow
			}, false},
		{"negative warm-up concurrency", corev1.Container{Image: "app", Env: env(EnvWarmupConcurrency, "-1")}, nil, true},
		{"bad status code", corev1.Container{Image: "app", Env: env(EnvHealthzStatus, "abc")}, nil, true},
		{"status code out of range", corev1.Container{Image: "app", Env: env(EnvHealthzStatus, "700")}, nil, true},
		{"negative duration", corev1.Container{Image: "app", Env: env(EnvStartupDelay, "-1s")}, nil, true},
		{"unknown warm-up mode", corev1.Container{Image: "app", Env: env(EnvWarmupMode, "sometimes")}, nil, true},
		{"unknown NODESIM_ variable", corev1.Container{Image: "app", Env: env("NODESIM_TYPO", "1")}, nil, true},
		{"unknown tag item", corev1.Container{Image: "app:v1--colour-blue"}, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := parseBehaviour(&tc.c)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.check != nil && !tc.check(b) {
				t.Fatalf("behaviour %+v", b)
			}
		})
	}
}
