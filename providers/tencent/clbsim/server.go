// Package clbsim is a local Tencent Cloud CLB: an HTTP server on 127.0.0.1
// that answers the CLB API actions the tencent provider calls, by the
// rules of the API reference (version 2018-03-17), so the provider and
// the controllers can be tested without the cloud. Its listeners carry
// traffic to the targets that take it (see Frontend).
//
// Rules taken from the reference, each with a test in server_test.go:
//   - TC3-HMAC-SHA256 signatures, verified with its own implementation:
//     a wrong key is AuthFailure.SignatureFailure, an unknown SecretId
//     AuthFailure.SecretIdNotFound, a timestamp more than 300 s off
//     AuthFailure.SignatureExpire; the body's hash is signed;
//   - errors are HTTP 200 with Response.Error {Code, Message} and a RequestId;
//   - 20 requests a second per action, RequestLimitExceeded beyond;
//   - BatchRegisterTargets / BatchDeregisterTargets take at most 500
//     targets, BatchModifyTargetWeight at most 100 rules of 50 targets and
//     500 in all (InvalidParameterValue.Length); weights 0-100, 10 when absent;
//   - layer-4 listeners bind on themselves, layer-7 listeners on a rule
//     (LocationId required); InvalidParameter.LBIdNotFound,
//     .ListenerIdNotFound, .LocationNotFound;
//   - changes are asynchronous tasks: the RequestId is the TaskId of
//     DescribeTaskStatus (2 running, 0 succeeded, 1 failed);
//   - TOTAL_TARGET_BIND_QUOTA (DescribeQuota) targets per rule, LimitExceeded beyond;
//   - DescribeTargetHealth nests load balancer, listener, rule, target, with
//     HealthStatus and HealthStatusDetail (Alive, Dead, Unknown, Close);
//   - DescribeListeners reports the check of a layer-4 listener and of each
//     layer-7 rule, times in seconds.
//
// Inferred, not spelled out in the reference (the real CLB may differ):
//   - while a task runs, every other change to the same load balancer is
//     FailedOperation.ResourceInOperating (the reference lists the code,
//     not when it is returned);
//   - a call that would pass the quota fails as a whole with LimitExceeded;
//   - binding a target that is bound already, or unbinding one that is
//     not, fails that listener's part of the batch (FailListenerIdSet);
//   - a layer-4 listener reports its targets under one rule with an empty
//     LocationId in DescribeTargetHealth;
//   - unknown listener ids are left out of DescribeListeners, but are
//     InvalidParameter.ListenerIdNotFound in DescribeTargetHealth;
//   - the first check runs when the bind is live, then one every
//     interval; an HTTP check passes on 2xx and 3xx; a check that is off
//     reports Close with HealthStatus false;
//   - the token bucket starts full (a burst of 20) and refills continuously;
//   - traffic: each new connection (layer 4) or request (layer 7) goes to
//     a target chosen at random by weight among those Alive (or Close)
//     with weight above 0; with none, the connection is closed or the
//     request answered 503; connections open on a target whose weight
//     turns 0 go on.
package clbsim

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/lbgate/lbgate/providers/tencent"
)

// Config sets up a simulator. Zero fields take the real API's values.
type Config struct {
	// SecretID and SecretKey are the one credential the server accepts.
	SecretID, SecretKey string
	// Region, when set, is the only region the server serves.
	Region string
	// RequestsPerSecond is each action's rate limit; default 20.
	RequestsPerSecond int
	// TaskDuration is how long an asynchronous change runs before it is
	// live (DescribeTaskStatus answers running until then); default 0.
	TaskDuration time.Duration
	// TargetBindQuota is TOTAL_TARGET_BIND_QUOTA, the backends one
	// forwarding rule holds; default 200.
	TargetBindQuota int
	// Now is the server's clock for signatures and rate limits; default time.Now.
	Now func() time.Time
}

