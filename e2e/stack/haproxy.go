package stack

import (
	"context"
	"fmt"
	"time"

	"github.com/lbgate/lbgate/providers/haproxy"
)

// ServerState is one backend of a load balancer's target that holds a
// pod: for HAProxy a server of a backend, for a CLB a bound target.
type ServerState struct {
	Addr        string
	Status      string // HAProxy: UP, DOWN, DRAIN...; CLB: Alive, Dead, Unknown, Close
	CheckStatus string // HAProxy: L7OK, L7STS, INI...; CLB: the weight, "w=10"
	up          bool
}

// Up reports whether the load balancer sends the backend traffic after a passed check.
func (s ServerState) Up() bool { return s.up }

// haproxyLB is the stack's HAProxy as a LoadBalancer.
type haproxyLB struct{ s *Stack }

func (h haproxyLB) Frontend(backend string) (string, error) {
	return h.s.HAProxy.Frontend(backend), nil
}
func (h haproxyLB) Servers(backend string) (map[string]ServerState, error) {
	return h.s.Servers(backend)
}

// Servers reads HAProxy's view of a backend's servers (not parked in maintenance), keyed by address.
func (s *Stack) Servers(backend string) (map[string]ServerState, error) {
	out, err := s.HAProxy.Command("show stat")
	if err != nil {
		return nil, fmt.Errorf("show stat: %w", err)
	}
	rows, err := haproxy.ParseStat(out)
	if err != nil {
		return nil, err
	}
	servers := map[string]ServerState{}
	for _, r := range rows {
		if r.Proxy != backend || r.Type != haproxy.StatServer || r.Status == "MAINT" {
			continue
		}
		up := r.Status == "UP" && (r.CheckStatus == "L7OK" || r.CheckStatus == "L4OK")
		servers[r.Addr] = ServerState{Addr: r.Addr, Status: r.Status, CheckStatus: r.CheckStatus, up: up}
	}
	return servers, nil
}

// WaitServersUp waits until at least n servers of the HAProxy backend are up.
func (s *Stack) WaitServersUp(ctx context.Context, backend string, n int, timeout time.Duration) error {
	return waitUp(ctx, haproxyLB{s}, backend, n, timeout)
}

// waitUp waits until at least n backends of the target are up.
func waitUp(ctx context.Context, lb LoadBalancer, backend string, n int, timeout time.Duration) error {
	return poll(ctx, timeout, func() (bool, string) {
		servers, err := lb.Servers(backend)
		if err != nil {
			return false, err.Error()
		}
		up := 0
		for _, sv := range servers {
			if sv.Up() {
				up++
			}
		}
		return up >= n, fmt.Sprintf("%s: %d servers up, waiting for %d", backend, up, n)
	})
}
