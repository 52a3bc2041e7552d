package controllers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/controllers"
	"github.com/lbgate/lbgate/controllers/backendgroup"
	"github.com/lbgate/lbgate/e2e/kubelet"
	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/haproxy"
	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
	providermetrics "github.com/lbgate/lbgate/providers/metrics"
)

// TestHAProxyGroupRemovedUnderTrafficLeavesNoSlot: a group removed while its
// backend still holds a session waits for it (the group stays, the slot
// drains) up to its deregistration delay, then the slot is parked with its
// session closed: no slot of the static backend is left draining, and the
// backend keeps its whole capacity.
func TestHAProxyGroupRemovedUnderTrafficLeavesNoSlot(t *testing.T) {
	if haproxytest.Binary() == "" {
		t.Skip("haproxy is not installed: apt-get install -y haproxy")
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	restCfg := startEnvtest(t)
	c, err := client.NewWithWatch(restCfg, client.Options{Scheme: controllers.NewScheme()})
	must(t, err)

	const backend = "be_drain"
	h := haproxytest.Start(t, haproxytest.Config{StaticBackends: map[string]int{backend: 2}})
	hp, err := haproxy.New(h.RuntimeAPI(), haproxy.Options{
		HealthCheck: providers.HealthCheck{Interval: 100 * time.Millisecond, HealthyThreshold: 2, UnhealthyThreshold: 2},
	})
	must(t, err)
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme: controllers.NewScheme(), Cache: controllers.CacheOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: ptr(true)},
	})
	must(t, err)
	must(t, controllers.Setup(ctx, mgr, controllers.Config{Provider: providermetrics.Wrap(hp), BackendGroup: backendgroup.Options{}}))
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-mgrDone; err != nil {
			t.Errorf("manager: %v", err)
		}
	})

	const ns, name, delay = "haproxy-drain", "web", 3 * time.Second
	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	stub := kubelet.NewStub(c, "node-1")
	go stub.Run(ctx, ns)
	app := haproxytest.StartServer(t, "web-1", haproxytest.LoopbackIP(70))
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{
			v1alpha1.AnnotationDirectAccess: "true", v1alpha1.AnnotationLoadBalancer: backend,
			v1alpha1.AnnotationDeregistrationDelay: delay.String(),
		}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
	must(t, c.Create(ctx, svc))
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-1", Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			NodeName:       "node-1",
			ReadinessGates: []corev1.PodReadinessGate{{ConditionType: corev1.PodConditionType(v1alpha1.GateConditionType(name))}},
			Containers: []corev1.Container{{Name: "app", Image: "example/web:v1",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(app.Addr.Port())}}}},
		},
	}
	must(t, c.Create(ctx, pod))
	if _, err := stub.RunPodAt(ctx, client.ObjectKeyFromObject(pod), app.Addr.Addr().String(), true); err != nil {
		t.Fatal(err)
	}
	haproxytest.Eventually(t, 30*time.Second, func() error {
		if got := haproxytest.Sample(ctx, h.Frontend(backend), 2); got["web-1"] != 2 {
			return fmt.Errorf("traffic %v", got)
		}
		return nil
	})

	// A long-lived session on the pod's slot.
	held := make(chan error, 1)
	go func() {
		_, _, err := haproxytest.Get(ctx, h.Frontend(backend)+"/hold")
		held <- err
	}()
	slots := func() []haproxy.ServerState {
		st, err := haproxy.ParseServersState(h.MustCommand("show servers state " + backend))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	haproxytest.Eventually(t, 10*time.Second, func() error {
		out := h.MustCommand("show stat " + backend + " -1 -1")
		rows, err := haproxy.ParseStat(out)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.Type == haproxy.StatServer && r.Sessions > 0 {
				return nil
			}
		}
		return fmt.Errorf("no session on the slot yet")
	})

	// Opt the Service out: the Service controller deletes the group.
	before := svc.DeepCopy()
	svc.Annotations[v1alpha1.AnnotationDirectAccess] = "false"
	must(t, c.Patch(ctx, svc, client.MergeFrom(before)))
	groupGone := func() bool {
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &v1alpha1.BackendGroup{})
		return apierrors.IsNotFound(err)
	}
	removing := time.Now()
	haproxytest.Eventually(t, 10*time.Second, func() error {
		bg := &v1alpha1.BackendGroup{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, bg); err != nil {
			return err
		}
		if bg.DeletionTimestamp.IsZero() {
			return fmt.Errorf("group not being deleted yet")
		}
		if r := meta.FindStatusCondition(bg.Status.Conditions, v1alpha1.ConditionReady); r == nil || r.Reason != backendgroup.ReasonBackendsStillDraining {
			return fmt.Errorf("the group's Ready condition does not say it waits for sessions: %+v", r)
		}
		return nil
	})
	// While the session lasts and the delay runs, the group stays and its
	// slot drains; waiting for a session is no failure: the group is not
	// Degraded.
	g := gomega.NewWithT(t)
	g.Consistently(func() error {
		bg := &v1alpha1.BackendGroup{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, bg); err != nil {
			return fmt.Errorf("the group was removed %s after the opt-out, while its slot still held a session: %w", time.Since(removing).Round(time.Millisecond), err)
		}
		if d := meta.FindStatusCondition(bg.Status.Conditions, v1alpha1.ConditionDegraded); d != nil && d.Status == metav1.ConditionTrue {
			return fmt.Errorf("the group is Degraded while it waits for a session: %s: %s", d.Reason, d.Message)
		}
		return nil
	}).WithTimeout(delay / 2).WithPolling(50 * time.Millisecond).Should(gomega.Succeed())
	// Then the delay is over: the slot is parked, the session closed, the group gone.
	haproxytest.Eventually(t, 2*delay, func() error {
		if !groupGone() {
			return fmt.Errorf("group still there")
		}
		for _, s := range slots() {
			if strings.HasPrefix(s.Name, "lbgate-") && !s.Admin.Maint() {
				return fmt.Errorf("slot %s left behind: admin %#x check %#x at %s", s.Name, s.Admin, s.Check, s.AddrPort())
			}
		}
		return nil
	})
	t.Logf("group removed and its slot parked %s after the opt-out (deregistration delay %s)", time.Since(removing).Round(time.Millisecond), delay)
	select {
	case err := <-held:
		if err == nil {
			t.Log("the held request was answered")
		} else {
			t.Logf("the held session was closed: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the held session still runs on a parked slot")
	}
	app.Release()
}
