package controllers_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/providers"
)

// Issue 11, item 1: indexes, not scans. No reconcile and no pod event may
// do work that grows with the number of groups or with the pods outside
// the group: the operator runs here with a client that logs every List.
var _ = Describe("Cache lookups", func() {
	It("lists only the group's pods and the groups on its targets, however many others there are", func(ctx SpecContext) {
		log := &listLog{}
		mgr.stop()
		counting := startCountingManager(log)
		DeferCleanup(func() {
			counting.stop()
			mgr = startManager()
		})

		t := newTestNS(ctx)
		// Noise: pods of the namespace no group selects, and groups of
		// other namespaces on other targets.
		for i := range 12 {
			noise := t.pod(fmt.Sprintf("other-%d", i), "other", "")
			Expect(k8s.Create(ctx, noise)).To(Succeed())
		}
		for i := range 4 {
			o := newTestNS(ctx)
			o.createService(ctx, fmt.Sprintf("svc-%d", i), nil)
		}
		t.createService(ctx, "web", nil)
		pods := []*corev1.Pod{t.runPod(ctx, "web-1", "web"), t.runPod(ctx, "web-2", "web")}
		Eventually(backends(t.target)).Should(HaveLen(2))

		log.reset()
		for _, p := range pods {
			Expect(lb.SetHealth(t.target, addr(p), providers.HealthHealthy)).To(BeTrue())
		}
		for _, p := range pods {
			Eventually(gateState(ctx, p, "web")).Should(Equal("True/Healthy"))
		}
		// A pod event of the group, and one of a pod no group selects.
		setPodLabel(ctx, pods[0], "touched", "1")
		setPodLabel(ctx, t.pod("other-0", "other", ""), "touched", "1")
		Eventually(func() int { return log.count("PodList") }).Should(BeNumerically(">", 0))
		time.Sleep(time.Second) // let the reconciles those events start run through

		GinkgoWriter.Printf("lists while 2 pods turned healthy and 2 pods changed: pods %d (%d pods returned), groups %d (%d groups returned)\n",
			log.count("PodList"), log.items("PodList"), log.count("BackendGroupList"), log.items("BackendGroupList"))
		// Groups of the specs that ran before this one are reconciled too
		// (their resync): every list must be a lookup, and the ones about
		// this namespace's group must return nothing outside it.
		for _, l := range log.all() {
			switch l.kind {
			case "PodList":
				Expect(l.fields+l.labels).NotTo(BeEmpty(), "a pod list without a selector: %+v", l)
				if l.namespace == t.name {
					Expect(l.items).To(BeNumerically("<=", len(pods)), "a pod list returned pods outside the group: %+v", l)
				}
			case "BackendGroupList":
				Expect(l.fields).NotTo(BeEmpty(), "a BackendGroup list that is not an index lookup: %+v", l)
				if strings.HasSuffix(l.fields, "="+t.target) {
					Expect(l.items).To(BeNumerically("<=", 1), "a BackendGroup list returned groups on other targets: %+v", l)
				}
			}
		}
	})
})

// setPodLabel sets one label on a pod.
func setPodLabel(ctx context.Context, pod *corev1.Pod, k, v string) {
	cur := &corev1.Pod{}
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(pod), cur)).To(Succeed())
	before := cur.DeepCopy()
	cur.Labels[k] = v
	Expect(k8s.Patch(ctx, cur, client.MergeFrom(before))).To(Succeed())
}

// listCall is one List the operator made.
type listCall struct {
	kind, namespace, fields, labels string
	items                           int
}

// listLog records the operator's List calls.
type listLog struct {
	mu    sync.Mutex
	calls []listCall
}

func (l *listLog) add(c listCall) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

func (l *listLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = nil
}

func (l *listLog) all() []listCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]listCall(nil), l.calls...)
}

func (l *listLog) items(kind string) int {
	n := 0
	for _, c := range l.all() {
		if c.kind == kind {
			n += c.items
		}
	}
	return n
}

func (l *listLog) count(kind string) int {
	n := 0
	for _, c := range l.all() {
		if c.kind == kind {
			n++
		}
	}
	return n
}

// listingClient logs every List of the client it wraps.
type listingClient struct {
	client.Client
	log *listLog
}

func (c listingClient) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	err := c.Client.List(ctx, list, opts...)
	o := (&client.ListOptions{}).ApplyOptions(opts)
	call := listCall{kind: fmt.Sprintf("%T", list), namespace: o.Namespace}
	if i := strings.LastIndex(call.kind, "."); i >= 0 {
		call.kind = call.kind[i+1:]
	}
	if o.FieldSelector != nil {
		call.fields = o.FieldSelector.String()
	}
	if o.LabelSelector != nil {
		call.labels = o.LabelSelector.String()
	}
	if err == nil {
		call.items = meta.LenList(list)
	}
	c.log.add(call)
	return err
}

// startCountingManager starts the controllers as startManager does, with a
// client that logs its List calls.
func startCountingManager(log *listLog) *managerHandle {
	return startManagerWith(cfg, func(c *rest.Config, o client.Options) (client.Client, error) {
		inner, err := client.New(c, o)
		return listingClient{Client: inner, log: log}, err
	})
}
