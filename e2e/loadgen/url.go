package loadgen

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// loopback is the only network the generator sends to.
var loopback = netip.MustParsePrefix("127.0.0.0/8")

// CheckURL parses raw and returns it if it is an http URL whose host is a
// literal 127.0.0.0/8 address or "localhost"; any other URL is refused with an
// error. Start calls it before sending anything.
func CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("loadgen: bad URL %q: %w", raw, err)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("loadgen: refusing URL %q: scheme must be http", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("loadgen: refusing URL %q: user info is not allowed", raw)
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return u, nil
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !loopback.Contains(addr.Unmap()) {
		return nil, fmt.Errorf("loadgen: refusing URL %q: host %q is not a 127.0.0.0/8 address or localhost", raw, host)
	}
	return u, nil
}

// guardDial is a net.Dialer Control function: it refuses to connect to any
// address outside 127.0.0.0/8 or ::1, so a "localhost" that resolves
// elsewhere cannot send traffic off the machine.
func guardDial(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("loadgen: refusing to dial %q: %w", address, err)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("loadgen: refusing to dial %q: %w", address, err)
	}
	addr = addr.Unmap()
	if !loopback.Contains(addr) && addr != netip.IPv6Loopback() {
		return fmt.Errorf("loadgen: refusing to dial non-loopback address %s", address)
	}
	return nil
}
