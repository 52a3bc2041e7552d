package providers

import (
	"context"
	"net/netip"
)

// ForceDeregisterer is implemented by a provider whose Deregister leaves a
// backend that still holds connections draining (List reports it
// Draining) until a later Deregister finds it idle, as the HAProxy provider
// does. ForceDeregister removes such backends at once and closes their
// connections; a caller uses it once the deregistration delay is over.
type ForceDeregisterer interface {
	ForceDeregister(ctx context.Context, target string, addrs []netip.AddrPort) error
}

// ForceDeregistererOf returns the ForceDeregisterer of p or of a provider p
// wraps, or false when there is none.
func ForceDeregistererOf(p Provider) (ForceDeregisterer, bool) { return find[ForceDeregisterer](p) }
