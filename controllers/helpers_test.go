package controllers_test

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/e2e/kubelet"
	"github.com/lbgate/lbgate/internal/testbuild"
	"github.com/lbgate/lbgate/providers"
)

// testNS is one spec's namespace, its kubelet stub and its load-balancer target.
type testNS struct {
	name    string
	target  string
	kubelet *kubelet.Stub
}

// newTestNS creates a namespace, a target on the fake load balancer, and a
// kubelet stub that keeps the namespace's pods' Ready conditions.
func newTestNS(ctx context.Context) *testNS {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "lbgate-test-"}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	t := &testNS{name: ns.Name, target: "be-" + ns.Name, kubelet: kubelet.NewStub(k8s, "node-1")}
	lb.AddTarget(t.target)
	runCtx, cancel := context.WithCancel(suite)
	go t.kubelet.Run(runCtx, ns.Name)
	DeferCleanup(cancel)
	return t
}

// service returns an opted-in Service named name selecting app=name, port 80 to the pod port "http".
func (t *testNS) service(name string, annotations map[string]string) *corev1.Service {
	ann := map[string]string{
		v1alpha1.AnnotationDirectAccess:        "true",
		v1alpha1.AnnotationLoadBalancer:        t.target,
		v1alpha1.AnnotationDeregistrationDelay: "1s",
	}
	maps.Copy(ann, annotations)
	return testbuild.Service(name, testbuild.Namespace(t.name), testbuild.Annotations(ann),
		testbuild.Selector(map[string]string{"app": name}),
		testbuild.Ports(testbuild.ServicePort("http", 80, intstr.FromString("http"), "")))
}

// createService creates an opted-in Service and waits for its BackendGroup.
func (t *testNS) createService(ctx context.Context, name string, annotations map[string]string) *corev1.Service {
	svc := t.service(name, annotations)
	Expect(k8s.Create(ctx, svc)).To(Succeed())
	Eventually(func() error {
		return k8s.Get(ctx, client.ObjectKey{Namespace: t.name, Name: name}, &v1alpha1.BackendGroup{})
	}).Should(Succeed())
	return svc
}

// pod returns a pod for app on node-1 with the gate of group bg (none when
// bg is empty) and a container port "http" 8080.
func (t *testNS) pod(name, app, bg string) *corev1.Pod {
	opts := []testbuild.PodOption{
		testbuild.Namespace(t.name),
		testbuild.Labels(map[string]string{"app": app}),
		testbuild.NodeName("node-1"),
		testbuild.Containers(testbuild.Container("app", "example/app:v1", testbuild.ContainerPort("http", 8080, ""))),
	}
	if bg != "" {
		opts = append(opts, testbuild.ReadinessGates(v1alpha1.GateConditionType(bg)))
	}
	return testbuild.Pod(name, opts...)
}

// runPod creates a pod for app gated by group app and has the kubelet stub run it with ready containers.
func (t *testNS) runPod(ctx context.Context, name, app string) *corev1.Pod {
	pod := t.pod(name, app, app)
	Expect(k8s.Create(ctx, pod)).To(Succeed())
	running, err := t.kubelet.RunPod(ctx, client.ObjectKeyFromObject(pod), true)
	Expect(err).NotTo(HaveOccurred())
	return running
}

// healthyAndPending runs two pods of group web: web-1, which the load
// balancer reports healthy (gate True), and web-2, still waiting for its
// health check (gate False).
func (t *testNS) healthyAndPending(ctx context.Context) (healthy, pending *corev1.Pod) {
	healthy = t.runPod(ctx, "web-1", "web")
	pending = t.runPod(ctx, "web-2", "web")
	Eventually(backends(t.target)).Should(ConsistOf(addr(healthy), addr(pending)))
	Expect(lb.SetHealth(t.target, addr(healthy), providers.HealthHealthy)).To(BeTrue())
	Eventually(gateState(ctx, healthy, "web")).Should(Equal("True/Healthy"))
	// No False is written while its check runs (issue 11): the pod has no condition yet.
	Expect(gateState(ctx, pending, "web")()).To(BeEmpty())
	return healthy, pending
}

// deploymentOwner creates a Deployment with its rolling-update bounds and a
// ReplicaSet it controls, and returns the owner references of a pod of
// that ReplicaSet. Nothing runs them: they only say whose a pod is.
func (t *testNS) deploymentOwner(ctx context.Context, name string, replicas int32, surge, unavailable intstr.IntOrString) []metav1.OwnerReference {
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: t.name, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example/app:v2"}}},
			},
		},
	}
	Expect(k8s.Create(ctx, d)).To(Succeed())
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: t.name, Name: name + "-v2",
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr(int32(1)), Selector: d.Spec.Selector, Template: d.Spec.Template},
	}
	Expect(k8s.Create(ctx, rs)).To(Succeed())
	return []metav1.OwnerReference{*metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))}
}

