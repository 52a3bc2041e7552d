package nodesim

import (
	"errors"
	"net/netip"
	"testing"
)

func TestValidateRange(t *testing.T) {
	cases := []struct {
		prefix string
		ok     bool
	}{
		{"127.100.0.0/16", true},
		{"127.0.0.0/8", true},
		{"127.9.9.0/30", true},
		{"10.0.0.0/8", false},
		{"0.0.0.0/0", false},
		{"127.9.9.0/31", false},
		{"127.9.9.1/24", false},
		{"::1/128", false},
	}
	for _, tc := range cases {
		if err := validateRange(netip.MustParsePrefix(tc.prefix)); (err == nil) != tc.ok {
			t.Errorf("validateRange(%s) = %v, want ok=%v", tc.prefix, err, tc.ok)
		}
	}
}

// TestIPAMUnique checks that addresses are unique, skip the network and
// broadcast address and 127.0.0.1, and that a full range is an error.
func TestIPAMUnique(t *testing.T) {
	m := newIPAM()
	p := netip.MustParsePrefix("127.0.0.0/29") // .1 reserved, .0 and .7 network/broadcast
	seen := map[netip.Addr]bool{}
	for range 5 {
		a, err := m.allocate([]netip.Prefix{p}, "pod", nil)
		if err != nil {
			t.Fatal(err)
		}
		if seen[a] || a == p.Addr() || a == reservedLoopback || a == netip.MustParseAddr("127.0.0.7") {
			t.Fatalf("bad or repeated address %s", a)
		}
		seen[a] = true
	}
	if _, err := m.allocate([]netip.Prefix{p}, "pod", nil); !errors.Is(err, errRangesExhausted) {
		t.Fatalf("full range: got %v", err)
	}
}

// TestIPAMNeverReusesInUse checks that a released address comes back only
// after the others were handed out, and an address in use never does.
func TestIPAMNeverReusesInUse(t *testing.T) {
	m := newIPAM()
	p := []netip.Prefix{netip.MustParsePrefix("127.5.0.0/30")} // hosts .1 and .2
	a, _ := m.allocate(p, "a", nil)
	b, _ := m.allocate(p, "b", nil)
	if a == b {
		t.Fatal("same address twice")
	}
	m.release(a)
	c, err := m.allocate(p, "c", nil)
	if err != nil || c != a {
		t.Fatalf("the released address is the only free one: got %s, %v", c, err)
	}
	if o, _ := m.owner(b); o != "b" {
		t.Fatalf("owner of %s = %q", b, o)
	}
}

// TestIPAMRangesInOrderAndVeto checks that ranges are tried in order and
// that a vetoed address (something listens on it) is skipped.
func TestIPAMRangesInOrderAndVeto(t *testing.T) {
	m := newIPAM()
	first, second := netip.MustParsePrefix("127.6.0.0/30"), netip.MustParsePrefix("127.7.0.0/30")
	busy := netip.MustParseAddr("127.6.0.1")
	a, err := m.allocate([]netip.Prefix{first, second}, "a", func(x netip.Addr) bool { return x != busy })
	if err != nil || a != netip.MustParseAddr("127.6.0.2") {
		t.Fatalf("got %s, %v", a, err)
	}
	b, err := m.allocate([]netip.Prefix{first, second}, "b", func(x netip.Addr) bool { return x != busy })
	if err != nil || !second.Contains(b) {
		t.Fatalf("first range full (one vetoed): want the second range, got %s, %v", b, err)
	}
}

func TestIPAMReserve(t *testing.T) {
	m := newIPAM()
	a := netip.MustParseAddr("127.8.0.9")
	if err := m.reserve(a, "x"); err != nil {
		t.Fatal(err)
	}
	if err := m.reserve(a, "x"); err != nil {
		t.Fatalf("the same owner again: %v", err)
	}
	if err := m.reserve(a, "y"); err == nil {
		t.Fatal("another owner must be refused")
	}
	p := []netip.Prefix{netip.MustParsePrefix("127.8.0.8/30")} // hosts .9 and .10
	if b, err := m.allocate(p, "z", nil); err != nil || b != netip.MustParseAddr("127.8.0.10") {
		t.Fatalf("the reserved address must be skipped: got %s, %v", b, err)
	}
	if _, err := m.allocate(p, "z", nil); !errors.Is(err, errRangesExhausted) {
		t.Fatalf("both hosts taken: got %v", err)
	}
}

// A CNI may hand a freed address straight back (and a fixed-IP StatefulSet
// in ENI mode always does): allocateLast gives an owner its last address
// when it is free, and never one that is in use.
func TestIPAMAllocateLast(t *testing.T) {
	m := newIPAM()
	r := []netip.Prefix{netip.MustParsePrefix("127.0.9.0/29")}
	a, err := m.allocate(r, "ns/web-0", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.allocateLast(r, "ns/web-0", nil); ok {
		t.Fatalf("allocateLast handed out %s while it is in use", a)
	}
	m.release(a)
	got, ok := m.allocateLast(r, "ns/web-0", nil)
	if !ok || got != a {
		t.Fatalf("allocateLast = %s, %v; want %s, true", got, ok, a)
	}
	m.release(got)
	if _, ok := m.allocateLast(r, "ns/web-1", nil); ok {
		t.Fatalf("allocateLast handed an address to an owner that never held one")
	}
	if _, ok := m.allocateLast(r, "ns/web-0", func(netip.Addr) bool { return false }); ok {
		t.Fatalf("allocateLast ignored the veto")
	}
}
