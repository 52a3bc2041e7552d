package haproxy

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"

	"github.com/lbgate/lbgate/providers"
)

// Defaults of Options.
const (
	// DefaultSlotPrefix names the provider's server slots: lbgate-1, lbgate-2-i2000r2f3...
	DefaultSlotPrefix = "lbgate-"
	// DefaultMaxBatch is how many backends one call takes: one Register is
	// two round trips (read, then one pipelined line of about five commands
	// per backend), and 500 backends fit in well under a second.
	DefaultMaxBatch = 500
	// DefaultCheckInterval, DefaultRise and DefaultFall are HAProxy's own
	// defaults for a server check; slots the provider adds get them unless
	// the target or Options say otherwise.
	DefaultCheckInterval = 2 * time.Second
	DefaultRise          = 2
	DefaultFall          = 3
)

// Options tune the provider; the zero value is usable.
type Options struct {
	// Timeout bounds one Runtime API round trip (default DefaultTimeout).
	Timeout time.Duration
	// SlotPrefix names the servers the provider owns in a backend (default
	// DefaultSlotPrefix). Servers with other names are never touched or listed.
	SlotPrefix string
	// MaxSlots caps the slots per backend, and so the backends a target holds;
	// 0 leaves only HAProxy's own limit (none for a dynamic balance algorithm,
	// the configured slots for a static one).
	MaxSlots int
	// MaxBatch is the most backends per call (default DefaultMaxBatch).
	MaxBatch int
	// WatchInterval is how often WatchStateLoss reads HAProxy's process id
	// and uptime (default DefaultWatchInterval).
	WatchInterval time.Duration
	// HealthCheck holds the check interval and thresholds for slots the
	// provider adds when the target does not set them.
	HealthCheck providers.HealthCheck
	// TLS holds the client certificate, key and CA for a tls://host:port
	// Runtime API; required with tls://, refused with the other schemes.
	TLS *TLSFiles
	// Log receives the one warning the provider logs by itself: at the
	// first connection, when the Runtime API is plain TCP off loopback.
	Log logr.Logger
}

// Provider drives HAProxy backends over the Runtime API. A target id is an
// HAProxy backend name. See the package documentation for how slots work.
type Provider struct {
	client *Client
	opts   Options
	locks  targetLocks
	// cut, set by tests only, shortens every write pipeline as a cut
	// connection, a deadline or a reload would.
	cut func(cmds []string) []string
}

var _ providers.Provider = (*Provider)(nil)

// New returns a provider for the Runtime API at runtimeAPI
// (unix:///path/admin.sock, tls://host:port with Options.TLS, or
// tcp://127.0.0.1:9999). It does not connect, but reads the TLS files.
func New(runtimeAPI string, opts Options) (*Provider, error) {
	if opts.SlotPrefix == "" {
		opts.SlotPrefix = DefaultSlotPrefix
	}
	if !validName(opts.SlotPrefix) {
		return nil, fmt.Errorf("haproxy: slot prefix %q is not a valid server name", opts.SlotPrefix)
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.MaxSlots < 0 {
		return nil, fmt.Errorf("haproxy: MaxSlots %d is negative", opts.MaxSlots)
	}
	c, err := newClient(runtimeAPI, opts.Timeout, opts.TLS, opts.Log)
	if err != nil {
		return nil, err
	}
	return &Provider{client: c, opts: opts}, nil
}

// Name returns "haproxy".
func (p *Provider) Name() string { return "haproxy" }

// Limits reports the backend's slot capacity, the batch size, and which
// per-backend settings the backend's slots take (see capabilities). A
// backend with a dynamic balance algorithm grows its pool with `add
// server`, so only Options.MaxSlots limits it; one with a static algorithm
// (static-rr, or a map-based hash) cannot, holds as many backends as it has
// slots, and takes only weight 0 or each slot's configured weight.
func (p *Provider) Limits(ctx context.Context, target string) (providers.Limits, error) {
	v, err := p.snapshot(ctx, target, true)
	if err != nil {
		return providers.Limits{}, err
	}
	return p.limitsOf(v)
}

// limitsOf is Limits from a view read with the probe.
func (p *Provider) limitsOf(v *view) (providers.Limits, error) {
	l := providers.Limits{MaxBatch: p.opts.MaxBatch, MaxBackends: p.opts.MaxSlots, StaticWeight: !v.canGrow,
		Capabilities: p.capabilities(v)}
	if !v.canGrow {
		n := v.usableSlots()
		if n == 0 {
			return providers.Limits{}, v.quotaError(0, 1)
		}
		if l.MaxBackends == 0 || n < l.MaxBackends {
			l.MaxBackends = n
		}
	}
	return l, nil
}

// settings returns the settings for slots added for a target: the
// target's values, else Options.HealthCheck, else HAProxy's defaults;
// slowstart only from the target.
func (p *Provider) settings(t providers.Target) checkSettings {
	s := checkSettings{Interval: DefaultCheckInterval, Rise: DefaultRise, Fall: DefaultFall, SlowStart: max(t.SlowStart, 0).Round(time.Millisecond)}
	for _, h := range []*providers.HealthCheck{&p.opts.HealthCheck, t.HealthCheck} {
		if h == nil {
			continue
		}
		if h.Interval > 0 {
			s.Interval = h.Interval.Round(time.Millisecond)
		}
		if h.HealthyThreshold > 0 {
			s.Rise = h.HealthyThreshold
		}
		if h.UnhealthyThreshold > 0 {
			s.Fall = h.UnhealthyThreshold
		}
	}
	if s.Interval < time.Millisecond {
		s.Interval = time.Millisecond
	}
	return s
}
