package clbsim

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/lbgate/lbgate/providers/tencent"
)

// where finds the rule a target binds on: the listener's one rule on
// layer 4 (no LocationId allowed), the named rule on layer 7 (LocationId
// required).
func (s *Server) where(lb *loadBalancer, listenerID, location string) (*rule, *apiError) {
	l, ok := lb.listeners[listenerID]
	if !ok {
		return nil, errorf(tencent.ErrListenerIdNotFound, "listener %s is not on load balancer %s", listenerID, lb.id)
	}
	if !l.layer7 {
		if location != "" {
			return nil, errorf(tencent.ErrLocationNotFound, "listener %s is layer 4 (%s) and has no rule %s", listenerID, l.protocol, location)
		}
		return l.rules[""], nil
	}
	if location == "" {
		return nil, errorf(tencent.ErrInvalidParameter, "listener %s is layer 7 (%s): LocationId is required", listenerID, l.protocol)
	}
	r, ok := l.rules[location]
	if !ok {
		return nil, errorf(tencent.ErrLocationNotFound, "rule %s is not on listener %s", location, listenerID)
	}
	return r, nil
}

// changeable finds a load balancer that has no task running, as every
// change needs.
func (s *Server) changeable(id string) (*loadBalancer, *apiError) {
	lb, ok := s.lbs[id]
	if !ok {
		return nil, errorf(tencent.ErrLBIdNotFound, "load balancer %q does not exist", id)
	}
	if lb.running != nil {
		return nil, errorf(tencent.ErrResourceInOperating, "load balancer %s is running task %s", id, lb.running.id)
	}
	return lb, nil
}

func key(ip string, port int64) string { return net.JoinHostPort(ip, strconv.FormatInt(port, 10)) }

// checkTarget validates one target's address and weight.
func checkTarget(ip string, port int64, weight *int64) *apiError {
	if _, err := netip.ParseAddr(ip); err != nil {
		return errorf(tencent.ErrInvalidValue, "EniIp %q is not an IP address", ip)
	}
	if port < 1 || port > 65535 {
		return errorf("InvalidParameter.PortCheckFailed", "Port %d is out of 1-65535", port)
	}
	if weight != nil && (*weight < 0 || *weight > 100) {
		return errorf(tencent.ErrInvalidValue, "Weight %d is out of 0-100", *weight)
	}
	return nil
}

// batchTargets binds (register) or unbinds targets. The whole call is
// refused when it is malformed, names a listener or rule that does not
// exist, would pass the quota, or the load balancer is busy; otherwise
// each listener's part succeeds or fails on its own (binding a target
// that is bound already, unbinding one that is not), failed listeners in
// FailListenerIdSet, and the rest runs as one task.
func (s *Server) batchTargets(register bool, req tencent.BatchTargetsRequest, reqID string) (any, *apiError) {
	if len(req.Targets) == 0 {
		return nil, errorf("MissingParameter", "Targets is empty")
	}
	if len(req.Targets) > tencent.MaxBatchTargets {
		return nil, errorf(tencent.ErrInvalidValueLength, "%d Targets, at most %d a call", len(req.Targets), tencent.MaxBatchTargets)
	}
	lb, e := s.changeable(req.LoadBalancerId)
	if e != nil {
		return nil, e
	}
	items, e := s.batchItems(lb, register, req.Targets)
	if e != nil {
		return nil, e
	}
	failed := s.failedListeners(items, register)
	var ok []batchItem
	for _, it := range items {
		if !failed[it.t.ListenerId] {
			ok = append(ok, it)
		}
	}
	s.startTask(lb, reqID, func() { s.applyBatch(register, ok) })
	return batchResponse(register, failed), nil
}

// batchItem is one target of a batch call with the rule it is on.
type batchItem struct {
	r *rule
	t tencent.BatchTarget
}

