package stack

// LoadBalancer is what the stack reads of the load balancer an app is
// bound to: where its traffic enters, and its own view of the backends.
type LoadBalancer interface {
	// Frontend is the URL (http://host:port) traffic for target enters at.
	Frontend(target string) (string, error)
	// Servers is the load balancer's view of target's backends, keyed by ip:port.
	Servers(target string) (map[string]ServerState, error)
}

// lbOf is the load balancer of app a: its own, or the stack's HAProxy.
func (s *Stack) lbOf(a App) LoadBalancer {
	if a.LB != nil {
		return a.LB
	}
	return haproxyLB{s}
}
