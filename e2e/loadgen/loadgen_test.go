package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// server is an httptest server on 127.0.0.1 that counts requests and
// accepted connections.
type server struct {
	*httptest.Server
	requests atomic.Int64
	conns    atomic.Int64
}

// newServer starts a server whose handler is h and stops it at test end.
func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		h(w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// expected is how many requests a run of d at rps schedules.
func expected(rps float64, d time.Duration) int64 {
	interval := time.Duration(float64(time.Second) / rps)
	return int64((d + interval - 1) / interval)
}

// run runs the generator and fails the test on a start error.
func run(t *testing.T, opts Options) *Report {
	t.Helper()
	r, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("\n%s", r.Table())
	checkAccounting(t, r)
	return r
}

// checkAccounting checks the invariants every final report keeps.
func checkAccounting(t *testing.T, r *Report) {
	t.Helper()
	if r.Running || r.InFlight != 0 {
		t.Errorf("final report: Running=%v InFlight=%d", r.Running, r.InFlight)
	}
	if got := r.Succeeded + r.Failed + r.Canceled; got != r.Sent {
		t.Errorf("succeeded %d + failed %d + canceled %d = %d, want sent %d", r.Succeeded, r.Failed, r.Canceled, got, r.Sent)
	}
	var byKind int64
	for _, n := range r.FailedByKind {
		byKind += n
	}
	if byKind != r.Failed || int64(len(r.Failures)) != r.Failed {
		t.Errorf("failed %d, by kind %d, listed %d", r.Failed, byKind, len(r.Failures))
	}
	var served int64
	for _, s := range r.Served {
		served += s.Count
	}
	if served != r.Succeeded {
		t.Errorf("served sums to %d, want succeeded %d", served, r.Succeeded)
	}
}

// eventually polls cond until it holds, failing the test after 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func TestAllSucceed(t *testing.T) {
	for _, mode := range []Mode{KeepAlive, NewConnection} {
		t.Run(string(mode), func(t *testing.T) {
			var n atomic.Int64
			srv := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
				if n.Add(1)%2 == 0 {
					fmt.Fprintln(w, "pod=web-b version=v2")
				} else {
					fmt.Fprintln(w, `{"pod":"web-a","version":"v1"}`)
				}
			})
			const rps, d = 100, 500 * time.Millisecond
			before := time.Now()
			r := run(t, Options{URL: srv.URL, RPS: rps, Duration: d, Mode: mode})
			after := time.Now()
			want := expected(rps, d)
			if r.Sent != want || r.Succeeded != want || r.Failed != 0 {
				t.Fatalf("sent %d ok %d failed %d, want %d all ok", r.Sent, r.Succeeded, r.Failed, want)
			}
			if got := srv.requests.Load(); got != want {
				t.Errorf("server saw %d requests, want %d", got, want)
			}
			if got := r.ByPod(); got["web-a"] != want/2 || got["web-b"] != want/2 || len(got) != 2 {
				t.Errorf("by pod %v, want %d each of web-a, web-b", got, want/2)
			}
			if got := r.ByVersion(); got["v1"] != want/2 || got["v2"] != want/2 {
				t.Errorf("by version %v", got)
			}
			for _, s := range r.Served {
				if s.First.Before(before) || s.Last.After(after) || s.Last.Before(s.First) {
					t.Errorf("served %v: first %v last %v outside run [%v, %v]", s.Identity, s.First, s.Last, before, after)
				}
			}
			l := r.Latency
			inOrder := 0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max && l.Max < DefaultTimeout
			if !inOrder {
				t.Errorf("latency percentiles out of order: %+v", l)
			}
			if r.Duration < d || !r.FirstFailure.IsZero() {
				t.Errorf("duration %v (want >= %v), first failure %v", r.Duration, d, r.FirstFailure)
			}
			for _, s := range []string{"sent 50", "ok 50", "failed 0", "web-a", "v2", "p99"} {
				if !strings.Contains(r.Table(), s) {
					t.Errorf("Table() lacks %q:\n%s", s, r.Table())
				}
			}
			if !strings.Contains(r.String(), "failed 0") {
				t.Errorf("String() = %q", r.String())
			}
		})
	}
}

func TestCustomParser(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "served-by:pod-7") })
	parse := func(body []byte) Identity {
		_, pod, _ := strings.Cut(string(body), ":")
		return Identity{Pod: pod, Version: "custom"}
	}
	r := run(t, Options{URL: srv.URL, RPS: 100, Duration: 100 * time.Millisecond, Parse: parse})
	if len(r.Served) != 1 || r.Served[0].Identity != (Identity{Pod: "pod-7", Version: "custom"}) || r.Served[0].Count != r.Sent {
		t.Errorf("served %+v, want pod-7/custom for all %d", r.Served, r.Sent)
	}
}

