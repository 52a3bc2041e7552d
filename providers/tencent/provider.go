package tencent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/lbgate/lbgate/providers"
)

// Defaults of Options.
const (
	DefaultTaskPollInterval = 500 * time.Millisecond
	DefaultQuotaTTL         = time.Minute
	DefaultRetryAfter       = time.Second
	// DefaultMaxBackends is the CLB's default TOTAL_TARGET_BIND_QUOTA,
	// used while DescribeQuota cannot be read.
	DefaultMaxBackends = 200
)

// Options configure a Provider.
type Options struct {
	// Credentials are the API key pair, or CredentialSource reads it (a
	// Secret); Region is the region of the load balancers.
	Credentials      Credentials
	CredentialSource CredentialSource
	Region           string
	// Endpoint overrides the API endpoint (see NewClient), for a local simulator.
	Endpoint string
	// RequestsPerSecond caps the provider's calls of each action, under
	// the API's limit; default 20.
	RequestsPerSecond float64
	// TaskPollInterval is how often DescribeTaskStatus is asked while a change runs.
	TaskPollInterval time.Duration
	// QuotaTTL is how long a DescribeQuota answer, and a target's
	// DescribeListeners answer (its health check), are reused.
	QuotaTTL time.Duration
	// RetryAfter is the wait a throttled or busy call asks of the caller.
	RetryAfter time.Duration
	// GlobalRouterCIDRs are the container ranges routed to the load
	// balancers' VPC: GlobalRouter-mode backends outside them are refused.
	GlobalRouterCIDRs []netip.Prefix
}

// Provider binds backends to CLB listeners and layer-7 rules.
//
// The CLB has no drain: Drain sets a backend's weight to 0 (it takes no
// new connections; those it holds go on) and List reports a backend of
// weight 0 as Draining, whatever its health. A group that asks for weight
// 0 is therefore never Healthy on this provider.
//
// Every change (bind, unbind, weight) is an asynchronous task of the load
// balancer: a call returns once DescribeTaskStatus says it is live. A load
// balancer runs one task at a time, so the provider makes its own changes
// to one load balancer one after the other; a task started by someone else
// makes a change fail as throttled (ResourceInOperating).
type Provider struct {
	client *Client
	opts   Options

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	lbs      map[string]*sync.Mutex
	quota    int
	quotaAt  time.Time
	caps     map[string]cachedCaps
}

// New returns a provider for the region; it connects nowhere until called.
func New(opts Options) (*Provider, error) {
	source := opts.CredentialSource
	if source == nil {
		if !opts.Credentials.complete() {
			return nil, errors.New("the SecretId and the SecretKey must both be set")
		}
		source = StaticCredentials(opts.Credentials)
	}
	c, err := NewClientFrom(source, opts.Region, opts.Endpoint)
	if err != nil {
		return nil, err
	}
	if opts.RequestsPerSecond <= 0 {
		opts.RequestsPerSecond = RequestsPerSecond
	}
	if opts.TaskPollInterval <= 0 {
		opts.TaskPollInterval = DefaultTaskPollInterval
	}
	if opts.QuotaTTL <= 0 {
		opts.QuotaTTL = DefaultQuotaTTL
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = DefaultRetryAfter
	}
	return &Provider{client: c, opts: opts, limiters: map[string]*rate.Limiter{}, lbs: map[string]*sync.Mutex{}, caps: map[string]cachedCaps{}}, nil
}

// Name is "tencent".
func (p *Provider) Name() string { return "tencent" }

// targetID is a parsed target id: a load balancer, a listener, and on a
// layer-7 listener a rule.
type targetID struct {
	raw, lb, listener, location string
}

// parseTarget reads "lb-xxxx/lbl-yyyy" or "lb-xxxx/lbl-yyyy/loc-zzzz".
func parseTarget(s string) (targetID, error) {
	parts := strings.Split(s, "/")
	bad := &providers.NotFoundError{Target: s, Detail: "not a CLB target id: want lb-xxxx/lbl-yyyy (layer-4 listener) or lb-xxxx/lbl-yyyy/loc-zzzz (layer-7 rule)"}
	if len(parts) < 2 || len(parts) > 3 {
		return targetID{}, bad
	}
	prefixes := []string{"lb-", "lbl-", "loc-"}
	for i, p := range parts {
		rest, ok := strings.CutPrefix(p, prefixes[i])
		if !ok || rest == "" || strings.ContainsAny(rest, " \t,=") {
			return targetID{}, bad
		}
	}
	t := targetID{raw: s, lb: parts[0], listener: parts[1]}
	if len(parts) == 3 {
		t.location = parts[2]
	}
	return t, nil
}