// batchItems checks each target of a batch call (well-formed, on a
// listener or rule that exists, not twice) and, for register, that the
// rules' quota holds once they are bound.
func (s *Server) batchItems(lb *loadBalancer, register bool, targets []tencent.BatchTarget) ([]batchItem, *apiError) {
	var items []batchItem
	seen := map[string]bool{}
	adds := map[*rule]int{}
	for _, t := range targets {
		if e := checkTarget(t.EniIp, t.Port, t.Weight); e != nil {
			return nil, e
		}
		r, e := s.where(lb, t.ListenerId, t.LocationId)
		if e != nil {
			return nil, e
		}
		k := t.ListenerId + "/" + t.LocationId + "/" + key(t.EniIp, t.Port)
		if seen[k] {
			return nil, errorf(tencent.ErrDuplicate, "target %s is twice in Targets", key(t.EniIp, t.Port))
		}
		seen[k] = true
		items = append(items, batchItem{r, t})
		if _, bound := r.targets[key(t.EniIp, t.Port)]; register && !bound {
			adds[r]++
		}
	}
	for r, n := range adds {
		if len(r.targets)+n > s.cfg.TargetBindQuota {
			return nil, errorf(tencent.ErrLimitExceeded, "%d targets would be bound on one rule, TOTAL_TARGET_BIND_QUOTA is %d", len(r.targets)+n, s.cfg.TargetBindQuota)
		}
	}
	return items, nil
}

// failedListeners are the listeners whose part of the call fails: one of
// their targets is bound already (register) or not bound (unbind), or a
// test asked for it (failPart, used up here).
func (s *Server) failedListeners(items []batchItem, register bool) map[string]bool {
	failed := map[string]bool{}
	for _, it := range items {
		if s.failPart[it.t.ListenerId] {
			failed[it.t.ListenerId] = true
		}
		_, bound := it.r.targets[key(it.t.EniIp, it.t.Port)]
		if bound == register {
			failed[it.t.ListenerId] = true
		}
	}
	s.failPart = nil
	return failed
}

// applyBatch binds (register) or unbinds the items: the task's effect.
func (s *Server) applyBatch(register bool, items []batchItem) {
	for _, it := range items {
		k := key(it.t.EniIp, it.t.Port)
		if !register {
			if t, bound := it.r.targets[k]; bound {
				close(t.stop)
				delete(it.r.targets, k)
			}
			continue
		}
		w := int64(10)
		if it.t.Weight != nil {
			w = *it.t.Weight
		}
		t := &target{ip: it.t.EniIp, port: it.t.Port, weight: w, detail: tencent.HealthUnknown, stop: make(chan struct{})}
		it.r.targets[k] = t
		s.probe(it.r.check, t)
	}
}

// batchResponse is the answer to a batch call whose failed listeners are failed.
func batchResponse(register bool, failed map[string]bool) tencent.BatchTargetsResponse {
	resp := tencent.BatchTargetsResponse{FailListenerIdSet: []string{}}
	for id := range failed {
		resp.FailListenerIdSet = append(resp.FailListenerIdSet, id)
	}
	if len(failed) > 0 {
		if register {
			resp.Message = "a target is bound already on the failed listeners"
		} else {
			resp.Message = "a target is not bound on the failed listeners"
		}
	}
	return resp
}

// modifyWeight changes the weight of bound targets: at most 100 rules, 50
// targets a rule, 500 in all; a target that is not bound fails the call.
func (s *Server) modifyWeight(req tencent.BatchModifyTargetWeightRequest, reqID string) (any, *apiError) {
	if len(req.ModifyList) == 0 {
		return nil, errorf("MissingParameter", "ModifyList is empty")
	}
	if len(req.ModifyList) > tencent.MaxWeightRules {
		return nil, errorf(tencent.ErrInvalidValueLength, "%d rules in ModifyList, at most %d", len(req.ModifyList), tencent.MaxWeightRules)
	}
	lb, e := s.changeable(req.LoadBalancerId)
	if e != nil {
		return nil, e
	}
	total := 0
	type change struct {
		t *target
		w int64
	}
	var changes []change
	for _, m := range req.ModifyList {
		if len(m.Targets) > tencent.MaxWeightTargetsPerRule {
			return nil, errorf(tencent.ErrInvalidValueLength, "%d Targets in one rule of ModifyList, at most %d", len(m.Targets), tencent.MaxWeightTargetsPerRule)
		}
		total += len(m.Targets)
		r, e := s.where(lb, m.ListenerId, m.LocationId)
		if e != nil {
			return nil, e
		}
		for _, t := range m.Targets {
			w := t.Weight
			if w == nil {
				w = m.Weight
			}
			if w == nil {
				return nil, errorf("MissingParameter", "no Weight for target %s", key(t.EniIp, t.Port))
			}
			if e := checkTarget(t.EniIp, t.Port, w); e != nil {
				return nil, e
			}
			bound, ok := r.targets[key(t.EniIp, t.Port)]
			if !ok {
				return nil, errorf(tencent.ErrInvalidParameter, "target %s is not bound on listener %s", key(t.EniIp, t.Port), m.ListenerId)
			}
			changes = append(changes, change{bound, *w})
		}
	}
	if total > tencent.MaxBatchTargets {
		return nil, errorf(tencent.ErrInvalidValueLength, "%d targets in ModifyList, at most %d", total, tencent.MaxBatchTargets)
	}
	s.startTask(lb, reqID, func() {
		for _, c := range changes {
			c.t.weight = c.w
		}
	})
	return tencent.TaskResponse{}, nil
}

