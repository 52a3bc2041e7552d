package webhookcfg_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"maps"
	"net"
	"strconv"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/certs"
	"github.com/lbgate/lbgate/controllers/webhookcfg"
	"github.com/lbgate/lbgate/internal/testbuild"
)

// newNamespace creates a namespace for one spec.
func newNamespace(ctx context.Context) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "wh-test-"}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// optedIn is an opted-in Service selecting app=<name> on target, with port
// 80 to the pod port "http"; opts change it.
func optedIn(ns, name, target string, annotations map[string]string, opts ...testbuild.ServiceOption) *corev1.Service {
	ann := map[string]string{v1alpha1.AnnotationDirectAccess: "true", v1alpha1.AnnotationLoadBalancer: target}
	maps.Copy(ann, annotations)
	base := []testbuild.ServiceOption{
		testbuild.Namespace(ns),
		testbuild.Annotations(ann),
		testbuild.Selector(map[string]string{"app": name}),
		testbuild.Ports(testbuild.ServicePort("http", 80, intstr.FromString("http"), "")),
	}
	return testbuild.Service(name, append(base, opts...)...)
}

// createService creates an opted-in Service selecting selector and waits
// until the webhook gates a pod it selects (the BackendGroup exists and the
// webhook's cache has it).
func createService(ctx context.Context, ns, name string, selector map[string]string, annotations map[string]string) {
	svc := optedIn(ns, name, "be-"+ns+"-"+name, annotations, testbuild.Selector(selector))
	Expect(k8s.Create(ctx, svc)).To(Succeed())
	Eventually(func() ([]string, error) {
		pod, err := createPod(ctx, ns, selector, client.DryRunAll)
		return gates(pod), err
	}).Should(ContainElement(v1alpha1.GateConditionType(name)))
}

// newPod returns a pod with the labels, a container port "http" and no node.
func newPod(ns string, labels map[string]string) *corev1.Pod {
	return testbuild.Pod("", testbuild.Namespace(ns), testbuild.GenerateName("p-"), testbuild.Labels(labels),
		testbuild.Containers(testbuild.Container("app", "example/app:v1", testbuild.ContainerPort("http", 8080, ""))))
}

// createPod creates a pod (through the webhook) and returns it as admitted.
func createPod(ctx context.Context, ns string, labels map[string]string, opts ...client.CreateOption) (*corev1.Pod, error) {
	pod := newPod(ns, labels)
	err := k8s.Create(ctx, pod, opts...)
	return pod, err
}

// gates lists a pod's readiness gate condition types.
func gates(pod *corev1.Pod) []string {
	if pod == nil {
		return nil
	}
	out := []string{}
	for _, g := range pod.Spec.ReadinessGates {
		out = append(out, string(g.ConditionType))
	}
	return out
}

// gateOf is the gate of BackendGroup name.
func gateOf(name string) string { return v1alpha1.GateConditionType(name) }

// secretKey and configKey name the two objects the self-repair keeps.
func secretKey() client.ObjectKey {
	return client.ObjectKey{Namespace: operatorNS, Name: mgr.opts.SecretName}
}

// getSecret reads the certificate Secret (nil when absent).
func getSecret(ctx context.Context) *corev1.Secret {
	s := &corev1.Secret{}
	if err := k8s.Get(ctx, secretKey(), s); err != nil {
		return nil
	}
	return s
}

// deleteSecret deletes the certificate Secret if present.
func deleteSecret(ctx context.Context) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: defaultOptions().SecretName}}
	Expect(client.IgnoreNotFound(k8s.Delete(ctx, s))).To(Succeed())
}

// getConfig reads the webhook configuration (nil when absent).
func getConfig(ctx context.Context) *admissionregistrationv1.MutatingWebhookConfiguration {
	c := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := k8s.Get(ctx, client.ObjectKey{Name: mgr.opts.ConfigName}, c); err != nil {
		return nil
	}
	return c
}

// liveCABundle is the caBundle of lbgate's webhook.
func liveCABundle(ctx context.Context) []byte {
	c := getConfig(ctx)
	if c == nil {
		return nil
	}
	for _, w := range c.Webhooks {
		if w.Name == webhookcfg.WebhookName {
			return w.ClientConfig.CABundle
		}
	}
	return nil
}