func TestServerErrorWindow(t *testing.T) {
	// Requests 20..39 as the server counts them get a 500; the server notes
	// when it served the first and last of them.
	const from, to = 20, 40
	var (
		mu                  sync.Mutex
		n                   int
		winStart, winEnd    time.Time
		served500, servedOK int
	)
	srv := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		i := n
		n++
		bad := i >= from && i < to
		if bad {
			if winStart.IsZero() {
				winStart = time.Now()
			}
			winEnd = time.Now()
			served500++
		} else {
			servedOK++
		}
		mu.Unlock()
		if bad {
			http.Error(w, "backend broken", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "web-1 v1")
	})
	r := run(t, Options{URL: srv.URL, RPS: 100, Duration: time.Second})
	mu.Lock()
	defer mu.Unlock()
	if r.FailedByKind[KindHTTP5xx] != int64(served500) || r.Failed != int64(served500) || served500 != to-from {
		t.Fatalf("5xx %d, failed %d; server sent %d 500s, want %d", r.FailedByKind[KindHTTP5xx], r.Failed, served500, to-from)
	}
	if r.Succeeded != int64(servedOK) {
		t.Errorf("ok %d, server answered %d with 200", r.Succeeded, servedOK)
	}
	// Each failed request was in flight while the server answered it with a
	// 500, so it was sent before the window closed and ended after it opened.
	for _, f := range r.Failures {
		if f.Status != http.StatusInternalServerError || !strings.Contains(f.Detail, "backend broken") {
			t.Errorf("failure %+v: want status 500 with the body in the detail", f)
		}
		if f.Start.After(winEnd) || f.End.Before(winStart) {
			t.Errorf("failure sent %v ended %v, outside the 500 window [%v, %v]", clock(f.Start), clock(f.End), clock(winStart), clock(winEnd))
		}
	}
	if r.FirstFailure.After(r.LastFailure) || r.FirstFailure.After(winEnd) || r.LastFailure.After(winEnd) {
		t.Errorf("first failure %v, last %v, window [%v, %v]", clock(r.FirstFailure), clock(r.LastFailure), clock(winStart), clock(winEnd))
	}
}

func TestResetConnections(t *testing.T) {
	for _, mode := range []Mode{KeepAlive, NewConnection} {
		t.Run(string(mode), func(t *testing.T) {
			// Every request's connection is closed without an answer: with
			// an RST for odd requests, a plain close (EOF) for even ones.
			var n atomic.Int64
			srv := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Errorf("hijack: %v", err)
					return
				}
				if n.Add(1)%2 == 1 {
					if err := conn.(*net.TCPConn).SetLinger(0); err != nil {
						t.Errorf("linger: %v", err)
					}
				}
				conn.Close()
			})
			r := run(t, Options{URL: srv.URL, RPS: 100, Duration: 300 * time.Millisecond, Mode: mode})
			if r.Sent == 0 || r.FailedByKind[KindReset] != r.Sent {
				t.Fatalf("sent %d, failed by kind %v: want all reset", r.Sent, r.FailedByKind)
			}
		})
	}
}

func TestSlowServerTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	const timeout = 100 * time.Millisecond
	r := run(t, Options{URL: srv.URL, RPS: 50, Duration: 300 * time.Millisecond, Timeout: timeout})
	if r.Sent == 0 || r.FailedByKind[KindTimeout] != r.Sent {
		t.Fatalf("sent %d, failed by kind %v: want all timeout", r.Sent, r.FailedByKind)
	}
	for _, f := range r.Failures {
		if f.End.Sub(f.Start) < timeout {
			t.Errorf("timeout after %v, before the %v timeout", f.End.Sub(f.Start), timeout)
		}
	}
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	r := run(t, Options{URL: "http://" + addr + "/", RPS: 100, Duration: 100 * time.Millisecond})
	if r.Sent == 0 || r.FailedByKind[KindConnect] != r.Sent {
		t.Fatalf("sent %d, failed by kind %v: want all connect", r.Sent, r.FailedByKind)
	}
}

