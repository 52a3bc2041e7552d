package haproxy_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/lbgate/lbgate/providers/haproxy"
	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

func TestReplaced(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                     string
		first                    bool
		prevPid, prevUp, pid, up int
		want                     bool
	}{
		{name: "first reading", first: true, pid: 10, up: 5, want: false},
		{name: "same process, later", prevPid: 10, prevUp: 5, pid: 10, up: 6, want: false},
		{name: "same process, same second", prevPid: 10, prevUp: 5, pid: 10, up: 5, want: false},
		{name: "reload: new pid", prevPid: 10, prevUp: 5, pid: 11, up: 0, want: true},
		{name: "new pid, longer uptime (another instance)", prevPid: 10, prevUp: 5, pid: 11, up: 50, want: true},
		{name: "restart in a container: same pid, uptime back", prevPid: 7, prevUp: 500, pid: 7, up: 1, want: true},
	} {
		if got := haproxy.Replaced(tc.prevPid, tc.prevUp, tc.pid, tc.up, tc.first); got != tc.want {
			t.Errorf("%s: replaced = %t, want %t", tc.name, got, tc.want)
		}
	}
}

// TestWatchStateLossReportsRestartsAndReloads: one watch for the whole
// provider reports every backend after a restart (HAProxy stops answering,
// then answers again) and after a graceful reload (a new process id, no
// moment without an answer), and nothing while HAProxy just runs.
func TestWatchStateLossReportsRestartsAndReloads(t *testing.T) {
	t.Parallel()
	h := haproxytest.Start(t, haproxytest.Config{Backends: []string{"web", "api"}})
	p, err := haproxy.New(h.RuntimeAPI(), haproxy.Options{WatchInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lost := make(chan []string, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.WatchStateLoss(ctx, func(targets []string) { lost <- targets })
	}()
	expect := func(what string) {
		t.Helper()
		select {
		case got := <-lost:
			if !slices.Contains(got, "web") || !slices.Contains(got, "api") {
				t.Fatalf("%s: lost %v, want every backend", what, got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no loss reported within 5s", what)
		}
	}
	h.Restart()
	expect("restart")
	if err := h.ReloadGracefully(false); err != nil {
		t.Fatal(err)
	}
	expect("graceful reload")
	// Five readings of the same process report nothing.
	select {
	case got := <-lost:
		t.Fatalf("loss %v reported while HAProxy ran on", got)
	case <-time.After(500 * time.Millisecond): // five watch intervals
	}
	cancel()
	<-done
}
