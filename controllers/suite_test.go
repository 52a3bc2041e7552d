package controllers_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/controllers"
	"github.com/lbgate/lbgate/controllers/backendgroup"
	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/fake"
)

// The suite runs the controllers in a real manager against a real etcd and
// kube-apiserver (built from source into bin/k8s by the Makefile). The load
// balancer is the in-memory fake; the kubelet is played by e2e/kubelet.Stub.

const (
	// batchLimit is the fake load balancer's largest batch.
	batchLimit = 3
)

var (
	testEnv *envtest.Environment
	cfg     *rest.Config
	k8s     client.WithWatch
	lb      *fake.Provider
	suite   context.Context
	mgr     *managerHandle
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(20 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	SetDefaultConsistentlyDuration(time.Second)
	SetDefaultConsistentlyPollingInterval(50 * time.Millisecond)
	RunSpecs(t, "Controllers suite (envtest)")
}

var _ = BeforeSuite(func(_ SpecContext) {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	suite = context.Background()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	Expect(assets).NotTo(BeEmpty(), "KUBEBUILDER_ASSETS is unset: run the tests with 'make test', which builds etcd and kube-apiserver into bin/k8s")
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	var err error
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8s, err = client.NewWithWatch(cfg, client.Options{Scheme: controllers.NewScheme()})
	Expect(err).NotTo(HaveOccurred())
	lb = fake.New(providers.Limits{MaxBatch: batchLimit})
	mgr = startManager()
})

var _ = AfterSuite(func() {
	if mgr != nil {
		mgr.stop()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// managerHandle is a running manager that a test can stop and replace.
type managerHandle struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startManager starts the operator's controllers as the binary wires them.
func startManager() *managerHandle { return startManagerWith(cfg, nil) }

// startManagerWith starts the controllers as startManager does, acting as
// c's user, with the operator's client made by newClient (nil:
// controller-runtime's).
func startManagerWith(c *rest.Config, newClient client.NewClientFunc) *managerHandle {
	m, err := ctrl.NewManager(c, ctrl.Options{
		Scheme:                 controllers.NewScheme(),
		Cache:                  controllers.CacheOptions(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr(true)},
		NewClient:              newClient,
	})
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(suite)
	Expect(controllers.Setup(ctx, m, controllers.Config{Provider: lb, BackendGroup: backendgroup.Options{
		PendingInterval: 100 * time.Millisecond,
		ResyncInterval:  3 * time.Second,
		// Short, so the spec of a group without its Service sees the grace end.
		ServiceGoneGrace: 2 * time.Second,
		// Short, so the quota spec sees a blocked rollout reported.
		RolloutBlockedAfter: 2 * time.Second,
		CIDRs:               map[v1alpha1.NetworkMode][]netip.Prefix{v1alpha1.NetworkModeGlobalRouter: {netip.MustParsePrefix("127.2.0.0/16")}},
	}})).To(Succeed())
	h := &managerHandle{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer GinkgoRecover()
		defer close(h.done)
		Expect(m.Start(ctx)).To(Succeed())
	}()
	return h
}

func (h *managerHandle) stop() {
	h.cancel()
	<-h.done
}

func ptr[T any](v T) *T { return &v }