// certOptions are the names lbgate issues for in the suite.
func certOptions() certs.Options {
	o := defaultOptions()
	return certs.Options{ServiceName: o.ServiceName, Namespace: o.Namespace, Loopback: true}
}

// storedBundle loads the Secret as lbgate judges it.
func storedBundle(ctx context.Context) (*certs.Bundle, error) {
	s := getSecret(ctx)
	if s == nil {
		return nil, fmt.Errorf("secret missing")
	}
	return certs.Load(s.Data, time.Now(), certOptions().Names())
}

// served is the certificate the webhook server presents now.
func served(ctx context.Context) (*x509.Certificate, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(webhookPort))
	return certs.ServedCertificate(ctx, addr, "127.0.0.1")
}

// servingTrusted checks the whole chain as the apiserver sees it: the served
// certificate is the Secret's and the live caBundle trusts it.
func servingTrusted(ctx context.Context) error {
	b, err := storedBundle(ctx)
	if err != nil {
		return err
	}
	cert, err := served(ctx)
	if err != nil {
		return err
	}
	if !cert.Equal(b.Serving.Cert) {
		return fmt.Errorf("served serial %x, Secret holds %x", cert.SerialNumber, b.Serving.Cert.SerialNumber)
	}
	return certs.Verifies(liveCABundle(ctx), cert)
}

// eventNotes lists the notes of events about an object with a reason.
func eventNotes(ctx context.Context, ns, kind, name, reason string) func() []string {
	return func() []string {
		list := &eventsv1.EventList{}
		if err := k8s.List(ctx, list, client.InNamespace(ns)); err != nil {
			return nil
		}
		var out []string
		for _, e := range list.Items {
			if e.Regarding.Kind == kind && e.Regarding.Name == name && e.Reason == reason {
				out = append(out, e.Note)
			}
		}
		return out
	}
}

// expectGated creates a pod matching a group and expects exactly want gates.
func expectGated(ctx context.Context, ns string, labels map[string]string, want ...string) {
	pod, err := createPod(ctx, ns, labels)
	Expect(err).NotTo(HaveOccurred())
	if len(want) == 0 {
		Expect(gates(pod)).To(BeEmpty())
		return
	}
	Expect(gates(pod)).To(Equal(want))
}

// probeResult is one pod creation of a probe.
type probeResult struct {
	at    time.Time // when the create returned
	err   error
	gated bool
}

// probe creates pods that should be gated with gate, one after the other at
// a steady pace, until stopped.
type probe struct {
	mu      sync.Mutex
	results []probeResult
	cancel  context.CancelFunc
	done    chan struct{}
}

// startProbe starts creating pods in ns with labels every interval.
func startProbe(ns string, labels map[string]string, gate string, interval time.Duration) *probe {
	ctx, cancel := context.WithCancel(suite)
	p := &probe{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer GinkgoRecover()
		defer close(p.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			pod, err := createPod(ctx, ns, labels)
			if ctx.Err() != nil {
				return
			}
			r := probeResult{at: time.Now(), err: err}
			if err == nil {
				for _, g := range gates(pod) {
					r.gated = r.gated || g == gate
				}
			}
			p.mu.Lock()
			p.results = append(p.results, r)
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

// stop ends the probe and returns what it saw.
func (p *probe) stop() []probeResult {
	p.cancel()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]probeResult(nil), p.results...)
}

// snapshot returns what the probe saw so far.
func (p *probe) snapshot() []probeResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]probeResult(nil), p.results...)
}

// failures counts failed creates and pods created without the gate.
func failures(results []probeResult) (failed, ungated int, firstErr error) {
	for _, r := range results {
		switch {
		case r.err != nil:
			failed++
			if firstErr == nil {
				firstErr = r.err
			}
		case !r.gated:
			ungated++
		}
	}
	return failed, ungated, firstErr
}

// firstGatedAfter is when the first gated pod after t was created.
func firstGatedAfter(results []probeResult, t time.Time) (time.Time, bool) {
	for _, r := range results {
		if r.at.After(t) && r.err == nil && r.gated {
			return r.at, true
		}
	}
	return time.Time{}, false
}

// ignoreAlreadyExists turns AlreadyExists into success.
func ignoreAlreadyExists(err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// report prints a measurement and keeps it in the suite's report, where it
// shows even when the spec passes.
func report(name, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	GinkgoWriter.Println(name + ": " + msg)
	AddReportEntry(name, ReportEntryVisibilityAlways, msg)
}