func TestOverloadAndLiveSnapshot(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 100)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
		fmt.Fprintln(w, "web-1 v1")
	})
	const rps, d = 100, 100 * time.Millisecond
	g, err := Start(context.Background(), Options{URL: srv.URL, RPS: rps, Duration: d, MaxInFlight: 2, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	<-arrived
	<-arrived
	// Both slots are held by requests the server has not answered.
	s := g.Snapshot()
	if !s.Running || s.InFlight != 2 || s.Succeeded != 0 || s.Sent != s.InFlight+s.Failed || s.Failed != s.FailedByKind[KindOverload] {
		t.Fatalf("live snapshot: %s", s)
	}
	want := expected(rps, d)
	eventually(t, "every request to come due", func() bool { return g.Snapshot().Sent == want })
	close(release)
	r := g.Wait()
	t.Logf("\n%s", r.Table())
	checkAccounting(t, r)
	if r.Succeeded != 2 || r.FailedByKind[KindOverload] != want-2 || r.Failed != want-2 {
		t.Errorf("ok %d, failed %v; want 2 ok and %d overload", r.Succeeded, r.FailedByKind, want-2)
	}
	if srv.requests.Load() != 2 {
		t.Errorf("server saw %d requests, want 2", srv.requests.Load())
	}
}

func TestKeepAliveReusesConnections(t *testing.T) {
	const rps, d = 100, time.Second
	want := expected(rps, d)
	t.Run("keep-alive", func(t *testing.T) {
		srv := newServer(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "web-1 v1") })
		r := run(t, Options{URL: srv.URL, RPS: rps, Duration: d, Mode: KeepAlive})
		conns := srv.conns.Load()
		t.Logf("%d requests over %d connections", r.Succeeded, conns)
		// One connection does it when the machine keeps up; stalls that
		// bunch requests open more (36 for 100 requests with GOMAXPROCS=1
		// and four busy loops on two cores), never one per request.
		if r.Succeeded != want || conns < 1 || conns > want/2 {
			t.Errorf("ok %d of %d over %d connections, want at most %d connections", r.Succeeded, want, conns, want/2)
		}
	})
	t.Run("new-connection", func(t *testing.T) {
		srv := newServer(t, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "web-1 v1") })
		r := run(t, Options{URL: srv.URL, RPS: rps, Duration: d, Mode: NewConnection})
		conns := srv.conns.Load()
		t.Logf("%d requests over %d connections", r.Succeeded, conns)
		if r.Succeeded != want || conns != want {
			t.Errorf("ok %d of %d over %d connections, want one connection per request", r.Succeeded, want, conns)
		}
	})
}

func TestRateHonoured(t *testing.T) {
	var (
		mu       sync.Mutex
		arrivals []time.Time
	)
	srv := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		fmt.Fprintln(w, "web-1 v1")
	})
	const rps, d = 200, 2 * time.Second
	r := run(t, Options{URL: srv.URL, RPS: rps, Duration: d})
	mu.Lock()
	defer mu.Unlock()
	want := expected(rps, d)
	if r.Sent != want || int64(len(arrivals)) != want || r.Succeeded != want {
		t.Fatalf("sent %d, server received %d, ok %d; want %d", r.Sent, len(arrivals), r.Succeeded, want)
	}
	// The requests are spread over the run, not bunched: bounds wide enough
	// for a stalled scheduler on a busy two-core machine.
	first, last := arrivals[0], arrivals[0]
	for _, a := range arrivals {
		if a.Before(first) {
			first = a
		}
		if a.After(last) {
			last = a
		}
	}
	if spread := last.Sub(first); spread < d*3/4 || spread > d*3/2 {
		t.Errorf("requests arrived over %v, want about %v", spread, d)
	}
	var firstHalf int64
	for _, a := range arrivals {
		if a.Before(r.Start.Add(d / 2)) {
			firstHalf++
		}
	}
	if firstHalf < want*3/10 || firstHalf > want*7/10 {
		t.Errorf("%d of %d requests arrived in the first half of the run, want about half", firstHalf, want)
	}
	if got := r.AchievedRPS(); got < rps*0.75 || got > rps*1.05 {
		t.Errorf("achieved %.1f rps, want about %d", got, rps)
	}
}

