package stack

import (
	"context"
	"fmt"
	"time"

	"github.com/lbgate/lbgate/providers/haproxy"
)

// ServerState is one lbgate slot of an HAProxy backend that holds a pod.
type ServerState struct {
	Addr        string
	Status      string // UP, DOWN, DRAIN, MAINT...
	CheckStatus string // L7OK, L7STS, INI...
}

// Up reports whether HAProxy sends traffic to the server after a passed check.
func (s ServerState) Up() bool {
	return s.Status == "UP" && (s.CheckStatus == "L7OK" || s.CheckStatus == "L4OK")
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
		servers[r.Addr] = ServerState{Addr: r.Addr, Status: r.Status, CheckStatus: r.CheckStatus}
	}
	return servers, nil
}

// WaitServersUp waits until at least n servers of the backend are up.
func (s *Stack) WaitServersUp(ctx context.Context, backend string, n int, timeout time.Duration) error {
	return poll(ctx, timeout, func() (bool, string) {
		servers, err := s.Servers(backend)
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