// HealthCheck is a listener's or a layer-7 rule's health check.
type HealthCheck struct {
	// Off turns the check off: targets report Close.
	Off bool
	// HTTP checks with GET Path (a 2xx or 3xx answer passes) instead of a TCP connect.
	HTTP bool
	Path string
	// Interval between checks, Timeout of one, and the passes (Healthy)
	// and failures (Unhealthy) in a row that decide. Defaults 5s, 2s, 3, 3.
	Interval, Timeout  time.Duration
	Healthy, Unhealthy int
}

func (h HealthCheck) withDefaults() HealthCheck {
	if h.Interval <= 0 {
		h.Interval = 5 * time.Second
	}
	if h.Timeout <= 0 {
		h.Timeout = 2 * time.Second
	}
	if h.Healthy <= 0 {
		h.Healthy = 3
	}
	if h.Unhealthy <= 0 {
		h.Unhealthy = 3
	}
	if h.HTTP && h.Path == "" {
		h.Path = "/"
	}
	return h
}

// Server is a running simulator.
type Server struct {
	cfg Config
	srv *http.Server
	ln  net.Listener

	mu       sync.Mutex
	lbs      map[string]*loadBalancer
	tasks    map[string]*task
	buckets  map[string]*bucket
	faults   map[string][]string // action -> error codes for its next calls
	failTask int                 // the next tasks that fail
	failPart map[string]bool     // listeners whose part of the next batch fails
	httpFail []int               // HTTP status codes of the next answers
	latency  time.Duration
	calls    []Call
	closed   bool
	// frontends are the listeners carrying traffic, closed with the server.
	frontends []io.Closer
}

// Call is one request the server answered, for tests to count.
type Call struct {
	Action string
	At     time.Time
	// Code is the error code answered, "" on success.
	Code string
}

type loadBalancer struct {
	id        string
	listeners map[string]*listener
	running   *task // the task in progress, nil when none
}

type listener struct {
	id, protocol string
	layer7       bool
	check        HealthCheck
	rules        map[string]*rule // layer 7: by location id; layer 4: the one rule under ""
	frontend     string           // the address it carries traffic on, "" until Frontend
}

type rule struct {
	id      string
	url     string // layer 7: the path prefix it serves ("" is "/")
	check   HealthCheck
	targets map[string]*target // by ip:port
}

type target struct {
	ip       string
	port     int64
	weight   int64
	detail   string
	ok, fail int
	stop     chan struct{}
}

type task struct {
	id     string
	lb     string
	status int64
	msg    string
}

// Start runs a simulator on a free port of 127.0.0.1 until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.RequestsPerSecond <= 0 {
		cfg.RequestsPerSecond = tencent.RequestsPerSecond
	}
	if cfg.TargetBindQuota <= 0 {
		cfg.TargetBindQuota = 200
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, ln: ln, lbs: map[string]*loadBalancer{}, tasks: map[string]*task{},
		buckets: map[string]*bucket{}, faults: map[string][]string{}}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Endpoint is the server's host:port, for the SDK's HttpProfile.Endpoint (scheme HTTP).
func (s *Server) Endpoint() string { return s.ln.Addr().String() }

// Close stops the server and every health check.
func (s *Server) Close() {
	_ = s.srv.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, f := range s.frontends {
		_ = f.Close()
	}
	for _, lb := range s.lbs {
		for _, l := range lb.listeners {
			for _, r := range l.rules {
				for k, t := range r.targets {
					close(t.stop)
					delete(r.targets, k)
				}
			}
		}
	}
}

// AddLoadBalancer creates a load balancer.
func (s *Server) AddLoadBalancer(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lbs[id] = &loadBalancer{id: id, listeners: map[string]*listener{}}
}

// AddListener creates a listener on lb: protocol TCP or UDP is layer 4
// (its targets bind on the listener, checked by check), HTTP or HTTPS is
// layer 7 (targets bind on its rules, see AddRule).
func (s *Server) AddListener(lb, id, protocol string, check HealthCheck) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := &listener{id: id, protocol: protocol, layer7: protocol == "HTTP" || protocol == "HTTPS", check: check.withDefaults(), rules: map[string]*rule{}}
	if !l.layer7 {
		l.rules[""] = &rule{check: l.check, targets: map[string]*target{}}
	}
	s.lbs[lb].listeners[id] = l
}

