package nodesim

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Response headers the simulated app sets on every answer.
const (
	// HeaderPodName carries the pod's name.
	HeaderPodName = "X-Pod-Name"
	// HeaderVersion carries the app's version (NODESIM_VERSION or the image tag).
	HeaderVersion = "X-Pod-Version"
	// HeaderContainer carries the container's name.
	HeaderContainer = "X-Container-Name"
)

// HealthzPath is the path that answers with the /healthz status knob.
const HealthzPath = "/healthz"

// appState is the part of a simulated app that changes at run time: the
// status codes of its health endpoints, which a test may change on a running
// pod (Simulator.SetReadinessStatus, Simulator.SetHealthzStatus).
type appState struct {
	readinessStatus atomic.Int32
	healthzStatus   atomic.Int32
}

// appHandler answers the requests of one port of a container's app.
type appHandler struct {
	pod       string
	container string
	b         behaviour
	state     *appState
	// probePath is the readiness probe's path on this port ("" if none).
	probePath string
	// listeningSince returns when the port began to listen (for warm-up).
	listeningSince func() time.Time
	now            func() time.Time

	mu       sync.Mutex
	killed   bool
	inflight sync.WaitGroup
	// turns holds one token per request served while warming up, when
	// the behaviour caps them (WarmupConcurrency); made on first use.
	turns chan struct{}
}

// ServeHTTP answers the readiness path and /healthz with their status
// knobs, and every other path with the pod name and version, slowed down or
// failed while the app warms up. The query parameter delay (a Go duration)
// makes one request take that long, for tests of in-flight requests.
func (h *appHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.enter() {
		http.Error(w, "killed", http.StatusServiceUnavailable)
		return
	}
	defer h.inflight.Done()
	w.Header().Set(HeaderPodName, h.pod)
	w.Header().Set(HeaderVersion, h.b.Version)
	w.Header().Set(HeaderContainer, h.container)
	warming := h.now().Before(h.listeningSince().Add(h.b.Warmup))
	switch {
	case h.probePath != "" && r.URL.Path == h.probePath:
		writeStatus(w, int(h.state.readinessStatus.Load()))
		return
	case r.URL.Path == HealthzPath:
		if warming && h.b.WarmupHealthz && !h.warmUp(w, r) {
			return
		}
		writeStatus(w, int(h.state.healthzStatus.Load()))
		return
	}
	if warming && !h.warmUp(w, r) {
		return
	}
	if d, err := time.ParseDuration(r.URL.Query().Get("delay")); err == nil && d > 0 {
		h.sleep(r, d)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "pod=%s version=%s\n", h.pod, h.b.Version)
}

// warmUp applies the warm-up mode to a request and reports whether the
// request should go on (slow mode, after waiting for a turn when the
// concurrency is capped) or has been answered (fail mode).
func (h *appHandler) warmUp(w http.ResponseWriter, r *http.Request) bool {
	if h.b.WarmupMode == WarmupFail {
		http.Error(w, "warming up", h.b.WarmupStatus)
		return false
	}
	if n := h.b.WarmupConcurrency; n > 0 {
		turns := h.warmupTurns(n)
		select {
		case turns <- struct{}{}:
			defer func() { <-turns }()
		case <-r.Context().Done():
			panic(http.ErrAbortHandler)
		}
	}
	h.sleep(r, h.b.WarmupLatency)
	return true
}

// warmupTurns returns the tokens that cap the requests a warming app
// serves at once.
func (h *appHandler) warmupTurns(n int) chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.turns == nil {
		h.turns = make(chan struct{}, n)
	}
	return h.turns
}

// sleep delays a request. When the app is killed meanwhile the request is
// aborted without an answer, as a killed process drops its connections.
func (h *appHandler) sleep(r *http.Request, d time.Duration) {
	if !sleepCtx(r.Context(), d) {
		panic(http.ErrAbortHandler)
	}
}

// enter counts a request in, unless the app was killed.
func (h *appHandler) enter() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.killed {
		return false
	}
	h.inflight.Add(1)
	return true
}

// kill refuses new requests and waits for the running ones, which end
// quickly because their contexts are cancelled when their connections close.
func (h *appHandler) kill() {
	h.mu.Lock()
	h.killed = true
	h.mu.Unlock()
	h.inflight.Wait()
}

func writeStatus(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(strconv.Itoa(code) + " " + http.StatusText(code) + "\n"))
}

// sleepCtx sleeps for d unless ctx ends first; it reports whether it slept the whole time.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
