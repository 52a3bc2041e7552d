package haproxy_test

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

// crashRounds bounds the regression loops below.
const crashRounds = 4

// replayRounds is the rounds per variant of the del server replay.
const replayRounds = 10

// TestAppStopsUnderLoadThenDeregisterKeepsHAProxyAlive is the regression test
// for the sequence that crashed HAProxy 2.6.12 with `del server`: a backend's
// application stops while traffic flows, then the backend is deregistered.
// The provider parks and reuses slots instead, and HAProxy must survive.
func TestAppStopsUnderLoadThenDeregisterKeepsHAProxyAlive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{})
	steady := e.server("steady")
	e.register(w10(steady))
	e.waitHealth(steady, providers.HealthHealthy)

	load := haproxytest.StartLoad(e.h.Frontend("web"), 8)
	defer load.Stop()
	for i := range crashRounds {
		victim := e.server("victim" + strconv.Itoa(i))
		e.register(w10(steady), w10(victim))
		e.waitHealth(victim, providers.HealthHealthy)
		haproxytest.Eventually(t, waitFor, func() error {
			if victim.Hits() < 20 {
				return fmt.Errorf("victim served %d requests", victim.Hits())
			}
			return nil
		})
		victim.Stop() // the pod dies with requests in flight
		haproxytest.Eventually(t, waitFor, func() error {
			if err := e.p.Deregister(e.ctx, "web", []netip.AddrPort{victim.Addr}); err != nil {
				return err
			}
			if _, ok := e.list()[victim.Addr]; ok {
				return fmt.Errorf("victim still listed")
			}
			return nil
		})
		if err := e.h.Alive(); err != nil {
			t.Fatalf("round %d: %v\n%s", i, err, e.h.Log())
		}
	}
	counts := load.Stop()
	if err := e.h.Alive(); err != nil {
		t.Fatal(err)
	}
	if n := len(e.servers("web")); n > 2 {
		t.Errorf("%d slots for at most 2 backends at a time: slots are not reused", n)
	}
	if counts["steady"] == 0 {
		t.Errorf("no traffic reached the steady backend: %v", counts)
	}
	t.Logf("answers under load: %v", counts)
}

// TestFactDelServerAfterAppStopCanCrash replays the crash the issue measured
// on HAProxy 2.6.12: `del server` right after the server's application
// stopped under traffic, both hastily (maintenance, delete) and carefully
// (checks off, maintenance, shut sessions, wait for none, wait 1 s, delete),
// with traffic going on afterwards. It runs only with
// LBGATE_HAPROXY_DEL_SERVER_REPRO=1, since it may kill HAProxy, and reports
// rather than fails: it documents why the provider never deletes servers.
func TestFactDelServerAfterAppStopCanCrash(t *testing.T) {
	if os.Getenv("LBGATE_HAPROXY_DEL_SERVER_REPRO") != "1" {
		t.Skip("set LBGATE_HAPROXY_DEL_SERVER_REPRO=1 to replay the del server crash")
	}
	crashes, rounds := 0, 0
	for _, careful := range []bool{false, true} {
		for round := range replayRounds {
			rounds++
			if err := replayDelServer(t, careful); err != nil {
				crashes++
				t.Logf("careful=%v round %d: HAProxy died: %v", careful, round, err)
			}
		}
	}
	t.Logf("HAProxy died in %d of %d rounds", crashes, rounds)
}

func replayDelServer(t *testing.T, careful bool) error {
	e := newEnv(t, haproxytest.Config{})
	steady, victim := e.server("steady"), e.server("victim")
	e.register(w10(steady), w10(victim))
	e.waitHealth(steady, providers.HealthHealthy)
	e.waitHealth(victim, providers.HealthHealthy)
	st, _ := e.slotOf("web", victim.Addr)
	srv := "web/" + st.Name
	load := haproxytest.StartLoad(e.h.Frontend("web"), 32)
	defer load.Stop()
	haproxytest.Eventually(t, waitFor, func() error {
		if victim.Hits() < 50 {
			return fmt.Errorf("victim served %d", victim.Hits())
		}
		return nil
	})
	victim.Stop()
	if careful {
		for _, c := range []string{"disable health " + srv, "set server " + srv + " state maint", "shutdown sessions server " + srv} {
			_, _ = e.h.Command(c)
		}
		haproxytest.Eventually(t, waitFor, func() error {
			if n := stat(t, e.h, "web")[st.Name].Sessions; n != 0 {
				return fmt.Errorf("%d sessions", n)
			}
			return nil
		})
		time.Sleep(time.Second) // part of the recipe being replayed, not synchronisation
	} else {
		_, _ = e.h.Command("set server " + srv + " state maint")
	}
	_, _ = e.h.Command("del server " + srv)
	// Keep the traffic going and watch HAProxy for a while.
	before := load.Counts()["steady"]
	var err error
	haproxytest.Eventually(t, waitFor, func() error {
		if err = e.h.Alive(); err != nil {
			return nil
		}
		if n := load.Counts()["steady"]; n < before+2000 {
			return fmt.Errorf("%d requests since del server", n-before)
		}
		return nil
	})
	return err
}