// AddRule creates a forwarding rule on a layer-7 listener.
func (s *Server) AddRule(lb, listenerID, id string, check HealthCheck) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lbs[lb].listeners[listenerID].rules[id] = &rule{id: id, check: check.withDefaults(), targets: map[string]*target{}}
}

// InjectError makes the next calls of action answer the given error codes, one a call.
func (s *Server) InjectError(action string, codes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[action] = append(s.faults[action], codes...)
}

// FailNextTasks makes the next n asynchronous tasks end failed, their change not applied.
func (s *Server) FailNextTasks(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failTask += n
}

// FailListenerParts makes the part of the next BatchRegisterTargets or
// BatchDeregisterTargets on each listener given fail, as a bind on it
// would fail on the cloud's side: the listener is in FailListenerIdSet
// and its targets are left as they were.
func (s *Server) FailListenerParts(listenerIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failPart = map[string]bool{}
	for _, id := range listenerIDs {
		s.failPart[id] = true
	}
}

// InjectHTTPStatus makes the next answers plain HTTP errors with these
// status codes (a gateway in front of the API failing), one an answer.
func (s *Server) InjectHTTPStatus(codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.httpFail = append(s.httpFail, codes...)
}

// SetLatency delays every answer by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Calls returns the requests answered so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Backend is a bound target as the simulator holds it.
type Backend struct {
	IP     string
	Port   int64
	Weight int64
	// Health is Alive, Dead, Unknown or Close.
	Health string
}

// Backends returns the targets bound on a listener (location "" for layer 4) or rule.
func (s *Server) Backends(lb, listenerID, location string) []Backend {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Backend
	for _, t := range s.lbs[lb].listeners[listenerID].rules[location].targets {
		out = append(out, Backend{IP: t.ip, Port: t.port, Weight: t.weight, Health: t.detail})
	}
	return out
}

// apiError is an answer with Response.Error.
type apiError struct {
	code, msg string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func errorf(code, format string, args ...any) *apiError {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

// serve answers one API request: always HTTP 200 with a JSON Response,
// an Error in it when the call failed, as the API does.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		return
	}
	reqID := newID()
	action := r.Header.Get("X-TC-Action")
	s.mu.Lock()
	if len(s.httpFail) > 0 {
		code := s.httpFail[0]
		s.httpFail = s.httpFail[1:]
		s.calls = append(s.calls, Call{Action: action, At: s.cfg.Now(), Code: strconv.Itoa(code)})
		s.mu.Unlock()
		http.Error(w, http.StatusText(code), code)
		return
	}
	s.mu.Unlock()
	out, aerr := s.handle(r, action, reqID, body)
	s.mu.Lock()
	latency := s.latency
	code := ""
	if aerr != nil {
		code = aerr.code
	}
	s.calls = append(s.calls, Call{Action: action, At: s.cfg.Now(), Code: code})
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	resp := map[string]any{}
	if aerr != nil {
		resp["Error"] = map[string]string{"Code": aerr.code, "Message": aerr.msg}
	} else if out != nil {
		b, _ := json.Marshal(out)
		_ = json.Unmarshal(b, &resp)
	}
	resp["RequestId"] = reqID
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"Response": resp})
}

func (s *Server) handle(r *http.Request, action, reqID string, body []byte) (any, *apiError) {
	if e := s.checkRequest(r, body); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.take(action) {
		return nil, errorf(tencent.ErrRequestLimitExceeded, "more than %d requests a second of %s", s.cfg.RequestsPerSecond, action)
	}
	if q := s.faults[action]; len(q) > 0 {
		s.faults[action] = q[1:]
		return nil, errorf(q[0], "injected")
	}
	return s.dispatch(action, reqID, body)
}

