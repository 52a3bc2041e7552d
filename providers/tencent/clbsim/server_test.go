package clbsim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lbgate/lbgate/providers/tencent"
	"github.com/lbgate/lbgate/providers/tencent/clbsim"
)

// Each test checks one rule of the CLB API reference (version 2018-03-17)
// or of the API's common conventions (signature v3, errors, rate limits);
// the rule is named in the test's comment. Rules the reference does not
// spell out and the simulator infers are marked "inferred".

const id, secret = "AKIDsim", "sim-secret-key"

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// start runs a simulator with lb-1: lbl-4 (TCP, layer 4) and lbl-7 (HTTP,
// layer 7, rule loc-1), and a client with the right key.
func start(t *testing.T, cfg clbsim.Config) (*clbsim.Server, *tencent.Client) {
	t.Helper()
	if cfg.SecretID == "" {
		cfg.SecretID, cfg.SecretKey = id, secret
	}
	s, err := clbsim.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.AddLoadBalancer("lb-1")
	fast := clbsim.HealthCheck{Interval: 20 * time.Millisecond, Timeout: 200 * time.Millisecond, Healthy: 2, Unhealthy: 2}
	s.AddListener("lb-1", "lbl-4", "TCP", fast)
	s.AddListener("lb-1", "lbl-7", "HTTP", fast)
	hc := fast
	hc.HTTP, hc.Path = true, "/healthz"
	s.AddRule("lb-1", "lbl-7", "loc-1", hc)
	return s, client(t, s, id, secret)
}

