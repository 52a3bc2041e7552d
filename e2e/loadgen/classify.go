package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
)

// Kind is the class of a failed request.
type Kind string

// The kinds of failure, in the order reports list them.
const (
	// KindConnect means the TCP connection could not be opened (refused,
	// unreachable, or the dial itself failed).
	KindConnect Kind = "connect"
	// KindReset means the connection was reset or closed (EOF) before a whole
	// response arrived.
	KindReset Kind = "reset"
	// KindTimeout means no whole response within Options.Timeout.
	KindTimeout Kind = "timeout"
	// KindHTTP5xx means a response with a 5xx status (HAProxy answers 503 when no
	// server is available).
	KindHTTP5xx Kind = "http-5xx"
	// KindStatus means a response with a status that is neither 2xx nor 5xx
	// (redirects are not followed, so 3xx lands here).
	KindStatus Kind = "http-status"
	// KindOverload means the request was due while MaxInFlight requests were
	// outstanding, so it was not sent.
	KindOverload Kind = "overload"
	// KindOther means any other error.
	KindOther Kind = "other"
)

// Kinds lists every Kind in report order.
var Kinds = []Kind{KindConnect, KindReset, KindTimeout, KindHTTP5xx, KindStatus, KindOverload, KindOther}

// classify maps a transport or body-read error to a failure kind and a short
// detail (the error without the `Get "url":` prefix).
func classify(err error) (Kind, string) {
	detail := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		detail = ue.Err.Error()
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return KindConnect, detail
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return KindTimeout, detail
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return KindReset, detail
	}
	// net/http does not wrap every "connection closed" case in a sentinel.
	for _, s := range []string{"connection reset", "broken pipe", "server closed", "EOF", "connection was forcibly closed"} {
		if strings.Contains(detail, s) {
			return KindReset, detail
		}
	}
	return KindOther, detail
}

// statusKind maps a non-2xx status code to a failure kind.
func statusKind(code int) Kind {
	if code >= 500 && code <= 599 {
		return KindHTTP5xx
	}
	return KindStatus
}

// statusDetail renders a failed response: status line and the start of its
// body on one line.
func statusDetail(status string, body []byte) string {
	snippet := strings.Join(strings.Fields(string(body)), " ")
	if len(snippet) > 80 {
		snippet = snippet[:80] + "..."
	}
	if snippet == "" {
		return fmt.Sprintf("HTTP %s", status)
	}
	return fmt.Sprintf("HTTP %s: %s", status, snippet)
}