// Limits reports the quota (TOTAL_TARGET_BIND_QUOTA), the batch limit,
// and the health check the target's listener or rule runs. It fails with
// a NotFoundError when the load balancer, listener or rule does not
// exist, or the id's layer does not match the listener's.
func (p *Provider) Limits(ctx context.Context, target string) (providers.Limits, error) {
	t, err := parseTarget(target)
	if err != nil {
		return providers.Limits{}, err
	}
	q, err := p.maxBackends(ctx)
	if err != nil {
		return providers.Limits{}, err
	}
	caps, err := p.capabilitiesOf(ctx, t)
	if err != nil {
		return providers.Limits{}, err
	}
	return providers.Limits{MaxBackends: q, MaxBatch: MaxBatchTargets, Capabilities: caps}, nil
}

// capabilitiesOf reads the health check of t's listener (layer 4) or rule
// (layer 7) with DescribeListeners, at most every QuotaTTL per target.
func (p *Provider) capabilitiesOf(ctx context.Context, t targetID) (providers.Capabilities, error) {
	p.mu.Lock()
	if c, ok := p.caps[t.raw]; ok && time.Since(c.at) < p.opts.QuotaTTL {
		p.mu.Unlock()
		return c.caps, nil
	}
	p.mu.Unlock()
	var out DescribeListenersResponse
	if err := p.call(ctx, t.raw, ActionDescribeListeners, DescribeListenersRequest{LoadBalancerId: t.lb, ListenerIds: []string{t.listener}}, &out); err != nil {
		return providers.Capabilities{}, err
	}
	check, err := checkOf(t, out.Listeners)
	if err != nil {
		return providers.Capabilities{}, err
	}
	caps := capabilities(check, t.location != "")
	p.mu.Lock()
	p.caps[t.raw] = cachedCaps{caps: caps, at: time.Now()}
	p.mu.Unlock()
	return caps, nil
}

// cachedCaps is a target's capabilities as read at a time.
type cachedCaps struct {
	caps providers.Capabilities
	at   time.Time
}

// checkOf finds the health check of t among a DescribeListeners answer.
func checkOf(t targetID, listeners []Listener) (*HealthCheck, error) {
	notFound := func(format string, args ...any) error {
		return &providers.NotFoundError{Target: t.raw, Detail: fmt.Sprintf(format, args...)}
	}
	for _, l := range listeners {
		if l.ListenerId != t.listener {
			continue
		}
		layer7 := l.Protocol == "HTTP" || l.Protocol == "HTTPS"
		switch {
		case t.location == "" && layer7:
			return nil, notFound("listener %s is layer 7 (%s): the target id needs its rule, %s/%s/loc-xxxx", t.listener, l.Protocol, t.lb, t.listener)
		case t.location == "":
			return l.HealthCheck, nil
		case !layer7:
			return nil, notFound("listener %s is layer 4 (%s) and has no rules: the target id is %s/%s", t.listener, l.Protocol, t.lb, t.listener)
		}
		for _, r := range l.Rules {
			if r.LocationId == t.location {
				return r.HealthCheck, nil
			}
		}
		return nil, notFound("rule %s is not on listener %s", t.location, t.listener)
	}
	return nil, notFound("listener %s is not on load balancer %s", t.listener, t.lb)
}

