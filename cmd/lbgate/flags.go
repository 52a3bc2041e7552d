package main

import (
	"flag"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/controllers/backendgroup"
	"github.com/lbgate/lbgate/controllers/webhookcfg"
	"github.com/lbgate/lbgate/providers"
)

// options are the binary's flags.
type options struct {
	provider          string
	defaultMode       string
	eniCIDRs          string
	globalRouterCIDRs string
	gatePollInterval  time.Duration
	resyncInterval    time.Duration
	handoverTimeout   time.Duration
	rolloutBlocked    time.Duration
	maxConcurrent     int
	metricsAddr       string
	probeAddr         string
	leaderElect       bool
	leaderElectionNS  string
	leaderElectionID  string
	leaseDuration     time.Duration
	renewDeadline     time.Duration
	retryPeriod       time.Duration
	logLevel          string
	logFormat         string
	haproxyRuntimeAPI string
	haproxyTimeout    time.Duration
	haproxyTLS        haproxyTLSOptions
	tencent           tencentOptions
	webhook           webhookOptions
}

func (o *options) bind(fs *flag.FlagSet) {
	fs.StringVar(&o.provider, "provider", "haproxy", "load-balancer provider: haproxy, tencent (Tencent Cloud CLB; tencentclb is the same), or fake (in memory, every backend healthy at once; for trying lbgate without a load balancer)")
	fs.StringVar(&o.haproxyRuntimeAPI, "haproxy-runtime-api", "", "HAProxy Runtime API address: unix:///path/to/admin.sock, tls://host:port (with --haproxy-tls-cert, --haproxy-tls-key and --haproxy-tls-ca), or tcp://127.0.0.1:9999 (unauthenticated: loopback only); at level admin")
	fs.DurationVar(&o.haproxyTimeout, "haproxy-timeout", 5*time.Second, "timeout of one HAProxy Runtime API round trip")
	o.haproxyTLS.bind(fs)
	o.tencent.bind(fs)
	fakeFlags.bind(fs)
	fs.StringVar(&o.defaultMode, "default-network-mode", string(v1alpha1.NetworkModeENI), "network mode of Services that do not set lbgate.dev/network-mode: eni or global-router")
	fs.StringVar(&o.eniCIDRs, "eni-cidrs", "", "comma-separated pod IP ranges eligible in eni mode (empty: every IP)")
	fs.StringVar(&o.globalRouterCIDRs, "global-router-cidrs", "", "comma-separated pod IP ranges eligible in global-router mode (empty: every IP)")
	fs.DurationVar(&o.gatePollInterval, "gate-poll-interval", 0, "how often a group re-reads the load balancer while a readiness gate waits for it (0: the provider's default, 100ms for haproxy, 250ms otherwise)")
	fs.DurationVar(&o.resyncInterval, "resync-interval", backendgroup.DefaultResyncInterval, "how often a settled group re-reads the load balancer to catch drift (such as a restarted load balancer)")
	fs.DurationVar(&o.handoverTimeout, "handover-timeout", backendgroup.DefaultHandoverTimeout, "how long backends that are no longer wanted (a selector, port or target change) stay in traffic while their replacements are not healthy")
	fs.DurationVar(&o.rolloutBlocked, "rollout-blocked-after", backendgroup.DefaultRolloutBlockedAfter, "how long pods must wait for a place under the quota, with no bound pod leaving to free one, before a group reports the rollout blocked")
	fs.IntVar(&o.maxConcurrent, "max-concurrent-reconciles", 4, "BackendGroups reconciled at once")
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8443", "address of the Prometheus metrics endpoint; 0 turns it off")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "elect a leader so only one replica reconciles")
	fs.StringVar(&o.leaderElectionNS, "leader-election-namespace", "", "namespace of the leader-election lease (default: the operator's namespace)")
	fs.StringVar(&o.leaderElectionID, "leader-election-id", "lbgate.dev", "name of the leader-election lease")
	fs.DurationVar(&o.leaseDuration, "leader-election-lease-duration", 15*time.Second, "how long standbys wait, after the leader last renewed the lease, before one takes over (the failover time when a leader dies without releasing it)")
	fs.DurationVar(&o.renewDeadline, "leader-election-renew-deadline", 10*time.Second, "how long the leader keeps trying to renew the lease before it stops leading (less than the lease duration)")
	fs.DurationVar(&o.retryPeriod, "leader-election-retry-period", defaultRetryPeriod, "how often standbys try to take the lease, and the leader renews it (the handover time after a leader releases it)")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, error, or a number (higher is more verbose)")
	fs.StringVar(&o.logFormat, "log-format", "json", "log format: json or console")
}

// settings are the flags turned into what the operator runs with.
type settings struct {
	logLevel     zapcore.Level
	provider     providers.Provider
	backendGroup backendgroup.Options
	webhook      *webhookcfg.Options // nil with --webhook=false
	// leaderElection are the lease timings.
	leaderElection leaseTimings
}

// leaseTimings are the leader-election lease's durations.
type leaseTimings struct {
	leaseDuration, renewDeadline, retryPeriod time.Duration
}