func client(t *testing.T, s *clbsim.Server, id, key string) *tencent.Client {
	t.Helper()
	c, err := tencent.NewClient(tencent.Credentials{SecretID: id, SecretKey: key}, "ap-guangzhou", "http://"+s.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func w(n int64) *int64 { return &n }

func register(c *tencent.Client, targets ...tencent.BatchTarget) (tencent.BatchTargetsResponse, error) {
	var out tencent.BatchTargetsResponse
	err := c.Call(context.Background(), tencent.ActionBatchRegisterTargets, tencent.BatchTargetsRequest{LoadBalancerId: "lb-1", Targets: targets}, &out)
	return out, err
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := tencent.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

// taskStatus returns a task's status.
func taskStatus(t *testing.T, c *tencent.Client, id string) int64 {
	t.Helper()
	var st tencent.DescribeTaskStatusResponse
	if err := c.Call(context.Background(), tencent.ActionDescribeTaskStatus, tencent.DescribeTaskStatusRequest{TaskId: id}, &st); err != nil {
		t.Fatal(err)
	}
	return st.Status
}

// eventually polls cond every 60ms (under the 20 calls a second of an
// action) until it holds or 10s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(60 * time.Millisecond)
	}
}

// Rule (signature v3): a request signed with another key fails with
// AuthFailure.SignatureFailure, an unknown SecretId with
// AuthFailure.SecretIdNotFound; the right key passes.
func TestSignatureIsVerified(t *testing.T) {
	s, good := start(t, clbsim.Config{})
	var q tencent.DescribeQuotaResponse
	if err := good.Call(context.Background(), tencent.ActionDescribeQuota, tencent.DescribeQuotaRequest{}, &q); err != nil {
		t.Fatalf("a request signed with the right key failed: %v", err)
	}
	err := client(t, s, id, "wrong-key").Call(context.Background(), tencent.ActionDescribeQuota, tencent.DescribeQuotaRequest{}, &q)
	wantCode(t, err, tencent.ErrSignatureFailure)
	err = client(t, s, "AKIDother", secret).Call(context.Background(), tencent.ActionDescribeQuota, tencent.DescribeQuotaRequest{}, &q)
	wantCode(t, err, tencent.ErrSecretIdNotFound)
}

// Rule (signature v3): a body changed after signing fails the signature
// (the payload's hash is signed), and an unsigned request is refused.
func TestSignatureCoversTheBody(t *testing.T) {
	s, _ := start(t, clbsim.Config{})
	// A proxy between the SDK and the server rewrites the body.
	proxy := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		body = []byte(strings.Replace(string(body), "lb-1", "lb-2", 1))
		req, _ := http.NewRequest(r.Method, "http://"+s.Endpoint()+"/", strings.NewReader(string(body)))
		req.Header = r.Header.Clone()
		req.Host = r.Host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			rw.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		_, _ = io.Copy(rw, resp.Body)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = proxy.Serve(ln) }()
	t.Cleanup(func() { _ = proxy.Close() })
	c, err := tencent.NewClient(tencent.Credentials{SecretID: id, SecretKey: secret}, "ap-guangzhou", "http://"+ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_, err = register(c, tencent.BatchTarget{ListenerId: "lbl-4", Port: 80, EniIp: "127.0.0.2"})
	wantCode(t, err, tencent.ErrSignatureFailure)

	resp, err := http.Post("http://"+s.Endpoint()+"/", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Response struct{ Error tencent.APIError }
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	// Rule (common errors): a failed call is HTTP 200 with Response.Error.
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(env.Response.Error.Code, "AuthFailure") {
		t.Fatalf("unsigned request: HTTP %d, error %+v; want 200 with an AuthFailure code", resp.StatusCode, env.Response.Error)
	}
}

// Rule (signature v3): the timestamp may be at most 300 s from the
// server's clock; beyond, AuthFailure.SignatureExpire.
func TestSignatureExpiresAfterFiveMinutesOfSkew(t *testing.T) {
	clk := &clock{now: time.Now()}
	_, c := start(t, clbsim.Config{Now: clk.Now})
	var q tencent.DescribeQuotaResponse
	clk.Add(290 * time.Second)
	if err := c.Call(context.Background(), tencent.ActionDescribeQuota, tencent.DescribeQuotaRequest{}, &q); err != nil {
		t.Fatalf("290 s of skew refused: %v", err)
	}
	clk.Add(20 * time.Second)
	err := c.Call(context.Background(), tencent.ActionDescribeQuota, tencent.DescribeQuotaRequest{}, &q)
	wantCode(t, err, tencent.ErrSignatureExpire)
}

// Rule (rate limits): each action takes 20 requests a second; beyond,
// RequestLimitExceeded. The limit is per action.
func TestRateLimitIsTwentyASecondPerAction(t *testing.T) {
	clk := &clock{now: time.Now()}
	_, c := start(t, clbsim.Config{Now: clk.Now})
	quota := func() error {
		var q tencent.DescribeQuotaResponse
		return c.Call(context.Background(), tencent.ActionDescribeQuota, tencent.DescribeQuotaRequest{}, &q)
	}
	for i := range 20 {
		if err := quota(); err != nil {
			t.Fatalf("call %d of 20 in one second: %v", i+1, err)
		}
	}
	wantCode(t, quota(), tencent.ErrRequestLimitExceeded)
	var h tencent.DescribeTargetHealthResponse
	if err := c.Call(context.Background(), tencent.ActionDescribeTargetHealth, tencent.DescribeTargetHealthRequest{LoadBalancerIds: []string{"lb-1"}}, &h); err != nil {
		t.Fatalf("another action is limited by DescribeQuota's calls: %v", err)
	}
	clk.Add(50 * time.Millisecond) // one token back
	if err := quota(); err != nil {
		t.Fatalf("after 50ms: %v", err)
	}
	wantCode(t, quota(), tencent.ErrRequestLimitExceeded)
}

// Rule (BatchRegisterTargets): at most 500 targets a call; more is
// InvalidParameterValue.Length.
func TestBatchTakesAtMost500Targets(t *testing.T) {
	_, c := start(t, clbsim.Config{TargetBindQuota: 1000})
	batch := func(n int) []tencent.BatchTarget {
		var out []tencent.BatchTarget
		for i := range n {
			out = append(out, tencent.BatchTarget{ListenerId: "lbl-4", Port: int64(1000 + i), EniIp: "127.0.0.1"})
		}
		return out
	}
	_, err := register(c, batch(501)...)
	wantCode(t, err, tencent.ErrInvalidValueLength)
	if _, err := register(c, batch(500)...); err != nil {
		t.Fatalf("500 targets refused: %v", err)
	}
}

// Rule (DescribeQuota, TOTAL_TARGET_BIND_QUOTA): a rule holds at most the
// quota's targets; a call that would pass it fails with LimitExceeded and
// binds none (inferred: the whole call fails).
func TestQuotaPerRule(t *testing.T) {
	s, c := start(t, clbsim.Config{TargetBindQuota: 2})
	var q tencent.DescribeQuotaResponse
	if err := c.Call(context.Background(), tencent.ActionDescribeQuota, tencent.DescribeQuotaRequest{}, &q); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range q.QuotaSet {
		if x.QuotaId == tencent.QuotaTargetBind {
			found = x.QuotaLimit == 2
		}
	}
	if !found {
		t.Fatalf("DescribeQuota %+v has no TOTAL_TARGET_BIND_QUOTA of 2", q.QuotaSet)
	}
	_, err := register(c, tencent.BatchTarget{ListenerId: "lbl-4", Port: 1, EniIp: "127.0.0.2"},
		tencent.BatchTarget{ListenerId: "lbl-4", Port: 2, EniIp: "127.0.0.2"},
		tencent.BatchTarget{ListenerId: "lbl-4", Port: 3, EniIp: "127.0.0.2"})
	wantCode(t, err, tencent.ErrLimitExceeded)
	if got := s.Backends("lb-1", "lbl-4", ""); len(got) != 0 {
		t.Fatalf("a refused call bound %v", got)
	}
}

// Rule (BatchRegisterTargets, DescribeTaskStatus): the change is
// asynchronous; the answer's RequestId is the task id, Status 2 while it
// runs, 0 once the change is live; while it runs the load balancer
// answers other changes with FailedOperation.ResourceInOperating.
func TestChangesAreAsyncTasks(t *testing.T) {
	s, c := start(t, clbsim.Config{TaskDuration: 300 * time.Millisecond})
	out, err := register(c, tencent.BatchTarget{ListenerId: "lbl-4", Port: 80, EniIp: "127.0.0.2", Weight: w(20)})
	if err != nil {
		t.Fatal(err)
	}
	if got := taskStatus(t, c, out.RequestId); got != tencent.TaskRunning {
		t.Fatalf("task status right after the call = %d, want 2 (running)", got)
	}
	if got := s.Backends("lb-1", "lbl-4", ""); len(got) != 0 {
		t.Fatalf("the change is live before its task ends: %v", got)
	}
	_, err = register(c, tencent.BatchTarget{ListenerId: "lbl-4", Port: 81, EniIp: "127.0.0.2"})
	wantCode(t, err, tencent.ErrResourceInOperating)
	eventually(t, "the task to succeed", func() bool { return taskStatus(t, c, out.RequestId) == tencent.TaskSucceeded })
	if got := s.Backends("lb-1", "lbl-4", ""); len(got) != 1 || got[0].Weight != 20 {
		t.Fatalf("after the task: %+v, want one target of weight 20", got)
	}
}

// Rule (DescribeTaskStatus): a failed task has Status 1 and its change is
// not applied.
func TestFailedTask(t *testing.T) {
	s, c := start(t, clbsim.Config{})
	s.FailNextTasks(1)
	out, err := register(c, tencent.BatchTarget{ListenerId: "lbl-4", Port: 80, EniIp: "127.0.0.2"})
	if err != nil {
		t.Fatal(err)
	}
	if got := taskStatus(t, c, out.RequestId); got != tencent.TaskFailed {
		t.Fatalf("status %d, want 1 (failed)", got)
	}
	if got := s.Backends("lb-1", "lbl-4", ""); len(got) != 0 {
		t.Fatalf("a failed task bound %v", got)
	}
}

// Rule (BatchTarget): a layer-7 listener binds on a rule (LocationId
// required), a layer-4 listener on itself; unknown ids have their own
// codes.
func TestLayer4AndLayer7Nesting(t *testing.T) {
	s, c := start(t, clbsim.Config{})
	tests := []struct {
		name   string
		lb     string
		target tencent.BatchTarget
		code   string
	}{
		{"layer 4", "lb-1", tencent.BatchTarget{ListenerId: "lbl-4", Port: 80, EniIp: "127.0.0.2"}, ""},
		{"layer 7 rule", "lb-1", tencent.BatchTarget{ListenerId: "lbl-7", LocationId: "loc-1", Port: 80, EniIp: "127.0.0.2"}, ""},
		{"layer 7 without a rule", "lb-1", tencent.BatchTarget{ListenerId: "lbl-7", Port: 81, EniIp: "127.0.0.2"}, tencent.ErrInvalidParameter},
		{"layer 4 with a rule", "lb-1", tencent.BatchTarget{ListenerId: "lbl-4", LocationId: "loc-1", Port: 81, EniIp: "127.0.0.2"}, tencent.ErrLocationNotFound},
		{"unknown rule", "lb-1", tencent.BatchTarget{ListenerId: "lbl-7", LocationId: "loc-9", Port: 81, EniIp: "127.0.0.2"}, tencent.ErrLocationNotFound},
		{"unknown listener", "lb-1", tencent.BatchTarget{ListenerId: "lbl-9", Port: 81, EniIp: "127.0.0.2"}, tencent.ErrListenerIdNotFound},
		{"unknown load balancer", "lb-9", tencent.BatchTarget{ListenerId: "lbl-4", Port: 81, EniIp: "127.0.0.2"}, tencent.ErrLBIdNotFound},
		{"weight above 100", "lb-1", tencent.BatchTarget{ListenerId: "lbl-4", Port: 82, EniIp: "127.0.0.2", Weight: w(101)}, tencent.ErrInvalidValue},
		{"not an IP", "lb-1", tencent.BatchTarget{ListenerId: "lbl-4", Port: 82, EniIp: "pod-1"}, tencent.ErrInvalidValue},
	}
	for _, tt := range tests {
		var out tencent.BatchTargetsResponse
		err := c.Call(context.Background(), tencent.ActionBatchRegisterTargets, tencent.BatchTargetsRequest{LoadBalancerId: tt.lb, Targets: []tencent.BatchTarget{tt.target}}, &out)
		if got := tencent.ErrorCode(err); got != tt.code {
			t.Errorf("%s: code %q (%v), want %q", tt.name, got, err, tt.code)
		}
	}
	if got := s.Backends("lb-1", "lbl-7", "loc-1"); len(got) != 1 || got[0].Weight != 10 {
		t.Errorf("layer-7 rule holds %+v, want one target of the default weight 10", got)
	}
	var h tencent.DescribeTargetHealthResponse
	if err := c.Call(context.Background(), tencent.ActionDescribeTargetHealth, tencent.DescribeTargetHealthRequest{
		LoadBalancerIds: []string{"lb-1"}, ListenerIds: []string{"lbl-7"}, LocationIds: []string{"loc-1"}}, &h); err != nil {
		t.Fatal(err)
	}
	if len(h.LoadBalancers) != 1 || len(h.LoadBalancers[0].Listeners) != 1 || len(h.LoadBalancers[0].Listeners[0].Rules) != 1 ||
		h.LoadBalancers[0].Listeners[0].Rules[0].LocationId != "loc-1" || len(h.LoadBalancers[0].Listeners[0].Rules[0].Targets) != 1 {
		t.Errorf("DescribeTargetHealth of lbl-7/loc-1 = %+v, want load balancer -> listener -> rule loc-1 -> one target", h)
	}
	err := c.Call(context.Background(), tencent.ActionDescribeTargetHealth, tencent.DescribeTargetHealthRequest{
		LoadBalancerIds: []string{"lb-1"}, ListenerIds: []string{"lbl-9"}}, &h)
	wantCode(t, err, tencent.ErrListenerIdNotFound)
}

// Rule (BatchRegisterTargets, FailListenerIdSet): a call that fails on one
// listener succeeds on the others and names the failed one (inferred:
// binding a target that is bound already fails its listener's part).
func TestPartialFailure(t *testing.T) {
	s, c := start(t, clbsim.Config{})
	if _, err := register(c, tencent.BatchTarget{ListenerId: "lbl-4", Port: 80, EniIp: "127.0.0.2"}); err != nil {
		t.Fatal(err)
	}
	out, err := register(c, tencent.BatchTarget{ListenerId: "lbl-4", Port: 80, EniIp: "127.0.0.2"},
		tencent.BatchTarget{ListenerId: "lbl-7", LocationId: "loc-1", Port: 80, EniIp: "127.0.0.2"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(out.FailListenerIdSet) != "[lbl-4]" {
		t.Fatalf("FailListenerIdSet = %v, want [lbl-4]", out.FailListenerIdSet)
	}
	if got := s.Backends("lb-1", "lbl-7", "loc-1"); len(got) != 1 {
		t.Fatalf("the listener that did not fail holds %v, want its target", got)
	}
}

// Rule (BatchModifyTargetWeight): weights 0-100, weight 0 accepted; at
// most 50 targets a rule of ModifyList; only bound targets.
func TestModifyWeight(t *testing.T) {
	s, c := start(t, clbsim.Config{})
	if _, err := register(c, tencent.BatchTarget{ListenerId: "lbl-4", Port: 80, EniIp: "127.0.0.2"}); err != nil {
		t.Fatal(err)
	}
	modify := func(targets ...tencent.WeightTarget) error {
		return c.Call(context.Background(), tencent.ActionBatchModifyTargetWeight, tencent.BatchModifyTargetWeightRequest{
			LoadBalancerId: "lb-1", ModifyList: []tencent.RsWeightRule{{ListenerId: "lbl-4", Targets: targets}}}, &tencent.TaskResponse{})
	}
	if err := modify(tencent.WeightTarget{Port: 80, EniIp: "127.0.0.2", Weight: w(0)}); err != nil {
		t.Fatal(err)
	}
	if got := s.Backends("lb-1", "lbl-4", ""); len(got) != 1 || got[0].Weight != 0 {
		t.Fatalf("after weight 0: %+v", got)
	}
	wantCode(t, modify(tencent.WeightTarget{Port: 81, EniIp: "127.0.0.2", Weight: w(5)}), tencent.ErrInvalidParameter)
	var many []tencent.WeightTarget
	for range 51 {
		many = append(many, tencent.WeightTarget{Port: 80, EniIp: "127.0.0.2", Weight: w(5)})
	}
	wantCode(t, modify(many...), tencent.ErrInvalidValueLength)
}

// Rule (DescribeTargetHealth): a new target is Unknown until the check
// decides; HealthyThreshold passes make it Alive (HealthStatus true),
// UnhealthyThreshold failures Dead. The checks are real: a TCP connect on
// layer 4, GET of the rule's path on layer 7 (2xx/3xx passes).
func TestHealthFromRealChecks(t *testing.T) {
	s, c := start(t, clbsim.Config{})
	var mu sync.Mutex
	status := http.StatusInternalServerError
	app := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/healthz" {
			rw.WriteHeader(http.StatusNotFound)
			return
		}
		rw.WriteHeader(status)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Serve(ln) }()
	t.Cleanup(func() { _ = app.Close() })
	port := int64(ln.Addr().(*net.TCPAddr).Port)
	if _, err := register(c, tencent.BatchTarget{ListenerId: "lbl-4", Port: port, EniIp: "127.0.0.1"},
		tencent.BatchTarget{ListenerId: "lbl-7", LocationId: "loc-1", Port: port, EniIp: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	health := func(listener, loc string) string {
		b := s.Backends("lb-1", listener, loc)
		if len(b) != 1 {
			return "missing"
		}
		return b[0].Health
	}
	eventually(t, "TCP check Alive", func() bool { return health("lbl-4", "") == tencent.HealthAlive })
	eventually(t, "HTTP check Dead on a 500", func() bool { return health("lbl-7", "loc-1") == tencent.HealthDead })
	mu.Lock()
	status = http.StatusOK
	mu.Unlock()
	eventually(t, "HTTP check Alive on a 200", func() bool { return health("lbl-7", "loc-1") == tencent.HealthAlive })
	var h tencent.DescribeTargetHealthResponse
	if err := c.Call(context.Background(), tencent.ActionDescribeTargetHealth, tencent.DescribeTargetHealthRequest{LoadBalancerIds: []string{"lb-1"}, ListenerIds: []string{"lbl-4"}}, &h); err != nil {
		t.Fatal(err)
	}
	if th := h.LoadBalancers[0].Listeners[0].Rules[0].Targets[0]; !th.HealthStatus || th.HealthStatusDetail != tencent.HealthAlive {
		t.Fatalf("DescribeTargetHealth = %+v, want HealthStatus true, Alive", th)
	}
	_ = app.Close()
	eventually(t, "TCP check Dead once the app stops", func() bool { return health("lbl-4", "") == tencent.HealthDead })

	// A target on an address where nothing listens is never Alive; its
	// first answer is Unknown (the check has not decided yet).
	s.AddListener("lb-1", "lbl-slow", "TCP", clbsim.HealthCheck{Interval: time.Hour, Healthy: 2, Unhealthy: 2})
	if _, err := register(c, tencent.BatchTarget{ListenerId: "lbl-slow", Port: port, EniIp: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if got := health("lbl-slow", ""); got != tencent.HealthUnknown {
		t.Fatalf("a new target with one check done of two: %s, want Unknown", got)
	}
	// Rule: a listener with its check off reports Close.
	s.AddListener("lb-1", "lbl-off", "TCP", clbsim.HealthCheck{Off: true})
	if _, err := register(c, tencent.BatchTarget{ListenerId: "lbl-off", Port: port, EniIp: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if got := health("lbl-off", ""); got != tencent.HealthClose {
		t.Fatalf("check off: %s, want Close", got)
	}
}

// Fault injection: an injected error code answers the next call of the
// action, once.
func TestInjectedErrors(t *testing.T) {
	s, c := start(t, clbsim.Config{})
	s.InjectError(tencent.ActionDescribeQuota, tencent.ErrInternal)
	var q tencent.DescribeQuotaResponse
	wantCode(t, c.Call(context.Background(), tencent.ActionDescribeQuota, tencent.DescribeQuotaRequest{}, &q), tencent.ErrInternal)
	if err := c.Call(context.Background(), tencent.ActionDescribeQuota, tencent.DescribeQuotaRequest{}, &q); err != nil {
		t.Fatalf("the second call: %v", err)
	}
	calls := s.Calls()
	if len(calls) != 2 || calls[0].Code != tencent.ErrInternal || calls[1].Code != "" {
		t.Fatalf("calls %+v", calls)
	}
}

// Fault injection: a listener's part of the next batch fails on its own
// (FailListenerIdSet), the other listeners' parts apply.
func TestInjectedPartialFailure(t *testing.T) {
	s, c := start(t, clbsim.Config{})
	s.FailListenerParts("lbl-7")
	out, err := register(c, tencent.BatchTarget{ListenerId: "lbl-4", Port: 80, EniIp: "127.0.0.2"},
		tencent.BatchTarget{ListenerId: "lbl-7", LocationId: "loc-1", Port: 80, EniIp: "127.0.0.2"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(out.FailListenerIdSet) != "[lbl-7]" || len(s.Backends("lb-1", "lbl-7", "loc-1")) != 0 || len(s.Backends("lb-1", "lbl-4", "")) != 1 {
		t.Fatalf("FailListenerIdSet %v, lbl-7 %v, lbl-4 %v; want lbl-7 failed and empty, lbl-4 bound",
			out.FailListenerIdSet, s.Backends("lb-1", "lbl-7", "loc-1"), s.Backends("lb-1", "lbl-4", ""))
	}
	if _, err := register(c, tencent.BatchTarget{ListenerId: "lbl-7", LocationId: "loc-1", Port: 80, EniIp: "127.0.0.2"}); err != nil {
		t.Fatal(err)
	}
	if len(s.Backends("lb-1", "lbl-7", "loc-1")) != 1 {
		t.Fatal("the injected failure lasted beyond one batch")
	}
}

// Rule (DescribeListeners, HealthCheck): a layer-4 listener reports its own
// check, a layer-7 listener one check per rule; times in whole seconds;
// HealthSwitch 0 when the check is off. Unknown listener ids are left out
// of the answer (inferred); an unknown load balancer is LBIdNotFound.
func TestDescribeListenersReportsChecks(t *testing.T) {
	s, c := start(t, clbsim.Config{})
	s.AddListener("lb-1", "lbl-2s", "TCP", clbsim.HealthCheck{Interval: 2 * time.Second, Timeout: 3 * time.Second, Healthy: 4, Unhealthy: 5})
	s.AddListener("lb-1", "lbl-off", "TCP", clbsim.HealthCheck{Off: true})
	var out tencent.DescribeListenersResponse
	if err := c.Call(context.Background(), tencent.ActionDescribeListeners, tencent.DescribeListenersRequest{LoadBalancerId: "lb-1",
		ListenerIds: []string{"lbl-2s", "lbl-off", "lbl-7", "lbl-nope"}}, &out); err != nil {
		t.Fatal(err)
	}
	got := map[string]tencent.Listener{}
	for _, l := range out.Listeners {
		got[l.ListenerId] = l
	}
	if len(got) != 3 {
		t.Fatalf("listeners %+v, want lbl-2s, lbl-off and lbl-7", out.Listeners)
	}
	if h := got["lbl-2s"].HealthCheck; h == nil || *h != (tencent.HealthCheck{HealthSwitch: 1, IntervalTime: 2, TimeOut: 3, HealthNum: 4, UnHealthNum: 5, CheckType: "TCP"}) {
		t.Errorf("lbl-2s check %+v", h)
	}
	if h := got["lbl-off"].HealthCheck; h == nil || h.HealthSwitch != 0 {
		t.Errorf("lbl-off check %+v, want HealthSwitch 0", h)
	}
	l7 := got["lbl-7"]
	if l7.HealthCheck != nil || len(l7.Rules) != 1 || l7.Rules[0].LocationId != "loc-1" || l7.Rules[0].HealthCheck == nil ||
		l7.Rules[0].HealthCheck.CheckType != "HTTP" || l7.Rules[0].HealthCheck.HttpCheckPath != "/healthz" {
		t.Errorf("lbl-7 %+v, want no listener check and rule loc-1 checking HTTP /healthz", l7)
	}
	err := c.Call(context.Background(), tencent.ActionDescribeListeners, tencent.DescribeListenersRequest{LoadBalancerId: "lb-9"}, &out)
	wantCode(t, err, tencent.ErrLBIdNotFound)
}

// named runs an HTTP server on 127.0.0.1 that answers every path with its
// name, and returns its port.
func named(t *testing.T, name string) int64 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, name) })}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return int64(ln.Addr().(*net.TCPAddr).Port)
}

// sample sends n requests, each on a new connection, and counts the answers
// by body ("error" for a failed request, "503" for no target).
func sample(t *testing.T, url string, n int) map[string]int {
	t.Helper()
	out := map[string]int{}
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for range n {
		resp, err := c.Get(url)
		if err != nil {
			out["error"]++
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			out["503"]++
			continue
		}
		out[string(b)]++
	}
	return out
}

// Rule (traffic, inferred): a layer-4 listener forwards each connection to
// a target that is Alive with weight above 0, by weight; a Dead target and
// a target of weight 0 take none; with no such target a connection is closed.
func TestLayer4TrafficGoesToAliveTargetsByWeight(t *testing.T) {
	s, c := start(t, clbsim.Config{})
	front, err := s.Frontend("lb-1", "lbl-4")
	if err != nil {
		t.Fatal(err)
	}
	if got := sample(t, "http://"+front+"/", 3); got["error"] != 3 {
		t.Fatalf("no target: %v, want every request failed", got)
	}
	a, b := named(t, "a"), named(t, "b")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := int64(ln.Addr().(*net.TCPAddr).Port)
	_ = ln.Close()
	if _, err := register(c, tencent.BatchTarget{ListenerId: "lbl-4", Port: a, EniIp: "127.0.0.1", Weight: w(10)},
		tencent.BatchTarget{ListenerId: "lbl-4", Port: b, EniIp: "127.0.0.1", Weight: w(0)},
		tencent.BatchTarget{ListenerId: "lbl-4", Port: dead, EniIp: "127.0.0.1", Weight: w(10)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a and b Alive, the third Dead", func() bool {
		n := map[string]int{}
		for _, be := range s.Backends("lb-1", "lbl-4", "") {
			n[be.Health]++
		}
		return n[tencent.HealthAlive] == 2 && n[tencent.HealthDead] == 1
	})
	if got := sample(t, "http://"+front+"/", 20); got["a"] != 20 {
		t.Fatalf("traffic %v, want all to a (b has weight 0, the third is Dead)", got)
	}
	if err := c.Call(context.Background(), tencent.ActionBatchModifyTargetWeight, tencent.BatchModifyTargetWeightRequest{LoadBalancerId: "lb-1",
		ModifyList: []tencent.RsWeightRule{{ListenerId: "lbl-4", Targets: []tencent.WeightTarget{{Port: b, EniIp: "127.0.0.1", Weight: w(30)}}}}}, &tencent.TaskResponse{}); err != nil {
		t.Fatal(err)
	}
	got := sample(t, "http://"+front+"/", 200)
	// Weights 10 and 30: b takes 3/4 (150 of 200); 110 is far out of chance.
	if got["a"]+got["b"] != 200 || got["b"] < 110 || got["a"] == 0 {
		t.Fatalf("traffic %v, want a and b by weight 10:30", got)
	}
}

// Rule (traffic, inferred): a layer-7 listener forwards each request to
// the rule whose URL is the longest prefix of its path, then to a target
// that takes traffic; with none, 503.
func TestLayer7TrafficFollowsRules(t *testing.T) {
	s, c := start(t, clbsim.Config{})
	s.AddRule("lb-1", "lbl-7", "loc-api", clbsim.HealthCheck{Interval: 20 * time.Millisecond, Healthy: 1})
	s.SetRuleURL("lb-1", "lbl-7", "loc-api", "/api")
	front, err := s.Frontend("lb-1", "lbl-7")
	if err != nil {
		t.Fatal(err)
	}
	web, api := named(t, "web"), named(t, "api")
	if _, err := register(c, tencent.BatchTarget{ListenerId: "lbl-7", LocationId: "loc-1", Port: web, EniIp: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "web Alive", func() bool {
		b := s.Backends("lb-1", "lbl-7", "loc-1")
		return len(b) == 1 && b[0].Health == tencent.HealthAlive
	})
	if got := sample(t, "http://"+front+"/api/x", 2); got["503"] != 2 {
		t.Fatalf("/api with no target on its rule: %v, want 503s", got)
	}
	if _, err := register(c, tencent.BatchTarget{ListenerId: "lbl-7", LocationId: "loc-api", Port: api, EniIp: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "api Alive", func() bool {
		b := s.Backends("lb-1", "lbl-7", "loc-api")
		return len(b) == 1 && b[0].Health == tencent.HealthAlive
	})
	if got := sample(t, "http://"+front+"/api/x", 5); got["api"] != 5 {
		t.Fatalf("/api/x: %v, want every request to the api rule's target", got)
	}
	if got := sample(t, "http://"+front+"/index.html", 5); got["web"] != 5 {
		t.Fatalf("/index.html: %v, want every request to the default rule's target", got)
	}
	// Two rules of one URL: the lower location id serves (loc-0, empty).
	s.AddRule("lb-1", "lbl-7", "loc-0", clbsim.HealthCheck{})
	if got := sample(t, "http://"+front+"/index.html", 5); got["503"] != 5 {
		t.Fatalf("/index.html with loc-0 on the same URL: %v, want 503s from the empty loc-0", got)
	}
}
