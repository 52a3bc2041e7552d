package controllers_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/controllers"
	"github.com/lbgate/lbgate/controllers/backendgroup"
	"github.com/lbgate/lbgate/controllers/webhookcfg"
	"github.com/lbgate/lbgate/e2e/kubelet"
	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/haproxy"
	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

// TestUninstallLeavesNothingBehind follows the uninstall of docs/upgrade.md
// on a real kube-apiserver and a real HAProxy, with the operator's manager
// running its controllers and its webhook (URL mode, failurePolicy Fail, so
// that a webhook configuration left behind would refuse pods):
//
//  1. opt every Service out (remove lbgate.dev/direct-access);
//  2. delete every BackendGroup and wait until none is left;
//  3. wait until no pod holds a lbgate gate that is not True;
//  4. stop the operator;
//  5. delete the install (webhook configuration, CRD, namespace).
//
// It checks the doc's reasons for that order first (a group deleted while
// its Service is opted in comes back; a webhook configuration deleted while
// the operator runs comes back), then that nothing is left: no webhook
// configuration, no BackendGroup, a CRD that goes at once, no backend on
// HAProxy, every pod Ready with its gates True (also the pod HAProxy kept
// unhealthy, and one created with a gate after its group was gone), and a
// new pod admitted with no gate.
func TestUninstallLeavesNothingBehind(t *testing.T) {
	if haproxytest.Binary() == "" {
		t.Skip("haproxy is not installed: apt-get install -y haproxy")
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	restCfg := startEnvtest(t)
	scheme := controllers.NewScheme()
	must(t, apiextensionsv1.AddToScheme(scheme))
	c, err := client.NewWithWatch(restCfg, client.Options{Scheme: scheme})
	must(t, err)

	// The install's names (config/default, and the flags' defaults).
	const (
		operatorNS = "lbgate-system"
		configName = "lbgate-pod-gates"
		crdName    = "backendgroups.lbgate.dev"
		ns         = "shop"
	)
	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNS}}))
	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))

	lbBackends := []string{"be_web", "be_api", "be_cart"}
	h := haproxytest.Start(t, haproxytest.Config{Backends: lbBackends})
	hp, err := haproxy.New(h.RuntimeAPI(), haproxy.Options{
		HealthCheck: providers.HealthCheck{Interval: 100 * time.Millisecond, HealthyThreshold: 2, UnhealthyThreshold: 2},
	})
	must(t, err)

	// The operator: its controllers and its webhook in one manager, as the binary runs them.
	webhookPort := haproxytest.FreePort(t, "127.0.0.1")
	operatorCtx, stopOperator := context.WithCancel(ctx)
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme: controllers.NewScheme(), Cache: controllers.CacheOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: ptr(true)},
	})
	must(t, err)
	must(t, controllers.Setup(operatorCtx, mgr, controllers.Config{Provider: hp, BackendGroup: backendgroup.Options{
		PendingInterval: 50 * time.Millisecond, ResyncInterval: time.Second,
		// The default is 30s: how long a pod must exist before the gate of
		// a group that is gone is released (step 3).
		ServiceGoneGrace: 2 * time.Second,
	}}))
	must(t, webhookcfg.Setup(operatorCtx, mgr, webhookcfg.Options{
		Namespace: operatorNS, ServiceName: "lbgate-webhook-service", ConfigName: configName, SecretName: "lbgate-webhook-certs",
		URL:  fmt.Sprintf("https://127.0.0.1:%d%s", webhookPort, webhookcfg.Path),
		Host: "127.0.0.1", Port: webhookPort, FailurePolicy: admissionregistrationv1.Fail,
		OperatorPodLabels: map[string]string{"app.kubernetes.io/name": "lbgate", "app.kubernetes.io/component": "controller-manager"},
		CABundleSettle:    time.Second,
	}))
	operatorDone := make(chan error, 1)
	go func() { operatorDone <- mgr.Start(operatorCtx) }()
	operatorStopped := false
	t.Cleanup(func() {
		if !operatorStopped {
			stopOperator()
			if err := <-operatorDone; err != nil {
				t.Errorf("the operator stopped with an error: %v", err)
			}
		}
	})

	stub := kubelet.NewStub(c, "node-1")
	go stub.Run(ctx, ns)

	// web: opted in, three pods; HAProxy keeps web-3 unhealthy. api: a
	// Service that is not opted in, bound by a BackendGroup made by hand.
	// cart: opted in, no pods.
	service := func(name string, ann map[string]string) {
		t.Helper()
		must(t, c.Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: ann},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": name},
				Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
			},
		}))
	}
	service("web", map[string]string{v1alpha1.AnnotationDirectAccess: "true", v1alpha1.AnnotationLoadBalancer: "be_web"})
	service("cart", map[string]string{v1alpha1.AnnotationDirectAccess: "true", v1alpha1.AnnotationLoadBalancer: "be_cart"})
	service("api", nil)
	must(t, c.Create(ctx, &v1alpha1.BackendGroup{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "api"},
		Spec:       v1alpha1.BackendGroupSpec{ServiceName: "api", Ports: []v1alpha1.PortBinding{{Port: 80, Target: "be_api"}}},
	}))

	// newPod is a pod of app as a ReplicaSet would create it: no gate of its
	// own; the webhook adds what it adds.
	newPod := func(name, app string, port uint16) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": app}},
			Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app", Image: "example/" + app + ":v1",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(port)}}}}},
		}
	}
	haproxytest.Eventually(t, 30*time.Second, func() error {
		probe := newPod("probe", "web", 8080)
		if err := c.Create(ctx, probe, client.DryRunAll); err != nil {
			return err
		}
		if got := lbgateGates(probe); !slices.Equal(got, []string{v1alpha1.GateConditionType("web")}) {
			return fmt.Errorf("the webhook gives a web pod the gates %v", got)
		}
		return nil
	})

	type app struct {
		pod    *corev1.Pod
		server *haproxytest.Server
	}
	run := func(name, group string, ip int, healthy bool) app {
		t.Helper()
		srv := haproxytest.StartServer(t, name, haproxytest.LoopbackIP(ip))
		srv.SetHealthy(healthy)
		pod := newPod(name, group, srv.Addr.Port())
		must(t, c.Create(ctx, pod))
		if got := lbgateGates(pod); !slices.Equal(got, []string{v1alpha1.GateConditionType(group)}) {
			t.Fatalf("pod %s admitted with the gates %v, want the gate of %s", name, got, group)
		}
		if _, err := stub.RunPodAt(ctx, client.ObjectKeyFromObject(pod), srv.Addr.Addr().String(), true); err != nil {
			t.Fatal(err)
		}
		return app{pod, srv}
	}
	apps := []app{
		run("web-1", "web", 160, true),
		run("web-2", "web", 161, true),
		run("web-3", "web", 162, false),
		run("api-1", "api", 163, true),
	}
	haproxytest.Eventually(t, 30*time.Second, func() error {
		for _, a := range apps {
			want := "True/Healthy"
			if a.pod.Name == "web-3" {
				want = "False/Unhealthy"
			}
			if got := podGate(ctx, c, a.pod); got != want {
				return fmt.Errorf("pod %s: gate %q, want %q", a.pod.Name, got, want)
			}
		}
		return nil
	})
	if got := haproxytest.Sample(ctx, h.Frontend("be_web"), 4); got["web-1"]+got["web-2"] != 4 {
		t.Fatalf("traffic through HAProxy before the uninstall: %v, want every request served by web-1 or web-2", got)
	}
	if r := podReadyStatus(ctx, c, apps[2].pod); r != corev1.ConditionFalse {
		t.Fatalf("web-3, which HAProxy keeps unhealthy, is Ready=%q before the uninstall", r)
	}

	// Why the documented order. A group deleted while its Service is opted
	// in is made again at once; a webhook configuration deleted while the
	// operator runs is put back.
	cart := &v1alpha1.BackendGroup{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cart"}, cart))
	must(t, c.Delete(ctx, cart))
	haproxytest.Eventually(t, 10*time.Second, func() error {
		again := &v1alpha1.BackendGroup{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cart"}, again); err != nil {
			return err
		}
		if again.UID == cart.UID {
			return fmt.Errorf("the deleted group is still there")
		}
		return nil
	})
	whc := &admissionregistrationv1.MutatingWebhookConfiguration{}
	must(t, c.Get(ctx, client.ObjectKey{Name: configName}, whc))
	must(t, c.Delete(ctx, whc))
	haproxytest.Eventually(t, 10*time.Second, func() error {
		again := &admissionregistrationv1.MutatingWebhookConfiguration{}
		if err := c.Get(ctx, client.ObjectKey{Name: configName}, again); err != nil {
			return err
		}
		if again.UID == whc.UID {
			return fmt.Errorf("the deleted configuration is still there")
		}
		return nil
	})
	t.Log("a group deleted while its Service is opted in, and the webhook configuration deleted while the operator runs, both came back")

	start := time.Now()
	// 1. Opt every Service out (the doc's loop over `kubectl get services -A`).
	svcs := &corev1.ServiceList{}
	must(t, c.List(ctx, svcs))
	optedOut := 0
	for i := range svcs.Items {
		svc := &svcs.Items[i]
		if _, ok := svc.Annotations[v1alpha1.AnnotationDirectAccess]; !ok {
			continue
		}
		before := svc.DeepCopy()
		delete(svc.Annotations, v1alpha1.AnnotationDirectAccess)
		must(t, c.Patch(ctx, svc, client.MergeFrom(before)))
		optedOut++
	}
	if optedOut != 2 {
		t.Fatalf("opted %d Services out, want 2 (web, cart)", optedOut)
	}

	// 2. Delete every BackendGroup (`kubectl delete backendgroups --all -A`)
	// and wait until none is left.
	groups := &v1alpha1.BackendGroupList{}
	must(t, c.List(ctx, groups))
	for i := range groups.Items {
		must(t, client.IgnoreNotFound(c.Delete(ctx, &groups.Items[i])))
	}
	haproxytest.Eventually(t, 30*time.Second, func() error {
		left := &v1alpha1.BackendGroupList{}
		if err := c.List(ctx, left); err != nil {
			return err
		}
		if len(left.Items) > 0 {
			return fmt.Errorf("%d BackendGroups left, the first %s with finalizers %v", len(left.Items), left.Items[0].Name, left.Items[0].Finalizers)
		}
		return nil
	})
	t.Logf("every BackendGroup gone %s after the opt-out", time.Since(start).Round(time.Millisecond))

	// A pod created with the gate of web after its group went (a webhook
	// that had not seen the opt-out yet gives it that gate).
	late := newPod("web-late", "web", 8080)
	late.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: corev1.PodConditionType(v1alpha1.GateConditionType("web"))}}
	must(t, c.Create(ctx, late))
	if _, err := stub.RunPod(ctx, client.ObjectKeyFromObject(late), true); err != nil {
		t.Fatal(err)
	}

	// 3. Wait until no pod holds a lbgate gate that is not True (the doc's jq filter).
	haproxytest.Eventually(t, 30*time.Second, func() error {
		if held := heldPods(ctx, c); len(held) > 0 {
			return fmt.Errorf("pods held by a lbgate gate: %v", held)
		}
		return nil
	})
	t.Logf("no pod held by a lbgate gate %s after the opt-out", time.Since(start).Round(time.Millisecond))

	// 4. Stop the operator (scale the Deployment to 0 and wait for its pods to go).
	stopOperator()
	if err := <-operatorDone; err != nil {
		t.Fatalf("the operator stopped with an error: %v", err)
	}
	operatorStopped = true

	// 5. Delete the install (`kubectl delete -k config/default`).
	must(t, c.Delete(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: configName}}))
	must(t, c.Delete(ctx, &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: crdName}}))
	must(t, c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNS}}))

	// Nothing is left: no webhook configuration of lbgate, then or a while
	// later (a running operator would have put it back within milliseconds) ...
	gomega.NewWithT(t).Consistently(func() []string {
		whcs := &admissionregistrationv1.MutatingWebhookConfigurationList{}
		if err := c.List(ctx, whcs); err != nil {
			return []string{err.Error()}
		}
		var left []string
		for _, w := range whcs.Items {
			for _, hook := range w.Webhooks {
				if strings.HasSuffix(hook.Name, "lbgate.dev") {
					left = append(left, w.Name+": "+hook.Name)
				}
			}
		}
		return left
	}).WithTimeout(2*time.Second).WithPolling(100*time.Millisecond).Should(gomega.BeEmpty(), "webhook configurations of lbgate left")
	// ... no BackendGroup to hold the CRD: it goes at once ...
	haproxytest.Eventually(t, 10*time.Second, func() error {
		err := c.Get(ctx, client.ObjectKey{Name: crdName}, &apiextensionsv1.CustomResourceDefinition{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("the CRD %s is still there (%w)", crdName, err)
		}
		return fmt.Errorf("the CRD %s is still there", crdName)
	})
	// ... no backend on HAProxy: every lbgate slot parked in maintenance,
	// so the frontends have no server to send to ...
	for _, be := range lbBackends {
		listed, err := hp.List(ctx, be)
		must(t, err)
		if len(listed) > 0 {
			t.Errorf("HAProxy backend %s still has %v", be, listed)
		}
		states, err := haproxy.ParseServersState(h.MustCommand("show servers state " + be))
		must(t, err)
		for _, s := range states {
			if !s.Admin.Maint() {
				t.Errorf("HAProxy backend %s: server %s at %s is not in maintenance (admin %#x)", be, s.Name, s.AddrPort(), s.Admin)
			}
		}
	}
	if code, _, err := haproxytest.Get(ctx, h.Frontend("be_web")); err != nil || code != http.StatusServiceUnavailable {
		t.Errorf("HAProxy's web frontend answered %d (%v) after the uninstall, want 503: no server", code, err)
	}
	// ... every pod Ready, each lbgate gate True ...
	pods := &corev1.PodList{}
	must(t, c.List(ctx, pods, client.InNamespace(ns)))
	if len(pods.Items) != len(apps)+1 {
		t.Errorf("%d pods after the uninstall, want %d", len(pods.Items), len(apps)+1)
	}
	for i := range pods.Items {
		pod := &pods.Items[i]
		if r := podReadyStatus(ctx, c, pod); r != corev1.ConditionTrue {
			t.Errorf("pod %s is Ready=%q after the uninstall", pod.Name, r)
		}
		group := strings.TrimPrefix(lbgateGates(pod)[0], v1alpha1.GateConditionPrefix)
		want := "True/BackendGroupRemoved"
		if pod.Name == "web-1" || pod.Name == "web-2" || pod.Name == "api-1" {
			want = "True/Healthy" // a gate that is True stays as it was
		}
		if got := podGate(ctx, c, pod); got != want || group != pod.Labels["app"] {
			t.Errorf("pod %s: gate of %s is %q, want %q", pod.Name, group, got, want)
		}
	}
	// ... and a new pod is admitted, with no gate and no preStop sleep.
	after := newPod("web-after", "web", 8080)
	if err := c.Create(ctx, after); err != nil {
		t.Fatalf("a pod created after the uninstall was refused: %v", err)
	}
	if len(after.Spec.ReadinessGates) > 0 || after.Spec.Containers[0].Lifecycle != nil {
		t.Errorf("a pod created after the uninstall got gates %v and lifecycle %+v", after.Spec.ReadinessGates, after.Spec.Containers[0].Lifecycle)
	}
	t.Logf("uninstalled in %s (opt-out to install deleted), nothing left", time.Since(start).Round(time.Millisecond))
}