// addr is the pod's backend address on port 8080.
func addr(pod *corev1.Pod) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr(pod.Status.PodIP), 8080)
}

// gate reads the pod's gate condition of group bg (nil when absent).
func gate(ctx context.Context, pod *corev1.Pod, bg string) *corev1.PodCondition {
	cur := &corev1.Pod{}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(pod), cur); err != nil {
		return nil
	}
	for _, c := range cur.Status.Conditions {
		if string(c.Type) == v1alpha1.GateConditionType(bg) {
			return &c
		}
	}
	return nil
}

// gateState renders a gate as "Status/Reason" for matchers ("" when absent).
func gateState(ctx context.Context, pod *corev1.Pod, bg string) func() string {
	return func() string {
		c := gate(ctx, pod, bg)
		if c == nil {
			return ""
		}
		return string(c.Status) + "/" + c.Reason
	}
}

// podReady reads the pod's Ready condition status.
func podReady(ctx context.Context, pod *corev1.Pod) func() corev1.ConditionStatus {
	return func() corev1.ConditionStatus {
		cur := &corev1.Pod{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(pod), cur); err != nil {
			return ""
		}
		for _, c := range cur.Status.Conditions {
			if c.Type == corev1.PodReady {
				return c.Status
			}
		}
		return ""
	}
}

// backends lists the addresses the fake load balancer holds for a target.
func backends(target string) func() []netip.AddrPort {
	return func() []netip.AddrPort {
		var out []netip.AddrPort
		for _, b := range lb.Backends(target) {
			out = append(out, b.Addr)
		}
		return out
	}
}

// health reads one backend's health on the fake load balancer.
func health(target string, a netip.AddrPort) func() providers.Health {
	return func() providers.Health {
		for _, b := range lb.Backends(target) {
			if b.Addr == a {
				return b.Health
			}
		}
		return ""
	}
}

// group reads a BackendGroup.
func group(ctx context.Context, ns, name string) *v1alpha1.BackendGroup {
	bg := &v1alpha1.BackendGroup{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, bg)).To(Succeed())
	return bg
}

// condition renders a group condition as "Status/Reason: message".
func condition(ctx context.Context, ns, name, condType string) func() string {
	return func() string {
		bg := &v1alpha1.BackendGroup{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, bg); err != nil {
			return err.Error()
		}
		for _, c := range bg.Status.Conditions {
			if c.Type == condType {
				return fmt.Sprintf("%s/%s: %s", c.Status, c.Reason, c.Message)
			}
		}
		return ""
	}
}

// eventsFor lists the notes of events about an object with a reason.
func eventsFor(ctx context.Context, ns, kind, name, reason string) func() []string {
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

// registerCalls counts how many Register calls carried each address of a target.
func registerCalls(target string) map[netip.AddrPort]int {
	out := map[netip.AddrPort]int{}
	for _, c := range lb.CallsOf("Register") {
		if c.Target != target || c.Err != nil {
			continue
		}
		for _, a := range c.Addrs {
			out[a]++
		}
	}
	return out
}

// setAnnotation changes one annotation of a Service.
func setAnnotation(ctx context.Context, svc *corev1.Service, key, value string) {
	cur := &corev1.Service{}
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(svc), cur)).To(Succeed())
	before := cur.DeepCopy()
	if value == "" {
		delete(cur.Annotations, key)
	} else {
		cur.Annotations[key] = value
	}
	Expect(k8s.Patch(ctx, cur, client.MergeFrom(before))).To(Succeed())
}

// startEnvtest starts a kube-apiserver and etcd of its own for one test,
// with the BackendGroup CRD, stopped when the test ends.
func startEnvtest(t *testing.T) *rest.Config {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Fatal("KUBEBUILDER_ASSETS is unset: run the tests with 'make test'")
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	return cfg
}

// installUser is who asInstallRBAC's configuration acts as.
const installUser = "lbgate-install-rbac"

// asInstallRBAC grants installUser the ClusterRole of config/rbac/role.yaml
// (generated from the code's markers, what the install binds to lbgate's
// ServiceAccount) and returns the suite's configuration impersonating it.
func asInstallRBAC(ctx context.Context) *rest.Config {
	raw, err := os.ReadFile(filepath.Join("..", "config", "rbac", "role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var role *rbacv1.ClusterRole
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var meta metav1.TypeMeta
		Expect(yaml.Unmarshal([]byte(doc), &meta)).To(Succeed())
		if meta.Kind == "ClusterRole" {
			role = &rbacv1.ClusterRole{}
			Expect(yaml.UnmarshalStrict([]byte(doc), role)).To(Succeed())
		}
	}
	Expect(role).NotTo(BeNil(), "no ClusterRole in config/rbac/role.yaml")
	role.Name = installUser
	Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, role))).To(Succeed())
	Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: installUser},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: installUser},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: installUser}},
	}))).To(Succeed())
	c := rest.CopyConfig(cfg)
	c.Impersonate = rest.ImpersonationConfig{UserName: installUser}
	return c
}