// checkRequest refuses a request that is not a signed POST of the served
// API version and region.
func (s *Server) checkRequest(r *http.Request, body []byte) *apiError {
	if r.Method != http.MethodPost {
		return errorf("UnsupportedProtocol", "only POST with a JSON body is served")
	}
	secrets := map[string]string{s.cfg.SecretID: s.cfg.SecretKey}
	if e := verify(r, body, secrets, tencent.Service, s.cfg.Now(), tencent.SignatureSkewSeconds*time.Second); e != nil {
		return &apiError{code: e.code, msg: e.msg}
	}
	if v := r.Header.Get("X-TC-Version"); v != tencent.Version {
		return errorf("NoSuchVersion", "version %q is not served: only %s", v, tencent.Version)
	}
	if s.cfg.Region != "" && r.Header.Get("X-TC-Region") != s.cfg.Region {
		return errorf("InvalidParameter.RegionNotFound", "region %q is not served", r.Header.Get("X-TC-Region"))
	}
	return nil
}

// decode reads the action's JSON body into v.
func decode(body []byte, v any) *apiError {
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(v); err != nil {
		return errorf("InvalidParameter.FormatError", "the body is not the action's JSON: %v", err)
	}
	return nil
}

// dispatch runs the action. Called with s.mu held.
func (s *Server) dispatch(action, reqID string, body []byte) (any, *apiError) {
	switch action {
	case tencent.ActionBatchRegisterTargets, tencent.ActionBatchDeregisterTargets:
		var req tencent.BatchTargetsRequest
		if e := decode(body, &req); e != nil {
			return nil, e
		}
		return s.batchTargets(action == tencent.ActionBatchRegisterTargets, req, reqID)
	case tencent.ActionBatchModifyTargetWeight:
		var req tencent.BatchModifyTargetWeightRequest
		if e := decode(body, &req); e != nil {
			return nil, e
		}
		return s.modifyWeight(req, reqID)
	case tencent.ActionDescribeTargetHealth:
		var req tencent.DescribeTargetHealthRequest
		if e := decode(body, &req); e != nil {
			return nil, e
		}
		return s.describeHealth(req)
	case tencent.ActionDescribeListeners:
		var req tencent.DescribeListenersRequest
		if e := decode(body, &req); e != nil {
			return nil, e
		}
		return s.describeListeners(req)
	case tencent.ActionDescribeQuota:
		limit := int64(s.cfg.TargetBindQuota)
		return tencent.DescribeQuotaResponse{QuotaSet: []tencent.Quota{
			{QuotaId: "TOTAL_OPEN_CLB_QUOTA", QuotaLimit: 500},
			{QuotaId: "TOTAL_LISTENER_QUOTA", QuotaLimit: 50},
			{QuotaId: tencent.QuotaTargetBind, QuotaLimit: limit},
		}}, nil
	case tencent.ActionDescribeTaskStatus:
		var req tencent.DescribeTaskStatusRequest
		if e := decode(body, &req); e != nil {
			return nil, e
		}
		t, ok := s.tasks[req.TaskId]
		if !ok {
			return nil, errorf(tencent.ErrInvalidParameter, "no task %q", req.TaskId)
		}
		return tencent.DescribeTaskStatusResponse{Status: t.status, Message: t.msg}, nil
	}
	return nil, errorf("InvalidAction", "action %q does not exist", action)
}

// bucket is one action's token bucket: RequestsPerSecond tokens, refilled
// continuously.
type bucket struct {
	tokens float64
	at     time.Time
}

func (s *Server) take(action string) bool {
	now := s.cfg.Now()
	rate := float64(s.cfg.RequestsPerSecond)
	b, ok := s.buckets[action]
	if !ok {
		b = &bucket{tokens: rate, at: now}
		s.buckets[action] = b
	}
	b.tokens = min(rate, b.tokens+now.Sub(b.at).Seconds()*rate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