func TestContextEndsRun(t *testing.T) {
	arrived := make(chan struct{}, 1000)
	srv := newServer(t, func(_ http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	g, err := Start(ctx, Options{URL: srv.URL, RPS: 100, Duration: time.Minute, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	<-arrived
	cancel()
	r := g.Wait()
	t.Logf("\n%s", r.Table())
	checkAccounting(t, r)
	if r.Failed != 0 || r.Canceled == 0 || r.Duration > 30*time.Second {
		t.Errorf("after cancel: failed %d canceled %d duration %v; want canceled, not failed, and an early end", r.Failed, r.Canceled, r.Duration)
	}
}

func TestStop(t *testing.T) {
	arrived := make(chan struct{}, 1000)
	srv := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		fmt.Fprintln(w, "web-1 v1")
	})
	g, err := Start(context.Background(), Options{URL: srv.URL, RPS: 100, Duration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	<-arrived
	r := g.Stop()
	checkAccounting(t, r)
	if r.Failed != 0 || r.Succeeded == 0 || r.Duration > 30*time.Second {
		t.Errorf("after Stop: %s", r)
	}
	if again := g.Stop(); again.Sent != r.Sent {
		t.Errorf("second Stop: sent %d, first said %d", again.Sent, r.Sent)
	}
}

func TestRefusesNonLoopback(t *testing.T) {
	for _, u := range []string{
		"http://10.0.0.1/",
		"http://192.168.1.1:8080/",
		"http://0.0.0.0:80/",
		"http://example.com/",
		"http://localhost.example.com/",
		"http://127.0.0.1.nip.io/",
		"http://[::1]:80/",
		"http://[2001:db8::1]/",
		"https://127.0.0.1/",
		"ftp://127.0.0.1/",
		"http://user:pw@127.0.0.1/",
		"127.0.0.1:80",
		"",
	} {
		g, err := Start(context.Background(), Options{URL: u, RPS: 100, Duration: time.Second})
		if err == nil || g != nil {
			if g != nil {
				g.Stop()
			}
			t.Errorf("Start(%q): want an error and no generator", u)
		}
		if r, err := Run(context.Background(), Options{URL: u, RPS: 100, Duration: time.Second}); err == nil || r != nil {
			t.Errorf("Run(%q): want an error and no report", u)
		}
	}
	for _, u := range []string{"http://127.0.0.1/", "http://127.3.2.1:8080/x?y=1", "http://localhost:1/", "http://LocalHost/"} {
		if _, err := CheckURL(u); err != nil {
			t.Errorf("CheckURL(%q): %v", u, err)
		}
	}
}

func TestDialGuard(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:80":         true,
		"127.200.3.4:8080":     true,
		"[::1]:80":             true,
		"[::ffff:127.0.0.1]:1": true,
		"10.0.0.1:80":          false,
		"[2001:db8::1]:80":     false,
		"0.0.0.0:80":           false,
		"nonsense":             false,
	} {
		if err := guardDial("tcp", addr, nil); (err == nil) != ok {
			t.Errorf("guardDial(%q) = %v, want allowed=%v", addr, err, ok)
		}
	}
}

func TestOptionsChecked(t *testing.T) {
	for name, o := range map[string]Options{
		"zero rps":      {URL: "http://127.0.0.1/", Duration: time.Second},
		"too fast":      {URL: "http://127.0.0.1/", RPS: MaxRPS + 1, Duration: time.Second},
		"no duration":   {URL: "http://127.0.0.1/", RPS: 1},
		"bad mode":      {URL: "http://127.0.0.1/", RPS: 1, Duration: time.Second, Mode: "pipelined"},
		"neg timeout":   {URL: "http://127.0.0.1/", RPS: 1, Duration: time.Second, Timeout: -1},
		"neg in flight": {URL: "http://127.0.0.1/", RPS: 1, Duration: time.Second, MaxInFlight: -1},
	} {
		if _, err := Start(context.Background(), o); err == nil {
			t.Errorf("%s: Start accepted %+v", name, o)
		}
	}
}

func TestParseBody(t *testing.T) {
	for body, want := range map[string]Identity{
		"":                                     {},
		"   \n":                                {},
		`{"pod":"web-1","version":"v2"}`:       {Pod: "web-1", Version: "v2"},
		`{"name":"n","pod":"p","version":"3"}`: {Pod: "p", Version: "3"},
		`{"hostname":"h"}`:                     {Pod: "h"},
		"pod=web-1 version=v2\n":               {Pod: "web-1", Version: "v2"},
		"version=v2,pod=web-1":                 {Pod: "web-1", Version: "v2"},
		"pod: web-1\nversion: v2\n":            {Pod: "web-1", Version: "v2"},
		`pod="web-1"; version='v2'`:            {Pod: "web-1", Version: "v2"},
		"web-1 v2\nmore text":                  {Pod: "web-1", Version: "v2"},
		"web-1":                                {Pod: "web-1"},
		"{not json":                            {Pod: "{not", Version: "json"},
	} {
		if got := ParseBody([]byte(body)); got != want {
			t.Errorf("ParseBody(%q) = %+v, want %+v", body, got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err  error
		want Kind
	}{
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, KindConnect},
		{context.DeadlineExceeded, KindTimeout},
		{fmt.Errorf("read: %w", errors.New("connection reset by peer")), KindReset},
		{errors.New("http: server closed idle connection"), KindReset},
		{errors.New("something else"), KindOther},
	} {
		if got, _ := classify(c.err); got != c.want {
			t.Errorf("classify(%v) = %s, want %s", c.err, got, c.want)
		}
	}
	if statusKind(503) != KindHTTP5xx || statusKind(404) != KindStatus || statusKind(302) != KindStatus {
		t.Error("statusKind")
	}
}

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 90: 90 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond, 0: time.Millisecond} {
		if got := percentile(s, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if percentile(nil, 50) != 0 || percentile(s[:1], 99) != time.Millisecond {
		t.Error("percentile of empty or single sample")
	}
}
