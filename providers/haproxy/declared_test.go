package haproxy_test

import (
	"strings"
	"testing"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

// TestDeclaredSlotsAreUsedFirstAndSurviveAReloadWithTheStateFile: on a
// dynamic backend with slots declared by server-template, Register fills the
// declared slots before it adds slots of its own; with a server-state-file
// saved before a graceful reload, every pod is still there, healthy, and
// traffic under load sees no failure. Before, the provider added its own
// suffixed slots (lbgate-4-i100r2f2), which no state file can carry.
func TestDeclaredSlotsAreUsedFirstAndSurviveAReloadWithTheStateFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, haproxytest.Config{Backends: []string{"web"}, DeclaredSlots: map[string]int{"web": 2}, ServerState: true})
	a, b := e.server("a"), e.server("b")
	e.register(w10(a), w10(b))
	for _, s := range []*haproxytest.Server{a, b} {
		slot, ok := e.slotOf("web", s.Addr)
		if !ok || strings.Contains(slot.Name, "-i") {
			t.Fatalf("%s holds slot %q (%t), want a declared lbgate-N slot", s.Name, slot.Name, ok)
		}
		e.waitHealth(s, providers.HealthHealthy)
	}
	e.waitTraffic(10, "a", "b")

	load := haproxytest.StartLoad(e.h.Frontend("web"), 4)
	if err := e.h.ReloadGracefully(true); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*haproxytest.Server{a, b} {
		if got := e.list()[s.Addr]; got.Health != providers.HealthHealthy {
			t.Errorf("%s right after the reload: %s (%s), want Healthy without registering again", s.Name, got.Health, got.Reason)
		}
	}
	e.waitTraffic(10, "a", "b")
	counts := load.Stop()
	if counts["a"] == 0 || counts["b"] == 0 || len(counts) != 2 {
		t.Errorf("load across the reload: %v, want only answers from a and b", counts)
	}

	// With the declared slots taken, the backend still grows with slots of its own.
	c := e.server("c")
	e.register(w10(c))
	if slot, ok := e.slotOf("web", c.Addr); !ok || !strings.Contains(slot.Name, "-i") {
		t.Fatalf("c holds %q (%t), want an added slot once the declared ones are taken", slot.Name, ok)
	}
	e.waitHealth(c, providers.HealthHealthy)
}