// startTask runs a change as the load balancer's task, its id the call's
// RequestId: live at once without a TaskDuration, else after it, with the
// load balancer busy meanwhile. A task made to fail applies nothing.
// Called with s.mu held.
func (s *Server) startTask(lb *loadBalancer, id string, apply func()) {
	t := &task{id: id, lb: lb.id, status: tencent.TaskRunning}
	s.tasks[id] = t
	fail := s.failTask > 0
	if fail {
		s.failTask--
	}
	finish := func() {
		if fail {
			t.status, t.msg = tencent.TaskFailed, "the task failed (injected)"
		} else {
			apply()
			t.status = tencent.TaskSucceeded
		}
		lb.running = nil
	}
	if s.cfg.TaskDuration <= 0 {
		finish()
		return
	}
	lb.running = t
	time.AfterFunc(s.cfg.TaskDuration, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		finish()
	})
}

// describeHealth reports the targets of the load balancers asked, narrowed
// to the listeners and rules asked; a layer-4 listener reports its targets
// under one rule with no LocationId.
func (s *Server) describeHealth(req tencent.DescribeTargetHealthRequest) (any, *apiError) {
	if len(req.LoadBalancerIds) == 0 {
		return nil, errorf("MissingParameter", "LoadBalancerIds is empty")
	}
	if len(req.LoadBalancerIds) > 30 {
		return nil, errorf(tencent.ErrInvalidValueLength, "%d LoadBalancerIds, at most 30", len(req.LoadBalancerIds))
	}
	listeners, locations := idSet(req.ListenerIds), idSet(req.LocationIds)
	var out tencent.DescribeTargetHealthResponse
	found := map[string]bool{}
	for _, id := range req.LoadBalancerIds {
		lb, ok := s.lbs[id]
		if !ok {
			return nil, errorf(tencent.ErrLBIdNotFound, "load balancer %q does not exist", id)
		}
		lh := tencent.LoadBalancerHealth{LoadBalancerId: id, Listeners: []tencent.ListenerHealth{}}
		for lid, l := range lb.listeners {
			if listeners != nil && !listeners[lid] {
				continue
			}
			found[lid] = true
			lh.Listeners = append(lh.Listeners, listenerHealth(lid, l, locations, found))
		}
		out.LoadBalancers = append(out.LoadBalancers, lh)
	}
	for _, id := range req.ListenerIds {
		if !found[id] {
			return nil, errorf(tencent.ErrListenerIdNotFound, "listener %q does not exist", id)
		}
	}
	for _, id := range req.LocationIds {
		if !found[id] {
			return nil, errorf(tencent.ErrLocationNotFound, "rule %q does not exist", id)
		}
	}
	return out, nil
}

