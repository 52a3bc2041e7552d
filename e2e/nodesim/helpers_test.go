package nodesim

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// The integration tests run the simulator against a real etcd and
// kube-apiserver started once for the package by envtest.

var (
	envOnce sync.Once
	env     *envtest.Environment
	envCfg  *rest.Config
	envErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if env != nil {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
		}
	}
	os.Exit(code)
}

// apiserver returns a config and client for the shared test apiserver,
// skipping the test when the control-plane binaries are not available.
func apiserver(t *testing.T) (*rest.Config, kubernetes.Interface) {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Skip("KUBEBUILDER_ASSETS is unset: this test needs etcd and kube-apiserver; run 'make test' (which builds them into bin/k8s) or set KUBEBUILDER_ASSETS=$PWD/bin/k8s/1.37.2")
	}
	envOnce.Do(func() {
		env = &envtest.Environment{BinaryAssetsDirectory: assets}
		envCfg, envErr = env.Start()
	})
	if envErr != nil {
		t.Fatalf("starting envtest from %s: %v", assets, envErr)
	}
	c, err := kubernetes.NewForConfig(envCfg)
	if err != nil {
		t.Fatal(err)
	}
	return envCfg, c
}

// runSeq makes node names unique across repeated runs (-count) on the
// shared apiserver, where Nodes and pods of earlier runs stay behind.
var runSeq atomic.Int64

// nodeName returns a fresh node name starting with base.
func nodeName(base string) string { return fmt.Sprintf("%s-%d", base, runSeq.Add(1)) }

// startSim starts a simulator for the test and stops it when the test ends.
func startSim(t *testing.T, cfg *rest.Config, o Options) *Simulator {
	t.Helper()
	o.Config = cfg
	if o.Logger.GetSink() == nil {
		o.Logger = testr.NewWithOptions(t, testr.Options{Verbosity: 1})
	}
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = 500 * time.Millisecond
	}
	sim, err := Start(context.Background(), o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(sim.Stop)
	return sim
}

// namespace creates a namespace for the test.
func namespace(t *testing.T, c kubernetes.Interface) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 50 {
		name = name[:50]
	}
	name = fmt.Sprintf("%s-%d", strings.TrimRight(name, "-"), time.Now().UnixNano()%100000)
	_, err := c.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// eventually polls f until it returns nil or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %v: %v", what, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// podOpts shape a test pod.
type podOpts struct {
	image     string
	env       []corev1.EnvVar
	probe     bool
	failures  int32
	gate      corev1.PodConditionType
	preStop   int64
	grace     int64
	noPorts   bool
	annotate  map[string]string
	container string
}

// testPod is a pod bound to node with one container serving port 8080,
// optionally with an httpGet readiness probe on /ready (period 1 s), a
// readiness gate and a preStop sleep.
func testPod(ns, name, node string, o podOpts) *corev1.Pod {
	if o.image == "" {
		o.image = "example.com/web:v1"
	}
	if o.container == "" {
		o.container = "app"
	}
	c := corev1.Container{Name: o.container, Image: o.image, Env: o.env}
	if !o.noPorts {
		c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
	}
	if o.probe {
		c.ReadinessProbe = &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}},
			PeriodSeconds:    1,
			FailureThreshold: max(o.failures, 1),
		}
	}
	if o.preStop > 0 {
		c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: o.preStop}}}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: o.annotate},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{c}},
	}
	if o.gate != "" {
		pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: o.gate}}
	}
	if o.grace > 0 {
		pod.Spec.TerminationGracePeriodSeconds = &o.grace
	}
	return pod
}

func createPod(t *testing.T, c kubernetes.Interface, pod *corev1.Pod) types.NamespacedName {
	t.Helper()
	if _, err := c.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}
}

func getPod(c kubernetes.Interface, key types.NamespacedName) (*corev1.Pod, error) {
	return c.CoreV1().Pods(key.Namespace).Get(context.Background(), key.Name, metav1.GetOptions{})
}

// podCondition returns the pod's condition of type ct (zero when missing).
func podCondition(pod *corev1.Pod, ct corev1.PodConditionType) corev1.PodCondition {
	if c := findCondition(pod.Status.Conditions, ct); c != nil {
		return *c
	}
	return corev1.PodCondition{}
}

// waitCondition waits until the pod's condition ct has status want and returns the pod.
func waitCondition(t *testing.T, c kubernetes.Interface, key types.NamespacedName, ct corev1.PodConditionType, want corev1.ConditionStatus, timeout time.Duration) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	eventually(t, timeout, fmt.Sprintf("%s %s=%s", key, ct, want), func() error {
		var err error
		if pod, err = getPod(c, key); err != nil {
			return err
		}
		if got := podCondition(pod, ct); got.Status != want {
			return fmt.Errorf("%s is %q (%s: %s)", ct, got.Status, got.Reason, got.Message)
		}
		return nil
	})
	return pod
}

// waitRunning waits until the pod is Running with an address and returns it.
func waitRunning(t *testing.T, c kubernetes.Interface, key types.NamespacedName) (*corev1.Pod, netip.Addr) {
	t.Helper()
	var pod *corev1.Pod
	eventually(t, 10*time.Second, key.String()+" Running with an IP", func() error {
		var err error
		if pod, err = getPod(c, key); err != nil {
			return err
		}
		if pod.Status.Phase != corev1.PodRunning || pod.Status.PodIP == "" {
			return fmt.Errorf("phase %s ip %q", pod.Status.Phase, pod.Status.PodIP)
		}
		return nil
	})
	return pod, netip.MustParseAddr(pod.Status.PodIP)
}

// setGate writes a readiness gate condition as the operator does: a patch of the status subresource.
func setGate(t *testing.T, c kubernetes.Interface, key types.NamespacedName, gate corev1.PodConditionType, status corev1.ConditionStatus) {
	t.Helper()
	patch := fmt.Sprintf(`{"status":{"conditions":[{"type":%q,"status":%q,"reason":"Test","lastTransitionTime":%q}]}}`,
		gate, status, time.Now().UTC().Format(time.RFC3339))
	_, err := c.CoreV1().Pods(key.Namespace).Patch(context.Background(), key.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatal(err)
	}
}

// waitGone waits until the pod no longer exists.
func waitGone(t *testing.T, c kubernetes.Interface, key types.NamespacedName, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, key.String()+" removed", func() error {
		_, err := getPod(c, key)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("still there")
	})
}

// httpClient never keeps connections, so tests leave nothing open.
var httpClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}

// fetch GETs http://ip:port/path and returns the status code and body.
func fetch(ip netip.Addr, port int, path string) (int, string, error) {
	res, err := httpClient.Get(fmt.Sprintf("http://%s%s", net.JoinHostPort(ip.String(), fmt.Sprint(port)), path))
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// refused reports whether a TCP connection to ip:port is refused.
func refused(ip netip.Addr, port int) bool {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(ip.String(), fmt.Sprint(port)), time.Second)
	if err != nil {
		return true
	}
	_ = conn.Close()
	return false
}
