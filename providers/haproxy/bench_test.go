package haproxy_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/haproxy"
	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

// BenchmarkRegister500 registers 500 backends in one group on a real
// HAProxy and reports, per iteration: Register into new slots (add server)
// and into reused ones (set server addr), List of 500, the time until all
// 500 are Healthy (HAProxy checks every 500 ms, rise 2), and Deregister.
//
//	go test -run '^$' -bench Register500 -benchtime 3x ./providers/haproxy/
func BenchmarkRegister500(b *testing.B) {
	const n = 500
	ctx := context.Background()
	h := haproxytest.Start(b, haproxytest.Config{Backends: []string{"web"}})
	backends := make([]providers.Backend, n)
	addrs := make([]netip.AddrPort, n)
	for i := range backends {
		s := haproxytest.StartServer(b, fmt.Sprintf("b%d", i), haproxytest.LoopbackIP(40000+i))
		backends[i] = providers.Backend{Addr: s.Addr, Weight: 10}
		addrs[i] = s.Addr
	}
	p, err := haproxy.New(h.RuntimeAPI(), haproxy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	target := providers.Target{ID: "web", HealthCheck: &providers.HealthCheck{Interval: 500 * time.Millisecond, HealthyThreshold: 2, UnhealthyThreshold: 2}}
	register := func() time.Duration {
		start := time.Now()
		for i := 0; i < n; i += haproxy.DefaultMaxBatch {
			if err := p.Register(ctx, target, backends[i:min(i+haproxy.DefaultMaxBatch, n)]); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	list := func() (time.Duration, int) {
		start := time.Now()
		l, err := p.List(ctx, "web")
		if err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		healthy := 0
		for _, s := range l {
			if s.Health == providers.HealthHealthy {
				healthy++
			}
		}
		if len(l) != n {
			b.Fatalf("List returned %d backends, want %d", len(l), n)
		}
		return d, healthy
	}

	var regNew, regReuse, lst, healthy, dereg time.Duration
	for b.Loop() {
		b.StopTimer()
		h.Restart() // an empty pool every iteration
		b.StartTimer()

		regNew += register()
		d, _ := list()
		lst += d
		start := time.Now()
		haproxytest.Eventually(b, time.Minute, func() error {
			if _, ok := list(); ok < n {
				return fmt.Errorf("%d of %d healthy", ok, n)
			}
			return nil
		})
		healthy += time.Since(start)
		start = time.Now()
		if err := p.Deregister(ctx, "web", addrs); err != nil {
			b.Fatal(err)
		}
		dereg += time.Since(start)
		regReuse += register()
	}
	per := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(b.N) }
	b.ReportMetric(per(regNew), "register-new-ms/op")
	b.ReportMetric(per(regReuse), "register-reuse-ms/op")
	b.ReportMetric(per(lst), "list-ms/op")
	b.ReportMetric(per(healthy), "all-healthy-ms/op")
	b.ReportMetric(per(dereg), "deregister-ms/op")
}