// lbgateGates lists the pod's readiness gates that lbgate owns.
func lbgateGates(pod *corev1.Pod) []string {
	var out []string
	for _, g := range pod.Spec.ReadinessGates {
		if strings.HasPrefix(string(g.ConditionType), v1alpha1.GateConditionPrefix) {
			out = append(out, string(g.ConditionType))
		}
	}
	return out
}

// podGate renders the pod's (first) lbgate gate condition as "Status/Reason",
// read from the API ("" when the condition is not written).
func podGate(ctx context.Context, c client.Client, pod *corev1.Pod) string {
	cur := &corev1.Pod{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(pod), cur); err != nil {
		return err.Error()
	}
	gates := lbgateGates(cur)
	if len(gates) == 0 {
		return ""
	}
	for _, cond := range cur.Status.Conditions {
		if string(cond.Type) == gates[0] {
			return string(cond.Status) + "/" + cond.Reason
		}
	}
	return ""
}

// podReadyStatus reads the pod's Ready condition from the API.
func podReadyStatus(ctx context.Context, c client.Client, pod *corev1.Pod) corev1.ConditionStatus {
	cur := &corev1.Pod{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(pod), cur); err != nil {
		return ""
	}
	for _, cond := range cur.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status
		}
	}
	return ""
}

// heldPods lists the pods (namespace/name) with a lbgate readiness gate whose
// condition is not True: the check of docs/upgrade.md, step 3.
func heldPods(ctx context.Context, c client.Client) []string {
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods); err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, pod := range pods.Items {
		for _, g := range lbgateGates(&pod) {
			if !slices.ContainsFunc(pod.Status.Conditions, func(cond corev1.PodCondition) bool {
				return string(cond.Type) == g && cond.Status == corev1.ConditionTrue
			}) {
				out = append(out, pod.Namespace+"/"+pod.Name)
				break
			}
		}
	}
	return out
}
