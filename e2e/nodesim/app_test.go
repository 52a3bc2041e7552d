package nodesim

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func testHandler(b behaviour, listening, now time.Time) *appHandler {
	st := &appState{}
	st.readinessStatus.Store(int32(b.ReadinessStatus))
	st.healthzStatus.Store(int32(b.HealthzStatus))
	return &appHandler{pod: "web-1", container: "app", b: b, state: st, probePath: "/ready",
		listeningSince: func() time.Time { return listening }, now: func() time.Time { return now }}
}

func get(h http.Handler, path string) (*httptest.ResponseRecorder, time.Duration) {
	rec := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec, time.Since(start)
}

func TestAppAnswers(t *testing.T) {
	b := defaultBehaviour()
	b.Version, b.HealthzStatus = "v2", 500
	start := time.Unix(1000, 0)
	h := testHandler(b, start, start.Add(time.Minute))

	rec, _ := get(h, "/anything")
	if rec.Code != 200 || rec.Body.String() != "pod=web-1 version=v2\n" || rec.Header().Get(HeaderVersion) != "v2" || rec.Header().Get(HeaderPodName) != "web-1" {
		t.Fatalf("app path: %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
	if rec, _ := get(h, "/ready"); rec.Code != 200 {
		t.Fatalf("readiness path passes while /healthz fails: got %d", rec.Code)
	}
	if rec, _ := get(h, "/healthz"); rec.Code != 500 {
		t.Fatalf("/healthz: got %d", rec.Code)
	}
	h.state.readinessStatus.Store(503)
	if rec, _ := get(h, "/ready"); rec.Code != 503 {
		t.Fatalf("readiness status changed at run time: got %d", rec.Code)
	}
	if rec, took := get(h, "/slow?delay=50ms"); rec.Code != 200 || took < 50*time.Millisecond {
		t.Fatalf("delay parameter: %d after %v", rec.Code, took)
	}
}

func TestAppWarmup(t *testing.T) {
	start := time.Unix(1000, 0)
	fail := defaultBehaviour()
	fail.Warmup, fail.WarmupMode = 10*time.Second, WarmupFail
	h := testHandler(fail, start, start.Add(time.Second))
	if rec, _ := get(h, "/"); rec.Code != 503 || !strings.Contains(rec.Body.String(), "warming up") {
		t.Fatalf("fail mode while warming: %d %q", rec.Code, rec.Body.String())
	}
	if rec, _ := get(h, "/ready"); rec.Code != 200 {
		t.Fatalf("the readiness path never warms up: %d", rec.Code)
	}
	if rec, _ := get(h, "/healthz"); rec.Code != 200 {
		t.Fatalf("/healthz does not warm up by default: %d", rec.Code)
	}
	fail.WarmupHealthz = true
	if rec, _ := get(testHandler(fail, start, start.Add(time.Second)), "/healthz"); rec.Code != 503 {
		t.Fatalf("/healthz warms up when asked: %d", rec.Code)
	}
	if rec, _ := get(testHandler(fail, start, start.Add(11*time.Second)), "/"); rec.Code != 200 {
		t.Fatalf("after the warm-up: %d", rec.Code)
	}

	slow := defaultBehaviour()
	slow.Warmup, slow.WarmupLatency = 10*time.Second, 60*time.Millisecond
	if rec, took := get(testHandler(slow, start, start.Add(time.Second)), "/"); rec.Code != 200 || took < 60*time.Millisecond {
		t.Fatalf("slow mode: %d after %v", rec.Code, took)
	}
}

// TestAppWarmupConcurrency: a warming app with a concurrency cap serves
// that many requests at once; the others wait for a turn, so the last of
// three concurrent requests with a cap of one takes at least three
// latencies.
func TestAppWarmupConcurrency(t *testing.T) {
	start := time.Unix(1000, 0)
	b := defaultBehaviour()
	b.Warmup, b.WarmupLatency, b.WarmupConcurrency = 10*time.Second, 40*time.Millisecond, 1
	serveThree := func(h http.Handler) time.Duration {
		var wg sync.WaitGroup
		took := make([]time.Duration, 3)
		for i := range took {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, took[i] = get(h, "/")
			}()
		}
		wg.Wait()
		return slices.Max(took)
	}
	if longest := serveThree(testHandler(b, start, start.Add(time.Second))); longest < 3*b.WarmupLatency {
		t.Errorf("warming, cap 1: the last of three requests took %v, want at least %v (one at a time)", longest, 3*b.WarmupLatency)
	}
}

func TestAppKilledRefuses(t *testing.T) {
	h := testHandler(defaultBehaviour(), time.Unix(0, 0), time.Unix(100, 0))
	h.kill()
	if rec, _ := get(h, "/"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("after kill: %d", rec.Code)
	}
}