// leaseTimings checks the leader-election durations the way client-go's
// leader elector would refuse them at start, naming the flags.
func (o *options) leaseTimings() (leaseTimings, error) {
	t := leaseTimings{o.leaseDuration, o.renewDeadline, o.retryPeriod}
	switch {
	case t.retryPeriod < 100*time.Millisecond:
		return t, fmt.Errorf("--leader-election-retry-period=%s: must be at least 100ms", t.retryPeriod)
	case t.renewDeadline <= time.Duration(1.2*float64(t.retryPeriod)):
		return t, fmt.Errorf("--leader-election-renew-deadline=%s: must be more than 1.2 times --leader-election-retry-period=%s", t.renewDeadline, t.retryPeriod)
	case t.leaseDuration <= t.renewDeadline:
		return t, fmt.Errorf("--leader-election-lease-duration=%s: must be more than --leader-election-renew-deadline=%s", t.leaseDuration, t.renewDeadline)
	}
	return t, nil
}

// settings checks what the parser alone could not (flags that depend on
// each other) and returns what the flags mean, before anything connects
// anywhere. Every error names the flag and its value.
func (o *options) settings() (settings, error) {
	var s settings
	var err error
	if s.logLevel, err = zapLevel(o.logLevel); err != nil {
		return s, err
	}
	if s.backendGroup, err = o.backendGroupOptions(); err != nil {
		return s, err
	}
	if s.leaderElection, err = o.leaseTimings(); err != nil {
		return s, err
	}
	if s.provider, err = newProvider(*o); err != nil {
		return s, err
	}
	if o.webhook.enabled {
		w, err := o.webhook.options()
		if err != nil {
			return s, err
		}
		s.webhook = &w
	}
	return s, nil
}

// backendGroupOptions validates the binding flags and turns them into controller options.
func (o *options) backendGroupOptions() (backendgroup.Options, error) {
	mode := v1alpha1.NetworkMode(o.defaultMode)
	if mode != v1alpha1.NetworkModeENI && mode != v1alpha1.NetworkModeGlobalRouter {
		return backendgroup.Options{}, fmt.Errorf("--default-network-mode=%q: must be eni or global-router", o.defaultMode)
	}
	eni, err := parseCIDRs("--eni-cidrs", o.eniCIDRs)
	if err != nil {
		return backendgroup.Options{}, err
	}
	gr, err := parseCIDRs("--global-router-cidrs", o.globalRouterCIDRs)
	if err != nil {
		return backendgroup.Options{}, err
	}
	poll := o.gatePollInterval
	if poll == 0 {
		poll = defaultGatePoll(o.provider)
	}
	if poll < 10*time.Millisecond {
		return backendgroup.Options{}, fmt.Errorf("--gate-poll-interval=%s: must be at least 10ms", poll)
	}
	if o.resyncInterval < time.Second {
		return backendgroup.Options{}, fmt.Errorf("--resync-interval=%s: must be at least 1s", o.resyncInterval)
	}
	if o.handoverTimeout < time.Second {
		return backendgroup.Options{}, fmt.Errorf("--handover-timeout=%s: must be at least 1s", o.handoverTimeout)
	}
	if o.rolloutBlocked < time.Second {
		return backendgroup.Options{}, fmt.Errorf("--rollout-blocked-after=%s: must be at least 1s", o.rolloutBlocked)
	}
	if o.maxConcurrent < 1 {
		return backendgroup.Options{}, fmt.Errorf("--max-concurrent-reconciles=%d: must be at least 1", o.maxConcurrent)
	}
	return backendgroup.Options{
		DefaultMode:             mode,
		CIDRs:                   map[v1alpha1.NetworkMode][]netip.Prefix{v1alpha1.NetworkModeENI: eni, v1alpha1.NetworkModeGlobalRouter: gr},
		PendingInterval:         poll,
		ResyncInterval:          o.resyncInterval,
		HandoverTimeout:         o.handoverTimeout,
		RolloutBlockedAfter:     o.rolloutBlocked,
		MaxConcurrentReconciles: o.maxConcurrent,
	}, nil
}

func parseCIDRs(flagName, s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a CIDR such as 10.0.0.0/16: %w", flagName, part, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// zapLevel parses --log-level.
func zapLevel(s string) (zapcore.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return zapcore.DebugLevel, nil
	case "info", "":
		return zapcore.InfoLevel, nil
	case "error":
		return zapcore.ErrorLevel, nil
	}
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil || n < 0 || n > 10 {
		return 0, fmt.Errorf("--log-level=%q: must be debug, info, error or a number from 0 to 10", s)
	}
	return zapcore.Level(-n), nil
}

// haproxyGatePoll is the gate poll of the HAProxy provider. Its poll is
// one Runtime API round trip for all of a group's targets (Observe), and
// a gate cannot be faster than the poll: at 250ms the bench's gate
// latency (HAProxy UP to gate True, 100 pods) was p99 465ms; at 100ms,
// 340ms (docs/performance.md).
const haproxyGatePoll = 100 * time.Millisecond

// defaultGatePoll is --gate-poll-interval when it is not set. Cloud
// providers keep backendgroup's default: their reads count against an API
// rate limit (Tencent CLB: 20 calls a second).
func defaultGatePoll(provider string) time.Duration {
	if provider == "haproxy" {
		return haproxyGatePoll
	}
	return backendgroup.DefaultPendingInterval
}

// defaultRetryPeriod is --leader-election-retry-period when it is not set.
// A standby tries for the lease every retry period plus up to 1.2 times
// as much again (client-go's jitter), so after a leader releases the
// lease the next one leads within 2.2 retry periods, plus however long
// the old leader takes to stop: at 1s, the e2e suite once measured a
// graceful handover of 2.79s (1.06s of webhook server drain, then 1.72s
// until the standby's next try); at 500ms the wait is 1.1s at most.
const defaultRetryPeriod = 500 * time.Millisecond
