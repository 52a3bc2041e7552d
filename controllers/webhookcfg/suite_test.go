package webhookcfg_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/lbgate/lbgate/controllers"
	"github.com/lbgate/lbgate/controllers/backendgroup"
	"github.com/lbgate/lbgate/controllers/webhookcfg"
	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/fake"
)

// The suite runs the operator's manager (its controllers with the fake load
// balancer, and the webhook with its self-repair) against a real etcd and
// kube-apiserver. The webhook listens on 127.0.0.1 and the configuration
// calls it by URL, so every pod creation goes through the apiserver to the
// webhook over TLS (one spec, incluster_test.go, has it call the webhook
// through its Service instead).

const operatorNS = "lbgate-system"

var (
	testEnv *envtest.Environment
	cfg     *rest.Config
	k8s     client.WithWatch
	lb      *fake.Provider
	suite   context.Context
	mgr     *managerHandle

	webhookPort int
)

func TestWebhookcfg(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(20 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	SetDefaultConsistentlyDuration(2 * time.Second)
	SetDefaultConsistentlyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "Webhook self-repair suite (envtest)")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	suite = context.Background()
	var err error
	testEnv, cfg, k8s, err = startControlPlane(filepath.Join("..", "..", "config", "crd", "bases"))
	Expect(err).NotTo(HaveOccurred())
	webhookPort = freePort()
	lb = fake.New(providers.Limits{})
	lb.CreateTargetsOnUse(true)
	Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNS}})).To(Succeed())
	mgr = startManager(defaultOptions())
})

var _ = AfterSuite(func() {
	if mgr != nil {
		mgr.stop()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// startControlPlane starts etcd and kube-apiserver from KUBEBUILDER_ASSETS.
func startControlPlane(crds string) (*envtest.Environment, *rest.Config, client.WithWatch, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return nil, nil, nil, fmt.Errorf("KUBEBUILDER_ASSETS is unset: run the tests with 'make test', which builds etcd and kube-apiserver into bin/k8s")
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{crds},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	c, err := env.Start()
	if err != nil {
		return nil, nil, nil, err
	}
	cl, err := client.NewWithWatch(c, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		return nil, nil, nil, err
	}
	return env, c, cl, nil
}

// defaultOptions are the suite's webhook options: URL mode on 127.0.0.1,
// certificates lbgate issues, failurePolicy Ignore.
func defaultOptions() webhookcfg.Options {
	return webhookcfg.Options{
		Namespace:         operatorNS,
		ServiceName:       "lbgate-webhook-service",
		ConfigName:        "lbgate-pod-gates",
		SecretName:        "lbgate-webhook-certs",
		URL:               fmt.Sprintf("https://127.0.0.1:%d%s", webhookPort, webhookcfg.Path),
		Host:              "127.0.0.1",
		Port:              webhookPort,
		OperatorPodLabels: map[string]string{"app.kubernetes.io/name": "lbgate", "app.kubernetes.io/component": "controller-manager"},
		CABundleSettle:    time.Second,
		ResyncInterval:    30 * time.Second,
	}
}

// managerHandle is a running manager that a test can stop and replace.
type managerHandle struct {
	opts      webhookcfg.Options
	probeAddr string
	cancel    context.CancelFunc
	done      chan struct{}
}

// startManager starts the operator's manager as the binary wires it, with
// the given webhook options, and waits until the webhook reports ready.
func startManager(o webhookcfg.Options) *managerHandle {
	h, err := newManager(cfg, o, true)
	Expect(err).NotTo(HaveOccurred())
	Eventually(h.ready).WithTimeout(30 * time.Second).Should(Succeed())
	return h
}

// newManager builds and starts a manager; withControllers adds lbgate's
// controllers (the benchmark runs the webhook alone).
func newManager(c *rest.Config, o webhookcfg.Options, withControllers bool, tune ...func(*ctrl.Options)) (*managerHandle, error) {
	h := &managerHandle{opts: o, probeAddr: fmt.Sprintf("127.0.0.1:%d", freePort()), done: make(chan struct{})}
	mo := ctrl.Options{
		Scheme:                 controllers.NewScheme(),
		Cache:                  controllers.CacheOptions(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: h.probeAddr,
		Controller:             config.Controller{SkipNameValidation: ptr(true)},
	}
	for _, t := range tune {
		t(&mo)
	}
	m, err := ctrl.NewManager(c, mo)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	if withControllers {
		if err := controllers.Setup(ctx, m, controllers.Config{Provider: lb, BackendGroup: backendgroup.Options{
			PendingInterval: 100 * time.Millisecond,
			ResyncInterval:  10 * time.Second,
		}}); err != nil {
			cancel()
			return nil, err
		}
	}
	if err := webhookcfg.Setup(ctx, m, o); err != nil {
		cancel()
		return nil, err
	}
	go func() {
		defer close(h.done)
		if err := m.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager stopped with an error:", err)
		}
	}()
	return h, nil
}

// ready asks the manager's readiness endpoint for the webhook check.
func (h *managerHandle) ready() error {
	resp, err := http.Get("http://" + h.probeAddr + "/readyz/" + webhookcfg.ReadyCheckName)
	if err != nil {
		return err
	}
	defer resp.Body.Close() //nolint:errcheck
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("readyz: %s: %s", resp.Status, body)
	}
	return nil
}

func (h *managerHandle) stop() {
	h.cancel()
	<-h.done
}

// restartManager replaces the suite's manager with one using o, waits until
// it is ready, and puts the default one back when the spec ends (prepare
// runs in between, with no manager running, for example to delete the Secret).
func restartManager(o webhookcfg.Options, prepare func()) {
	replaceManager(o, prepare)
	Eventually(mgr.ready).WithTimeout(30 * time.Second).Should(Succeed())
}

// replaceManager is restartManager without waiting for readiness.
func replaceManager(o webhookcfg.Options, prepare func(), tune ...func(*ctrl.Options)) {
	replaceManagerAs(cfg, o, prepare, tune...)
}

// replaceManagerAs is replaceManager with the manager talking to the
// apiserver through c (for example as another user).
func replaceManagerAs(c *rest.Config, o webhookcfg.Options, prepare func(), tune ...func(*ctrl.Options)) {
	mgr.stop()
	if prepare != nil {
		prepare()
	}
	h, err := newManager(c, o, true, tune...)
	Expect(err).NotTo(HaveOccurred())
	mgr = h
	DeferCleanup(func() {
		mgr.stop()
		deleteSecret(suite)
		mgr = startManager(defaultOptions())
	})
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close() //nolint:errcheck
	return l.Addr().(*net.TCPAddr).Port
}

func ptr[T any](v T) *T { return &v }