// capabilities: the CLB checks health and ramps weights per listener (or
// layer-7 rule), set on the listener, not per backend, and the provider
// does not change listeners: it applies none of a group's settings. It
// reports the check in force (DescribeListeners), so a group that asks for
// the check the listener runs is honoured, and one that asks for another
// is refused with the listener's values. check is nil when not known.
func capabilities(check *HealthCheck, layer7 bool) providers.Capabilities {
	const how = "set it on the listener or rule (console, or ModifyListener / ModifyRule HealthCheck)"
	const set = "the CLB runs one health check per listener (per rule on layer 7): " + how
	checks := providers.AllSettings &^ providers.SettingSlowStart
	where := map[providers.Setting]string{}
	for _, s := range checks.Each() {
		where[s] = set
	}
	where[providers.SettingSlowStart] = "the CLB ramps new backends per listener: set SlowStart on the listener (console, or ModifyListener)"
	c := providers.Capabilities{Where: where}
	if check == nil {
		return c
	}
	if check.HealthSwitch != 1 {
		for _, s := range checks.Each() {
			where[s] = "the health check of the listener (or rule) is off, so the CLB sends traffic unchecked: turn it on and " + how
		}
		return c
	}
	c.Reported = checks
	sec := func(n int64) time.Duration { return time.Duration(n) * time.Second }
	c.InForce.HealthCheck = providers.HealthCheck{Interval: sec(check.IntervalTime), Timeout: sec(check.TimeOut),
		HealthyThreshold: int(check.HealthNum), UnhealthyThreshold: int(check.UnHealthNum)}
	switch typ := strings.ToUpper(check.CheckType); {
	case typ == "HTTP" || typ == "" && layer7:
		c.InForce.HealthCheck.Protocol, c.InForce.HealthCheck.Path = "http", check.HttpCheckPath
	case typ == "TCP" || typ == "" && !layer7:
		c.InForce.HealthCheck.Protocol = "tcp"
	default:
		c.Reported &^= providers.SettingCheckProtocol | providers.SettingCheckPath
		for _, s := range []providers.Setting{providers.SettingCheckProtocol, providers.SettingCheckPath} {
			where[s] = fmt.Sprintf("the listener (or rule) checks with %s, which lbgate has no name for: leave the protocol and path out of the group, or %s", typ, how)
		}
	}
	return c
}

// maxBackends returns TOTAL_TARGET_BIND_QUOTA, read at most every QuotaTTL.
func (p *Provider) maxBackends(ctx context.Context) (int, error) {
	p.mu.Lock()
	if !p.quotaAt.IsZero() && time.Since(p.quotaAt) < p.opts.QuotaTTL {
		q := p.quota
		p.mu.Unlock()
		return q, nil
	}
	p.mu.Unlock()
	var out DescribeQuotaResponse
	if err := p.call(ctx, "", ActionDescribeQuota, DescribeQuotaRequest{}, &out); err != nil {
		return 0, err
	}
	q := DefaultMaxBackends
	for _, x := range out.QuotaSet {
		if x.QuotaId == QuotaTargetBind && x.QuotaLimit > 0 {
			q = int(x.QuotaLimit)
		}
	}
	p.mu.Lock()
	p.quota, p.quotaAt = q, time.Now()
	p.mu.Unlock()
	return q, nil
}

// Register binds new backends, updates the weight of bound ones, and
// unbinds then binds again those that ask for a fresh check (a bound
// target keeps its health across a weight change).
func (p *Provider) Register(ctx context.Context, target providers.Target, backends []providers.Backend) error {
	t, err := parseTarget(target.ID)
	if err != nil {
		return err
	}
	if err := checkBackends(t.raw, backends); err != nil {
		return err
	}
	if err := p.reachable(t.raw, target.Mode, backends); err != nil {
		return err
	}
	unlock := p.lock(t.lb)
	defer unlock()
	cur, err := p.targets(ctx, t)
	if err != nil {
		return err
	}
	plan := planRegister(cur, backends)
	limit, err := p.maxBackends(ctx)
	if err != nil {
		return err
	}
	if want := len(cur) + len(plan.add); len(plan.add) > 0 && want > limit {
		return &providers.QuotaError{Target: t.raw, Limit: limit, Want: want, Detail: "TOTAL_TARGET_BIND_QUOTA of the rule"}
	}
	if len(plan.recheck) > 0 {
		if err := p.unbind(ctx, t, addrsOf(plan.recheck)); err != nil {
			return err
		}
	}
	if bind := slices.Concat(plan.add, plan.recheck); len(bind) > 0 {
		if err := p.bind(ctx, t, bind); err != nil {
			var q *providers.QuotaError
			if errors.As(err, &q) {
				q.Limit, q.Want = limit, len(cur)+len(plan.add)
			}
			return err
		}
	}
	if len(plan.reweight) > 0 {
		return p.modifyWeight(ctx, t, plan.reweight)
	}
	return nil
}

// checkBackends refuses a Register call one batch cannot take, or with a
// weight the API refuses.
func checkBackends(target string, backends []providers.Backend) error {
	if len(backends) > MaxBatchTargets {
		return &providers.QuotaError{Target: target, Limit: MaxBatchTargets, Want: len(backends), Detail: "more backends than one call takes"}
	}
	for _, b := range backends {
		if b.Weight < 0 || b.Weight > 100 {
			return fmt.Errorf("backend %s: weight %d is out of 0-100", b.Addr, b.Weight)
		}
	}
	return nil
}

