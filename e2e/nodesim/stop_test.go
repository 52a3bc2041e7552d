package nodesim

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// simGoroutines lists the goroutines a simulator may own: its own code,
// client-go informers, and HTTP server loops and connections. Test
// goroutines are left out.
func simGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "testing.tRunner") || strings.Contains(g, "testing.(*M)") {
			continue
		}
		for _, mark := range []string{"lbgate/e2e/nodesim.", "k8s.io/client-go/tools/cache.", "net/http.(*conn).serve", "net/http.(*Server).Serve"} {
			if strings.Contains(g, mark) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// TestIntegrationStopLeavesNothing: Stop ends every goroutine and closes
// every listener and connection, whatever state the pods are in (ready,
// in preStop, waiting for the start-up delay, serving a slow request).
func TestIntegrationStopLeavesNothing(t *testing.T) {
	cfg, c := apiserver(t)
	if g := simGoroutines(); len(g) > 0 {
		t.Fatalf("goroutines left by earlier tests:\n%s", strings.Join(g, "\n\n"))
	}
	node := nodeName("stop")
	sim := startSim(t, cfg, Options{Nodes: []NodeOptions{{Name: node, PodCIDRs: []netip.Prefix{netip.MustParsePrefix("127.116.0.0/24")}}}})
	ns := namespace(t, c)
	ready := createPod(t, c, testPod(ns, "ready", node, podOpts{probe: true}))
	leaving := createPod(t, c, testPod(ns, "leaving", node, podOpts{probe: true, preStop: 60, grace: 120}))
	starting := createPod(t, c, testPod(ns, "starting", node, podOpts{probe: true, env: []corev1.EnvVar{{Name: EnvStartupDelay, Value: "1h"}}}))

	waitCondition(t, c, ready, corev1.ContainersReady, corev1.ConditionTrue, 5*time.Second)
	waitCondition(t, c, leaving, corev1.ContainersReady, corev1.ConditionTrue, 5*time.Second)
	_, readyIP := waitRunning(t, c, ready)
	_, leavingIP := waitRunning(t, c, leaving)
	_, startingIP := waitRunning(t, c, starting)

	if err := c.CoreV1().Pods(ns).Delete(context.Background(), leaving.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "leaving pod terminating and still serving", func() error {
		p, err := getPod(c, leaving)
		if err != nil || p.DeletionTimestamp == nil {
			return fmt.Errorf("not terminating yet: %w", err)
		}
		if code, _, err := fetch(leavingIP, 8080, "/"); err != nil || code != 200 {
			return fmt.Errorf("%d %w", code, err)
		}
		return nil
	})
	slow := make(chan error, 1)
	go func() {
		_, _, err := fetch(readyIP, 8080, "/?delay=1h")
		slow <- err
	}()
	eventually(t, 5*time.Second, "slow request in flight", func() error {
		for _, g := range simGoroutines() {
			if strings.Contains(g, "sleepCtx") && strings.Contains(g, "ServeHTTP") {
				return nil
			}
		}
		return fmt.Errorf("not yet")
	})
	if n := len(sim.AddressesInUse()); n != 3 {
		t.Fatalf("addresses in use: %d", n)
	}

	began := time.Now()
	sim.Stop()
	if d := time.Since(began); d > 5*time.Second {
		t.Fatalf("Stop took %v", d)
	}
	if g := simGoroutines(); len(g) > 0 {
		// Only net/http connection goroutines may need a moment to notice their closed sockets.
		eventually(t, 2*time.Second, "goroutines after Stop", func() error {
			if g := simGoroutines(); len(g) > 0 {
				return fmt.Errorf("%d left:\n%s", len(g), strings.Join(g, "\n\n"))
			}
			return nil
		})
	}
	select {
	case err := <-slow:
		if err == nil {
			t.Fatal("the in-flight request should have been cut by Stop")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the in-flight request still hangs after Stop")
	}
	for _, ip := range []netip.Addr{readyIP, leavingIP, startingIP} {
		if !refused(ip, 8080) {
			t.Errorf("%s:8080 still accepts connections", ip)
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "8080"))
		if err != nil {
			t.Errorf("%s:8080 cannot be bound after Stop: %v", ip, err)
			continue
		}
		_ = ln.Close()
	}
	if n := len(sim.AddressesInUse()); n != 0 {
		t.Fatalf("addresses still held: %v", sim.AddressesInUse())
	}
	sim.Stop() // idempotent
}

// TestIntegrationForceDelete: a force delete during preStop cuts preStop
// short; the servers stop within the 2 s minimum window and the address is
// released.
func TestIntegrationForceDelete(t *testing.T) {
	cfg, c := apiserver(t)
	node := nodeName("force")
	sim := startSim(t, cfg, Options{Nodes: []NodeOptions{{Name: node, PodCIDRs: []netip.Prefix{netip.MustParsePrefix("127.117.0.0/24")}}}})
	ns := namespace(t, c)
	key := createPod(t, c, testPod(ns, "web", node, podOpts{preStop: 60, grace: 120}))
	_, ip := waitRunning(t, c, key)
	eventually(t, 5*time.Second, "serving", func() error {
		if code, _, err := fetch(ip, 8080, "/"); err != nil || code != 200 {
			return fmt.Errorf("%d %w", code, err)
		}
		return nil
	})
	ctx := context.Background()
	if err := c.CoreV1().Pods(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "in preStop", func() error {
		p, err := getPod(c, key)
		if err != nil || p.DeletionTimestamp == nil {
			return fmt.Errorf("not terminating: %w", err)
		}
		return nil
	})
	if code, _, err := fetch(ip, 8080, "/"); err != nil || code != 200 {
		t.Fatalf("not serving during preStop: %d %v", code, err)
	}
	forced := time.Now()
	if err := c.CoreV1().Pods(ns).Delete(ctx, "web", metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, key, 3*time.Second)
	eventually(t, 5*time.Second, "servers stopped and address released", func() error {
		if !refused(ip, 8080) {
			return fmt.Errorf("still accepting")
		}
		if _, held := sim.AddressesInUse()[ip]; held {
			return fmt.Errorf("address still held")
		}
		return nil
	})
	if d := time.Since(forced); d > 4*time.Second {
		t.Fatalf("stopped %v after the force delete", d)
	}
}
