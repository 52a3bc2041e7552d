package webhookcfg_test

import (
	"bytes"
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
)

// rotationSeen tracks what the webhook served during the rotation test.
type rotationSeen struct {
	leafs   map[string]bool // serving certificate serials served
	issuers map[string]bool // authority key ids of served certificates
}

func (s *rotationSeen) observe(ctx context.Context) {
	cert, err := served(ctx)
	if err != nil {
		return
	}
	s.leafs[cert.SerialNumber.String()] = true
	s.issuers[string(cert.AuthorityKeyId)] = true
}

// done: at least two rotations of the served certificate (three served in
// all), one of them from a new CA.
func (s *rotationSeen) done() bool { return len(s.leafs) >= 3 && len(s.issuers) >= 2 }

var _ = Describe("Certificate rotation", func() {
	It("renews and rotates the CA under a continuous pod-create probe with no failed create and no pod without gates", func(ctx SpecContext) {
		o := defaultOptions()
		o.LeafLifetime, o.CALifetime = 6*time.Second, 15*time.Second
		// Fail makes any webhook failure a failed create, not a silently ungated pod.
		o.FailurePolicy = admissionregistrationv1.Fail
		restartManager(o, func() { deleteSecret(ctx) })

		ns := newNamespace(ctx)
		labels := map[string]string{"app": "web"}
		createService(ctx, ns, "web", labels, nil)

		seen := &rotationSeen{leafs: map[string]bool{}, issuers: map[string]bool{}}
		var caBundles [][]byte
		start := time.Now()
		p := startProbe(ns, labels, gateOf("web"), 20*time.Millisecond)
		Eventually(func() bool {
			seen.observe(ctx)
			if live := liveCABundle(ctx); len(caBundles) == 0 || !bytes.Equal(caBundles[len(caBundles)-1], live) {
				caBundles = append(caBundles, live)
			}
			return seen.done()
		}).WithTimeout(60*time.Second).WithPolling(100*time.Millisecond).Should(BeTrue(),
			"served %d certificates from %d CAs", len(seen.leafs), len(seen.issuers))
		// Keep probing through the end of the rotation (previous CA dropped).
		Eventually(func() error {
			b, err := storedBundle(ctx)
			if err != nil {
				return err
			}
			if b.PreviousCA != nil {
				return errString("previous CA still kept")
			}
			return servingTrusted(ctx)
		}).WithTimeout(30 * time.Second).Should(Succeed())
		results := p.stop()

		failed, ungated, firstErr := failures(results)
		report("rotation", "%d pods created in %s, %d certificates served from %d CAs, %d caBundle versions, %d failed creates, %d pods without gates",
			len(results), time.Since(start).Round(time.Millisecond), len(seen.leafs), len(seen.issuers), len(caBundles), failed, ungated)
		Expect(firstErr).NotTo(HaveOccurred())
		Expect(failed).To(BeZero())
		Expect(ungated).To(BeZero())
		Expect(len(results)).To(BeNumerically(">", 100))
	})
})