// registerPlan splits a Register call by what the load balancer holds.
type registerPlan struct {
	add, recheck, reweight []providers.Backend
}

// planRegister decides what Register does with each backend given the
// bound targets cur (address -> weight).
func planRegister(cur map[netip.AddrPort]TargetHealth, backends []providers.Backend) registerPlan {
	var pl registerPlan
	for _, b := range backends {
		th, bound := cur[b.Addr]
		switch {
		case !bound:
			pl.add = append(pl.add, b)
		case b.Recheck:
			pl.recheck = append(pl.recheck, b)
		case th.Weight != int64(b.Weight):
			pl.reweight = append(pl.reweight, b)
		}
	}
	return pl
}

// Drain sets the weight of the bound backends among addrs to 0.
func (p *Provider) Drain(ctx context.Context, target string, addrs []netip.AddrPort) error {
	return p.onBound(ctx, target, addrs, func(th TargetHealth) bool { return th.Weight != 0 }, func(t targetID, addrs []netip.AddrPort) error {
		zero := make([]providers.Backend, len(addrs))
		for i, a := range addrs {
			zero[i] = providers.Backend{Addr: a, Weight: 0}
		}
		return p.modifyWeight(ctx, t, zero)
	})
}

// Deregister unbinds the bound backends among addrs.
func (p *Provider) Deregister(ctx context.Context, target string, addrs []netip.AddrPort) error {
	return p.onBound(ctx, target, addrs, func(TargetHealth) bool { return true }, func(t targetID, addrs []netip.AddrPort) error {
		return p.unbind(ctx, t, addrs)
	})
}

