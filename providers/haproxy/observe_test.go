package haproxy_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/haproxy"
	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

// countingSocket forwards a unix socket to HAProxy's admin socket and
// counts the connections: one per Runtime API round trip.
func countingSocket(t *testing.T, h *haproxytest.HAProxy) (string, *atomic.Int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "count.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			go func() {
				defer c.Close()
				up, err := net.Dial("unix", h.AdminSocket())
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, c) }()
				_, _ = io.Copy(c, up)
			}()
		}
	}()
	return "unix://" + path, &n
}

// TestObserveOneRoundTrip: Observe reads the limits and backends of every
// target it is asked for in one round trip, and returns what Limits and
// List return (issue 11, item 3: one LB read per poll).
func TestObserveOneRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{Backends: []string{"web", "api"}})
	a, b := e.server("a"), e.server("b")
	e.register(w10(a))
	if err := e.p.Register(e.ctx, providers.Target{ID: "api", HealthCheck: fastCheck}, []providers.Backend{{Addr: b.Addr, Weight: 10}}); err != nil {
		t.Fatal(err)
	}
	api, rounds := countingSocket(t, e.h)
	p, err := haproxy.New(api, haproxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	targets := []string{"web", "api", "nope"}

	// Observe finishes registrations as List does: both turn Healthy.
	haproxytest.Eventually(t, waitFor, func() error {
		got, err := p.Observe(e.ctx, targets)
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range []string{"web", "api"} {
			o := got[tg]
			if o.Err != nil || len(o.Backends) != 1 {
				t.Fatalf("%s: %+v", tg, o)
			}
			if o.Backends[0].Health != providers.HealthHealthy {
				return fmt.Errorf("%s: %s (%s)", tg, o.Backends[0].Health, o.Backends[0].Reason)
			}
		}
		return nil
	})

	before := rounds.Load()
	got, err := p.Observe(e.ctx, targets)
	if err != nil {
		t.Fatal(err)
	}
	if n := rounds.Load() - before; n != 1 {
		t.Errorf("Observe of %d targets took %d round trips, want 1", len(targets), n)
	}
	if nf := (*providers.NotFoundError)(nil); !errors.As(got["nope"].Err, &nf) {
		t.Errorf("a backend HAProxy does not have: %+v, want NotFoundError", got["nope"])
	}

	before = rounds.Load()
	for _, tg := range []string{"web", "api"} {
		l, err := p.Limits(e.ctx, tg)
		if err != nil {
			t.Fatal(err)
		}
		list, err := p.List(e.ctx, tg)
		if err != nil {
			t.Fatal(err)
		}
		// Reason carries the check's duration in some states: compare the rest.
		for i := range list {
			list[i].Reason = ""
		}
		obs := got[tg]
		for i := range obs.Backends {
			obs.Backends[i].Reason = ""
		}
		if !reflect.DeepEqual(obs.Limits, l) || !reflect.DeepEqual(obs.Backends, list) {
			t.Errorf("%s: Observe %+v, Limits and List %+v %+v", tg, obs, l, list)
		}
	}
	t.Logf("round trips to read 2 targets: Limits and List %d, Observe 1", rounds.Load()-before)
}
