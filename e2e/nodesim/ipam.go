package nodesim

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
)

// loopback is the only range pod addresses may come from: 127.0.0.0/8 routes
// to lo on Linux, so any address in it can be bound without setup.
var loopback = netip.MustParsePrefix("127.0.0.0/8")

// reservedLoopback is never handed out: other processes of a test (the
// apiserver, HAProxy) listen on it.
var reservedLoopback = netip.MustParseAddr("127.0.0.1")

// errRangesExhausted is returned when every usable address of the ranges is in use.
var errRangesExhausted = errors.New("no free address in the pod ranges")

// ipam hands out pod addresses from loopback ranges and never hands out an
// address that is still in use. Each range has its own cursor that moves on
// after every allocation, so a released address is reused as late as
// possible (a load balancer may still have it in its tables for a while).
type ipam struct {
	mu     sync.Mutex
	inUse  map[netip.Addr]string
	cursor map[netip.Prefix]netip.Addr
	last   map[string]netip.Addr // the last address each owner held
}

func newIPAM() *ipam {
	return &ipam{inUse: map[netip.Addr]string{}, cursor: map[netip.Prefix]netip.Addr{}, last: map[string]netip.Addr{}}
}

// allocateLast hands owner the address it held last, when that address is
// in ranges, free, and ok accepts it.
func (m *ipam) allocateLast(ranges []netip.Prefix, owner string, ok func(netip.Addr) bool) (netip.Addr, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, held := m.last[owner]
	if !held || !inRanges(a, ranges) {
		return netip.Addr{}, false
	}
	if _, taken := m.inUse[a]; taken || (ok != nil && !ok(a)) {
		return netip.Addr{}, false
	}
	m.inUse[a] = owner
	return a, true
}

// validateRange checks that p is an IPv4 range inside 127.0.0.0/8 with room for addresses.
func validateRange(p netip.Prefix) error {
	switch {
	case !p.IsValid():
		return errors.New("invalid prefix")
	case !p.Addr().Is4() || p.Bits() < loopback.Bits() || !loopback.Contains(p.Addr()):
		return fmt.Errorf("%s is not inside %s", p, loopback)
	case p.Masked() != p:
		return fmt.Errorf("%s has host bits set (want %s)", p, p.Masked())
	case p.Bits() > 30:
		return fmt.Errorf("%s is too small: give at least a /30", p)
	}
	return nil
}

// usableAddr reports whether a is a host address of p that may be handed out:
// not the network or broadcast address, and not 127.0.0.1.
func usableAddr(p netip.Prefix, a netip.Addr) bool {
	if !p.Contains(a) || a == reservedLoopback || a == p.Addr() {
		return false
	}
	return a != lastAddr(p)
}

// lastAddr is the broadcast address of an IPv4 prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	hostBits := 32 - p.Bits()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= (uint32(1) << hostBits) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// allocate hands out a free address from the first range that has one, for
// owner. ok is asked about every candidate before it is taken (the simulator
// checks that nothing else listens on it); a candidate it refuses is skipped.
func (m *ipam) allocate(ranges []netip.Prefix, owner string, ok func(netip.Addr) bool) (netip.Addr, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range ranges {
		start, found := m.cursor[p]
		if !found || !p.Contains(start) {
			start = p.Addr().Next()
		}
		a := start
		for {
			if usableAddr(p, a) {
				if _, taken := m.inUse[a]; !taken && (ok == nil || ok(a)) {
					m.inUse[a] = owner
					m.last[owner] = a
					m.cursor[p] = wrapNext(p, a)
					return a, nil
				}
			}
			a = wrapNext(p, a)
			if a == start {
				break
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("%w %v", errRangesExhausted, ranges)
}

// wrapNext is the address after a inside p, wrapping to the start of p.
func wrapNext(p netip.Prefix, a netip.Addr) netip.Addr {
	n := a.Next()
	if !n.IsValid() || !p.Contains(n) {
		return p.Addr()
	}
	return n
}

// reserve takes a specific address for owner, for a pod that already has it
// (the simulator restarted). It fails when someone else holds it.
func (m *ipam) reserve(a netip.Addr, owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, taken := m.inUse[a]; taken && cur != owner {
		return fmt.Errorf("address %s is in use by %s", a, cur)
	}
	m.inUse[a] = owner
	m.last[owner] = a
	return nil
}

// release gives an address back.
func (m *ipam) release(a netip.Addr) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.inUse, a)
}

// owner returns who holds an address.
func (m *ipam) owner(a netip.Addr) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.inUse[a]
	return o, ok
}

// snapshot copies the table of addresses in use.
func (m *ipam) snapshot() map[netip.Addr]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[netip.Addr]string, len(m.inUse))
	for a, o := range m.inUse {
		out[a] = o
	}
	return out
}
