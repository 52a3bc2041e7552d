package haproxy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lbgate/lbgate/providers"
)

// typedError turns HAProxy's answer to a command into the provider's typed
// errors, with a message that says what to fix. Other errors pass unchanged.
func (p *Provider) typedError(target string, err error) error {
	var ce *CommandError
	if !errors.As(err, &ce) {
		return err
	}
	msg := ce.Message
	switch {
	case strings.Contains(msg, "Permission denied"):
		return &providers.PermissionError{Detail: fmt.Sprintf(
			"HAProxy runtime API %s refused %q: the socket must be at admin level (`stats socket <path> level admin` in haproxy.cfg)",
			p.client, ce.Command)}
	case strings.Contains(msg, "No such backend"), strings.Contains(msg, "Can't find backend"), strings.Contains(msg, "No such proxy"):
		return notFound(target)
	case strings.Contains(msg, "dynamic load balancing"):
		return &providers.QuotaError{Target: target, Detail: fmt.Sprintf(
			"HAProxy cannot add servers to backend %q (%s): use a dynamic balance algorithm (roundrobin, leastconn, random, first, or hash-type consistent) or configure more slots with `server-template %s 1-N 127.0.0.1:1 disabled check`",
			target, msg, p.opts.SlotPrefix)}
	case strings.Contains(msg, "No such server"):
		return fmt.Errorf("%w (the slot went away between reading and writing: did HAProxy restart? retry)", err)
	}
	return err
}

func notFound(target string) error {
	return &providers.NotFoundError{Target: target, Detail: fmt.Sprintf(
		"HAProxy has no backend %q: define it in haproxy.cfg (with a dynamic balance algorithm such as roundrobin and `option httpchk` for HTTP checks) and reload HAProxy",
		target)}
}

// validName reports whether s can be an HAProxy proxy or server name.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '-', r == '_', r == '.', r == ':':
		default:
			return false
		}
	}
	return true
}
