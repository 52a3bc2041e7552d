// Command lbgate runs the lbgate operator: it binds the pods behind opted-in
// Services straight to a load balancer and holds each pod's readiness gate
// until the load balancer's own health check passes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"

	"github.com/lbgate/lbgate/controllers"
	providermetrics "github.com/lbgate/lbgate/providers/metrics"
)

func main() {
	var o options
	var m metricsOptions
	o.bind(flag.CommandLine)
	o.webhook.bind(flag.CommandLine)
	m.bind(flag.CommandLine)
	flag.Parse()
	if err := run(ctrl.SetupSignalHandler(), o, m); err != nil {
		fmt.Fprintln(os.Stderr, "lbgate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, m metricsOptions) error {
	s, err := o.settings()
	if err != nil {
		return err
	}
	metrics, err := m.serverOptions(o.metricsAddr)
	if err != nil {
		return err
	}
	zcfg := zap.NewProductionConfig()
	if o.logFormat == "console" {
		zcfg = zap.NewDevelopmentConfig()
	}
	zcfg.Level = zap.NewAtomicLevelAt(s.logLevel)
	zl, err := zcfg.Build()
	if err != nil {
		return fmt.Errorf("building logger: %w", err)
	}
	logger := zapr.NewLogger(zl)
	ctrl.SetLogger(logger)
	klog.SetLogger(logger)
	if err := servePprof(ctx, logger); err != nil {
		return err
	}

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading kubeconfig: %w", err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  controllers.NewScheme(),
		Cache:                   controllers.CacheOptions(),
		Metrics:                 metrics,
		HealthProbeBindAddress:  o.probeAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        o.leaderElectionID,
		LeaderElectionNamespace: o.leaderElectionNS,
		// A leader that stops (a rolling update of lbgate itself, a
		// drained node) gives the lease up, so a standby takes over within
		// a retry period instead of a whole lease duration. Safe: Start
		// returns only after every controller has stopped.
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &s.leaderElection.leaseDuration,
		RenewDeadline:                 &s.leaderElection.renewDeadline,
		RetryPeriod:                   &s.leaderElection.retryPeriod,
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	if err := controllers.Setup(ctx, mgr, controllers.Config{Provider: providermetrics.Wrap(s.provider), BackendGroup: s.backendGroup}); err != nil {
		return err
	}
	if err := setupWebhook(ctx, mgr, o.webhook, s.webhook); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	// Not ready (so no webhook traffic from a Service in front of us) until the
	// informer caches the webhook and controllers read from have synced.
	if err := mgr.AddReadyzCheck("informers", func(*http.Request) error {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return errors.New("informer caches not synced yet")
		}
		return nil
	}); err != nil {
		return err
	}
	logger.Info("starting lbgate", "provider", s.provider.Name(), "defaultNetworkMode", s.backendGroup.DefaultMode,
		"gatePollInterval", s.backendGroup.PendingInterval, "resyncInterval", s.backendGroup.ResyncInterval,
		"metricsAddress", o.metricsAddr, "metricsSecure", metrics.SecureServing)
	return mgr.Start(ctx)
}
