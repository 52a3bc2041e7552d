// Package metrics wraps a provider with Prometheus metrics, so calls are
// counted and timed in one place instead of in every controller.
package metrics

import (
	"context"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/lbgate/lbgate/providers"
)

var (
	calls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbgate_provider_calls_total",
		Help: "Load-balancer provider calls by provider, method and result (ok, not_found, throttled, quota, unavailable, permission, error).",
	}, []string{"provider", "method", "result"})
	duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lbgate_provider_call_duration_seconds",
		Help:    "Duration of load-balancer provider calls.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"provider", "method"})
	batch = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lbgate_provider_batch_size",
		Help:    "Backends per Register, Drain and Deregister call, and targets per Observe call.",
		Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500},
	}, []string{"provider", "method"})
)

func init() {
	crmetrics.Registry.MustRegister(calls, duration, batch)
}

// Provider is a provider whose calls are counted and timed.
type Provider struct {
	inner providers.Provider
}

var _ providers.Provider = (*Provider)(nil)

// Wrap returns p with metrics. When p reads several targets in one call
// (providers.Observer), so does the wrapper, and those calls are counted
// too; otherwise the wrapper offers no Observe, so the controller reads
// with Limits and List, counted one by one.
func Wrap(p providers.Provider) providers.Provider {
	w := &Provider{inner: p}
	if o, ok := p.(providers.Observer); ok {
		return &observingProvider{Provider: w, observer: o}
	}
	return w
}

// observingProvider is the wrapper of a provider that implements
// providers.Observer.
type observingProvider struct {
	*Provider
	observer providers.Observer
}

var _ providers.Observer = (*observingProvider)(nil)

// Observe calls the wrapped provider; the batch size is the number of
// targets read.
func (p *observingProvider) Observe(ctx context.Context, targets []string) (map[string]providers.Observation, error) {
	n := len(targets)
	defer p.observe("Observe", time.Now(), &n)
	o, err := p.observer.Observe(ctx, targets)
	p.count("Observe", err)
	return o, err
}

// Unwrap returns the wrapped provider, so optional interfaces it implements
// (providers.StateLossWatcher) stay reachable through the wrapper.
func (p *Provider) Unwrap() providers.Provider { return p.inner }

// Name returns the wrapped provider's name.
func (p *Provider) Name() string { return p.inner.Name() }

// Limits calls the wrapped provider.
func (p *Provider) Limits(ctx context.Context, target string) (providers.Limits, error) {
	defer p.observe("Limits", time.Now(), nil)
	l, err := p.inner.Limits(ctx, target)
	p.count("Limits", err)
	return l, err
}

// Register calls the wrapped provider.
func (p *Provider) Register(ctx context.Context, target providers.Target, backends []providers.Backend) error {
	n := len(backends)
	defer p.observe("Register", time.Now(), &n)
	err := p.inner.Register(ctx, target, backends)
	p.count("Register", err)
	return err
}

// Drain calls the wrapped provider.
func (p *Provider) Drain(ctx context.Context, target string, addrs []netip.AddrPort) error {
	n := len(addrs)
	defer p.observe("Drain", time.Now(), &n)
	err := p.inner.Drain(ctx, target, addrs)
	p.count("Drain", err)
	return err
}

// Deregister calls the wrapped provider.
func (p *Provider) Deregister(ctx context.Context, target string, addrs []netip.AddrPort) error {
	n := len(addrs)
	defer p.observe("Deregister", time.Now(), &n)
	err := p.inner.Deregister(ctx, target, addrs)
	p.count("Deregister", err)
	return err
}

// List calls the wrapped provider.
func (p *Provider) List(ctx context.Context, target string) ([]providers.BackendStatus, error) {
	defer p.observe("List", time.Now(), nil)
	l, err := p.inner.List(ctx, target)
	p.count("List", err)
	return l, err
}

func (p *Provider) observe(method string, start time.Time, n *int) {
	duration.WithLabelValues(p.inner.Name(), method).Observe(time.Since(start).Seconds())
	if n != nil {
		batch.WithLabelValues(p.inner.Name(), method).Observe(float64(*n))
	}
}

func (p *Provider) count(method string, err error) {
	calls.WithLabelValues(p.inner.Name(), method, Result(err)).Inc()
}

// Result classifies an error for the result label.
func Result(err error) string {
	switch {
	case err == nil:
		return "ok"
	case providers.IsNotFound(err):
		return "not_found"
	case providers.IsThrottled(err):
		return "throttled"
	case providers.IsQuota(err):
		return "quota"
	case providers.IsUnavailable(err):
		return "unavailable"
	case providers.IsPermission(err):
		return "permission"
	}
	return "error"
}
