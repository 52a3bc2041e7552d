package providers

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// NotFoundError says a target does not exist on the load balancer.
type NotFoundError struct {
	Target string
	Detail string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("target %q not found: %s", e.Target, e.Detail)
}

// ThrottledError says the load balancer refused the call for now; retry after RetryAfter.
type ThrottledError struct {
	RetryAfter time.Duration
	Detail     string
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("throttled, retry after %s: %s", e.RetryAfter, e.Detail)
}

// QuotaError says a call would exceed the target's backend or batch limit.
type QuotaError struct {
	Target string
	Limit  int
	Want   int
	Detail string
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("target %q quota exceeded: want %d, limit %d: %s", e.Target, e.Want, e.Limit, e.Detail)
}

// UnavailableError says the load balancer could not be reached or did not answer in time.
type UnavailableError struct {
	Detail string
	Err    error
}

func (e *UnavailableError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("load balancer unavailable: %s: %v", e.Detail, e.Err)
	}
	return "load balancer unavailable: " + e.Detail
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// UnreachableError says the load balancer cannot reach backend addresses
// in the target's network mode (a GlobalRouter pod IP outside the ranges
// routed to the load balancer's network): binding them would only make
// backends that never pass a check. Fix the configuration.
type UnreachableError struct {
	Target string
	Mode   NetworkMode
	Addrs  []netip.AddrPort
	Detail string
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("target %q cannot reach %d %s-mode backends (%s): %s", e.Target, len(e.Addrs), e.Mode, summarizeAddrs(e.Addrs), e.Detail)
}

// summarizeAddrs renders at most three addresses and a count of the rest.
func summarizeAddrs(addrs []netip.AddrPort) string {
	var b strings.Builder
	for i, a := range addrs {
		if i == 3 {
			fmt.Fprintf(&b, " and %d more", len(addrs)-3)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	return b.String()
}

// PermissionError says the provider's credentials do not allow the call.
type PermissionError struct {
	Detail string
}

func (e *PermissionError) Error() string { return "permission denied: " + e.Detail }

// IsNotFound reports whether err says a target does not exist.
func IsNotFound(err error) bool { var e *NotFoundError; return errors.As(err, &e) }

// IsThrottled reports whether err asks the caller to slow down.
func IsThrottled(err error) bool { var e *ThrottledError; return errors.As(err, &e) }

// IsQuota reports whether err says a limit would be exceeded.
func IsQuota(err error) bool { var e *QuotaError; return errors.As(err, &e) }

// IsUnavailable reports whether err says the load balancer could not be reached.
func IsUnavailable(err error) bool { var e *UnavailableError; return errors.As(err, &e) }

// IsPermission reports whether err says the call is not allowed.
func IsPermission(err error) bool { var e *PermissionError; return errors.As(err, &e) }

// IsUnreachable reports whether err is an *UnreachableError.
func IsUnreachable(err error) bool { var e *UnreachableError; return errors.As(err, &e) }

// RetryAfter returns how long to wait before retrying err, and whether err says so.
func RetryAfter(err error) (time.Duration, bool) {
	var e *ThrottledError
	if errors.As(err, &e) {
		return e.RetryAfter, true
	}
	return 0, false
}