// onBound runs change, with the load balancer locked, on the addresses
// of addrs that are bound on target and pass keep; not at all when none
// does, so a repeated call costs one read.
func (p *Provider) onBound(ctx context.Context, target string, addrs []netip.AddrPort, keep func(TargetHealth) bool, change func(targetID, []netip.AddrPort) error) error {
	t, err := parseTarget(target)
	if err != nil {
		return err
	}
	unlock := p.lock(t.lb)
	defer unlock()
	cur, err := p.targets(ctx, t)
	if err != nil {
		return err
	}
	var todo []netip.AddrPort
	for _, a := range addrs {
		if th, ok := cur[a]; ok && keep(th) {
			todo = append(todo, a)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	return change(t, todo)
}

// List returns the bound backends with their health.
func (p *Provider) List(ctx context.Context, target string) ([]providers.BackendStatus, error) {
	t, err := parseTarget(target)
	if err != nil {
		return nil, err
	}
	cur, err := p.targets(ctx, t)
	if err != nil {
		return nil, err
	}
	out := make([]providers.BackendStatus, 0, len(cur))
	for a, th := range cur {
		h, reason := healthOf(th)
		out = append(out, providers.BackendStatus{Backend: providers.Backend{Addr: a, Weight: int32(th.Weight)}, Health: h, Reason: reason})
	}
	return out, nil
}

// healthOf turns a target's CLB health into lbgate's.
func healthOf(th TargetHealth) (providers.Health, string) {
	detail := th.HealthStatusDetail
	if th.Weight == 0 {
		return providers.HealthDraining, "weight 0 (" + detail + ")"
	}
	switch detail {
	case HealthAlive:
		return providers.HealthHealthy, detail
	case HealthDead:
		return providers.HealthUnhealthy, detail
	case HealthClose:
		return providers.HealthHealthy, "Close: the health check is off, the CLB sends traffic unchecked"
	case HealthUnknown, "":
		return providers.HealthInitial, "Unknown"
	}
	return providers.HealthInitial, detail
}

// targets reads the backends bound on t, by address.
func (p *Provider) targets(ctx context.Context, t targetID) (map[netip.AddrPort]TargetHealth, error) {
	req := DescribeTargetHealthRequest{LoadBalancerIds: []string{t.lb}, ListenerIds: []string{t.listener}}
	if t.location != "" {
		req.LocationIds = []string{t.location}
	}
	var out DescribeTargetHealthResponse
	if err := p.call(ctx, t.raw, ActionDescribeTargetHealth, req, &out); err != nil {
		return nil, err
	}
	cur := map[netip.AddrPort]TargetHealth{}
	for _, lb := range out.LoadBalancers {
		if lb.LoadBalancerId != t.lb {
			continue
		}
		for _, l := range lb.Listeners {
			if l.ListenerId != t.listener {
				continue
			}
			for _, r := range l.Rules {
				if t.location != "" && r.LocationId != t.location {
					continue
				}
				for _, th := range r.Targets {
					ip, err := netip.ParseAddr(th.IP)
					if err != nil || th.Port < 1 || th.Port > 65535 {
						continue // not an address lbgate binds
					}
					cur[netip.AddrPortFrom(ip.Unmap(), uint16(th.Port))] = th
				}
			}
		}
	}
	return cur, nil
}

// bind binds backends with their weights and waits for the task.
func (p *Provider) bind(ctx context.Context, t targetID, backends []providers.Backend) error {
	req := BatchTargetsRequest{LoadBalancerId: t.lb}
	for _, b := range backends {
		w := int64(b.Weight)
		req.Targets = append(req.Targets, BatchTarget{ListenerId: t.listener, LocationId: t.location, Port: int64(b.Addr.Port()), EniIp: b.Addr.Addr().String(), Weight: &w})
	}
	return p.change(ctx, t, ActionBatchRegisterTargets, req)
}

// unbind unbinds addrs and waits for the task.
func (p *Provider) unbind(ctx context.Context, t targetID, addrs []netip.AddrPort) error {
	req := BatchTargetsRequest{LoadBalancerId: t.lb}
	for _, a := range addrs {
		req.Targets = append(req.Targets, BatchTarget{ListenerId: t.listener, LocationId: t.location, Port: int64(a.Port()), EniIp: a.Addr().String()})
	}
	return p.change(ctx, t, ActionBatchDeregisterTargets, req)
}

// modifyWeight sets weights, in rules of at most 50 targets, and waits for the task.
func (p *Provider) modifyWeight(ctx context.Context, t targetID, backends []providers.Backend) error {
	req := BatchModifyTargetWeightRequest{LoadBalancerId: t.lb}
	for i := 0; i < len(backends); i += MaxWeightTargetsPerRule {
		r := RsWeightRule{ListenerId: t.listener, LocationId: t.location}
		for _, b := range backends[i:min(i+MaxWeightTargetsPerRule, len(backends))] {
			w := int64(b.Weight)
			r.Targets = append(r.Targets, WeightTarget{Port: int64(b.Addr.Port()), EniIp: b.Addr.Addr().String(), Weight: &w})
		}
		req.ModifyList = append(req.ModifyList, r)
	}
	return p.change(ctx, t, ActionBatchModifyTargetWeight, req)
}

// change makes one asynchronous call and waits for its task; a listener
// that failed its part of a batch fails the call.
func (p *Provider) change(ctx context.Context, t targetID, action string, req any) error {
	var out BatchTargetsResponse
	if err := p.call(ctx, t.raw, action, req, &out); err != nil {
		return err
	}
	if len(out.FailListenerIdSet) > 0 {
		return fmt.Errorf("%s on %s: failed on listeners %v: %s", action, t.raw, out.FailListenerIdSet, out.Message)
	}
	return p.await(ctx, t, action, out.RequestId)
}

// await polls DescribeTaskStatus until the task ends or ctx does.
func (p *Provider) await(ctx context.Context, t targetID, action, task string) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return &providers.UnavailableError{Detail: fmt.Sprintf("%s on %s: task %s still running", action, t.raw, task), Err: ctx.Err()}
		case <-timer.C:
		}
		var st DescribeTaskStatusResponse
		if err := p.call(ctx, t.raw, ActionDescribeTaskStatus, DescribeTaskStatusRequest{TaskId: task}, &st); err != nil {
			return fmt.Errorf("%s on %s: task %s may still run: %w", action, t.raw, task, err)
		}
		switch st.Status {
		case TaskSucceeded:
			return nil
		case TaskFailed:
			return fmt.Errorf("%s on %s: task %s failed: %s", action, t.raw, task, st.Message)
		}
		timer.Reset(p.opts.TaskPollInterval)
	}
}