// idSet is the set of ids, or nil (no narrowing) when there are none.
func idSet(ids []string) map[string]bool {
	if len(ids) == 0 {
		return nil
	}
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// listenerHealth reports the targets of listener l, on a layer-7 listener
// only under the rules in locations (all when nil); it marks the rules
// reported in found.
func listenerHealth(lid string, l *listener, locations, found map[string]bool) tencent.ListenerHealth {
	ls := tencent.ListenerHealth{ListenerId: lid, Protocol: l.protocol, Rules: []tencent.RuleHealth{}}
	for rid, r := range l.rules {
		if locations != nil && l.layer7 && !locations[rid] {
			continue
		}
		found[rid] = true
		rh := tencent.RuleHealth{LocationId: rid, Targets: []tencent.TargetHealth{}}
		for _, t := range r.targets {
			rh.Targets = append(rh.Targets, tencent.TargetHealth{IP: t.ip, Port: t.port, Weight: t.weight,
				HealthStatus: t.detail == tencent.HealthAlive, HealthStatusDetail: t.detail})
		}
		ls.Rules = append(ls.Rules, rh)
	}
	return ls
}

// probe runs a target's health check until it is unbound: at once, then
// every interval; Healthy passes in a row make it Alive, Unhealthy
// failures in a row Dead, Unknown until one of them. With the check off it
// is Close. Called with s.mu held.
func (s *Server) probe(c HealthCheck, t *target) {
	if c.Off {
		t.detail = tencent.HealthClose
		return
	}
	if s.closed {
		return
	}
	addr := key(t.ip, t.port)
	client := &http.Client{Timeout: c.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	check := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
		defer cancel()
		if !c.HTTP {
			conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			if err != nil {
				return false
			}
			_ = conn.Close()
			return true
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+c.Path, nil)
		if err != nil {
			return false
		}
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode >= 200 && resp.StatusCode < 400
	}
	go func() {
		tick := time.NewTicker(c.Interval)
		defer tick.Stop()
		for {
			passed := check()
			s.mu.Lock()
			select {
			case <-t.stop:
				s.mu.Unlock()
				return
			default:
			}
			if passed {
				t.ok, t.fail = t.ok+1, 0
				if t.ok >= c.Healthy {
					t.detail = tencent.HealthAlive
				}
			} else {
				t.ok, t.fail = 0, t.fail+1
				if t.fail >= c.Unhealthy {
					t.detail = tencent.HealthDead
				}
			}
			s.mu.Unlock()
			select {
			case <-t.stop:
				return
			case <-tick.C:
			}
		}
	}()
}

// describeListeners reports a load balancer's listeners, all or those
// asked (an id that does not exist is left out), with their health
// checks: a layer-4 listener's own, each layer-7 rule's. Times are whole
// seconds, as the API reports them.
func (s *Server) describeListeners(req tencent.DescribeListenersRequest) (any, *apiError) {
	lb, ok := s.lbs[req.LoadBalancerId]
	if !ok {
		return nil, errorf(tencent.ErrLBIdNotFound, "load balancer %q does not exist", req.LoadBalancerId)
	}
	want := map[string]bool{}
	for _, id := range req.ListenerIds {
		want[id] = true
	}
	out := tencent.DescribeListenersResponse{Listeners: []tencent.Listener{}}
	for id, l := range lb.listeners {
		if len(want) > 0 && !want[id] {
			continue
		}
		lo := tencent.Listener{ListenerId: id, Protocol: l.protocol}
		if !l.layer7 {
			lo.HealthCheck = reported(l.check)
		}
		for rid, r := range l.rules {
			if l.layer7 {
				lo.Rules = append(lo.Rules, tencent.RuleOutput{LocationId: rid, HealthCheck: reported(r.check)})
			}
		}
		out.Listeners = append(out.Listeners, lo)
	}
	out.TotalCount = int64(len(out.Listeners))
	return out, nil
}

// reported renders a health check as DescribeListeners does.
func reported(c HealthCheck) *tencent.HealthCheck {
	h := &tencent.HealthCheck{HealthSwitch: 1, TimeOut: int64(c.Timeout / time.Second), IntervalTime: int64(c.Interval / time.Second),
		HealthNum: int64(c.Healthy), UnHealthNum: int64(c.Unhealthy), CheckType: "TCP"}
	if c.Off {
		h.HealthSwitch = 0
	}
	if c.HTTP {
		h.CheckType, h.HttpCheckPath = "HTTP", c.Path
	}
	return h
}
