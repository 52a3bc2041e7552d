package haproxy

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lbgate/lbgate/providers"
)

// DefaultWatchInterval is how often WatchStateLoss asks HAProxy who it is
// (`show info`: process id and uptime) while it answers.
const DefaultWatchInterval = time.Second

// watchRetryInterval is how often WatchStateLoss tries again while HAProxy
// does not answer, so that a restarted HAProxy is noticed as soon as it
// accepts connections.
const watchRetryInterval = 100 * time.Millisecond

var _ providers.StateLossWatcher = (*Provider)(nil)

// process is who answers on the Runtime API: HAProxy's process id, how long
// it has run, and its backends.
type process struct {
	Pid      int
	Uptime   time.Duration
	Backends []string
}

// WatchStateLoss notices HAProxy restarts and reloads, after which every
// server added at run time is gone and template slots are back in
// maintenance (unless a server-state-file carried them across). It reads
// `show info` and `show backend` in one round trip every
// Options.WatchInterval for the whole provider, and calls lost with every
// backend when the process id changed, the uptime went back, or HAProxy
// answers again after it did not. It returns when ctx ends.
func (p *Provider) WatchStateLoss(ctx context.Context, lost func(targets []string)) {
	interval := p.opts.WatchInterval
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	var last *process
	unreachable := false
	for {
		wait := interval
		cur, err := p.whoIs(ctx, interval)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			unreachable, wait = true, watchRetryInterval
		default:
			if unreachable || replaced(last, cur) {
				lost(cur.Backends)
			}
			last, unreachable = &cur, false
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// replaced reports whether cur is another HAProxy process than prev: a new
// process id (a reload, or a restart outside a container), or the same id
// with a shorter uptime (a restart inside a container, where the id repeats).
func replaced(prev *process, cur process) bool {
	return prev != nil && (cur.Pid != prev.Pid || cur.Uptime < prev.Uptime)
}

// whoIs reads the process identity and backend names in one round trip,
// bounded by timeout.
func (p *Provider) whoIs(ctx context.Context, timeout time.Duration) (process, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	reply, err := p.client.Run(ctx, "show info", "show backend")
	if err != nil {
		return process{}, err
	}
	for _, r := range reply.Responses {
		if err := r.Err(); err != nil {
			return process{}, err
		}
	}
	proc, err := parseInfo(reply.Responses[0].Text)
	if err != nil {
		return process{}, err
	}
	proc.Backends = parseBackends(reply.Responses[1].Text)
	return proc, nil
}

// parseInfo reads Pid and Uptime_sec from `show info`.
func parseInfo(text string) (process, error) {
	var proc process
	var havePid, haveUptime bool
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(value))
		switch key {
		case "Pid":
			proc.Pid, havePid = n, err == nil
		case "Uptime_sec":
			proc.Uptime, haveUptime = time.Duration(n)*time.Second, err == nil
		}
	}
	if !havePid || !haveUptime {
		return process{}, fmt.Errorf("haproxy: `show info` has no Pid or Uptime_sec: %q", text)
	}
	return proc, nil
}

// parseBackends reads the names `show backend` lists after its "# name" header.
func parseBackends(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}