// lock serializes the provider's changes to one load balancer.
func (p *Provider) lock(lb string) func() {
	p.mu.Lock()
	m, ok := p.lbs[lb]
	if !ok {
		m = &sync.Mutex{}
		p.lbs[lb] = m
	}
	p.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// call waits for the action's rate limiter, calls it, and types its error.
func (p *Provider) call(ctx context.Context, target, action string, req, resp any) error {
	p.mu.Lock()
	l, ok := p.limiters[action]
	if !ok {
		l = rate.NewLimiter(rate.Limit(p.opts.RequestsPerSecond), 1)
		p.limiters[action] = l
	}
	p.mu.Unlock()
	if err := l.Wait(ctx); err != nil {
		return &providers.ThrottledError{RetryAfter: p.opts.RetryAfter, Detail: fmt.Sprintf("%s: no room under %g calls a second before the deadline", action, p.opts.RequestsPerSecond)}
	}
	err := p.client.Call(ctx, action, req, resp)
	if err == nil {
		return nil
	}
	return p.typed(target, action, err)
}

// typed maps an API or transport error onto the providers' typed errors.
func (p *Provider) typed(target, action string, err error) error {
	code := ErrorCode(err)
	detail := fmt.Sprintf("%s: %v", action, err)
	switch {
	case code == ErrRequestLimitExceeded:
		return &providers.ThrottledError{RetryAfter: p.opts.RetryAfter, Detail: detail}
	case code == ErrResourceInOperating:
		return &providers.ThrottledError{RetryAfter: p.opts.RetryAfter, Detail: detail + " (another task runs on the load balancer)"}
	case code == ErrLimitExceeded:
		p.mu.Lock()
		limit := p.quota
		p.mu.Unlock()
		return &providers.QuotaError{Target: target, Limit: limit, Detail: detail}
	case notFoundCode(code):
		return &providers.NotFoundError{Target: target, Detail: detail}
	case permissionCode(code):
		return &providers.PermissionError{Detail: detail}
	case unavailableCode(code):
		cause := err
		if code != "" {
			cause = errors.Unwrap(err)
		}
		return &providers.UnavailableError{Detail: detail, Err: cause}
	}
	return fmt.Errorf("%s: %w", action, err)
}

// notFoundCode: the load balancer, listener or rule does not exist.
func notFoundCode(code string) bool {
	return code == ErrLBIdNotFound || code == ErrListenerIdNotFound || code == ErrLocationNotFound
}

// permissionCode: the key is refused, unknown or cannot be used.
func permissionCode(code string) bool {
	return strings.HasPrefix(code, "AuthFailure") || strings.HasPrefix(code, ErrUnauthorized) || code == ErrCredential
}

// unavailableCode: transport failures, and answers that are not the API's
// JSON (a gateway's error page: the SDK reads the body before the status).
// The empty code is an error that is not the API's.
func unavailableCode(code string) bool {
	return code == ErrInternal || strings.HasPrefix(code, "ClientError.NetworkError") || code == "ClientError.HttpStatusCodeError" ||
		code == "ClientError.IOError" || code == "ClientError.ParseJsonError" || code == ""
}

// reachable refuses GlobalRouter backends the load balancer cannot reach.
// In ENI mode a pod IP is a VPC address and the CLB binds it as EniIp. In
// GlobalRouter mode the pod IP comes from the cluster's container range,
// which the CLB reaches only where that range is routed to the VPC (over
// CCN); Options.GlobalRouterCIDRs declares those ranges, and an address
// outside them, or any address when none are declared, is refused before
// anything is bound.
func (p *Provider) reachable(target string, mode providers.NetworkMode, backends []providers.Backend) error {
	if mode != providers.ModeGlobalRouter {
		return nil
	}
	var out []netip.AddrPort
	for _, b := range backends {
		if !slices.ContainsFunc(p.opts.GlobalRouterCIDRs, func(c netip.Prefix) bool { return c.Contains(b.Addr.Addr()) }) {
			out = append(out, b.Addr)
		}
	}
	if len(out) == 0 {
		return nil
	}
	detail := "no container range is declared routable from the VPC: set --global-router-cidrs to the ranges routed to the CLB's VPC (over CCN)"
	if len(p.opts.GlobalRouterCIDRs) > 0 {
		detail = fmt.Sprintf("outside the ranges routed to the CLB's VPC, --global-router-cidrs=%s", prefixList(p.opts.GlobalRouterCIDRs))
	}
	return &providers.UnreachableError{Target: target, Mode: mode, Addrs: out, Detail: detail}
}

func prefixList(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// addrsOf returns the addresses of backends.
func addrsOf(bs []providers.Backend) []netip.AddrPort {
	out := make([]netip.AddrPort, len(bs))
	for i, b := range bs {
		out[i] = b.Addr
	}
	return out
}
