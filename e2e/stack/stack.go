package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/lbgate/lbgate/controllers"
	"github.com/lbgate/lbgate/e2e/cluster"
	"github.com/lbgate/lbgate/e2e/nodesim"
	"github.com/lbgate/lbgate/providers/haproxy/haproxytest"
)

// OperatorNamespace is the namespace the operator "runs in": it holds the
// webhook Secret and is never mutated by the webhook.
const OperatorNamespace = "lbgate-system"

// Options configure a stack.
type Options struct {
	// ModuleDir is the repository root (CRDs, and cmd/lbgate when OperatorBinary is empty).
	ModuleDir string
	// OperatorBinary is a built lbgate; empty builds one into the work dir.
	OperatorBinary string
	// BinDir holds etcd and the Kubernetes binaries (default $KUBEBUILDER_ASSETS).
	BinDir string
	// WorkDir holds logs and state (default a new temporary directory, removed by Stop).
	WorkDir string
	// Backends are the HAProxy backends to create, one frontend each, with
	// those scenario files declare (DeclareBackends).
	Backends []string
	// DeclaredSlots and ServerState configure HAProxy as
	// haproxytest.Config's fields of the same names: server-template slots
	// per backend, and a server-state-file that a graceful reload loads.
	DeclaredSlots map[string]int
	ServerState   bool
	// Nodes is the number of simulated nodes (default 3).
	Nodes int
	// OperatorArgs are extra flags for lbgate.
	OperatorArgs []string
	// Logf receives progress lines (default: none).
	Logf func(format string, args ...any)
	// Output receives the control plane's output (default: only its log files).
	Output io.Writer
}

// Stack is a running end-to-end stack.
type Stack struct {
	Cluster  *cluster.Cluster
	HAProxy  *haproxytest.HAProxy
	Sim      *nodesim.Simulator
	Operator *Operator
	Client   client.WithWatch
	Config   *rest.Config

	opts    Options
	workDir string
	// providerArgs replace the HAProxy provider flags of lbgate (UseCLB).
	providerArgs []string
	// install is config/default as built and applied; kubeconfig is
	// lbgate's, as the install's ServiceAccount.
	install    []*unstructured.Unstructured
	kubeconfig string
	ownDir     bool
	closers    []io.Closer
}

// Start brings the whole stack up; on error nothing is left running.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if len(opts.Backends) == 0 {
		opts.Backends = []string{"be_web"}
	}
	opts.Backends = withDeclared(opts.Backends)
	s := &Stack{opts: opts, workDir: opts.WorkDir}
	if s.workDir == "" {
		if s.workDir, err = os.MkdirTemp("", "lbgate-e2e-"); err != nil {
			return nil, err
		}
		s.ownDir = true
	}
	defer func() {
		if err != nil {
			s.KeepWorkDir() // the error names logs in it
			err = errors.Join(err, s.Stop())
		}
	}()

	began := time.Now()
	if err = s.startCluster(ctx); err != nil {
		return nil, err
	}

	opts.Logf("starting HAProxy with backends %v", opts.Backends)
	if s.HAProxy, err = haproxytest.Launch(haproxytest.Config{Backends: opts.Backends, DeclaredSlots: opts.DeclaredSlots, ServerState: opts.ServerState}); err != nil {
		return nil, err
	}

	opts.Logf("starting the node simulator with %d nodes", opts.Nodes)
	simLog, err := os.OpenFile(filepath.Join(s.workDir, "logs", "nodesim.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, simLog)
	if s.Sim, err = nodesim.Start(ctx, nodesim.Options{Config: s.Config, NodeCount: opts.Nodes, Logger: zap.New(zap.WriteTo(simLog))}); err != nil {
		return nil, err
	}

	if s.Operator, err = s.newOperator(ctx, true); err != nil {
		return nil, err
	}
	opts.Logf("starting lbgate (HAProxy provider, webhook in URL mode, as ServiceAccount %s/%s)", OperatorNamespace, OperatorServiceAccount)
	if err = s.startOperator(ctx, s.Operator); err != nil {
		return nil, err
	}
	opts.Logf("stack up in %s", time.Since(began).Round(100*time.Millisecond))
	return s, nil
}

// startCluster starts the control plane, applies the install and writes the
// kubeconfig lbgate runs with (its ServiceAccount's).
func (s *Stack) startCluster(ctx context.Context) (err error) {
	s.opts.Logf("starting the control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler)")
	audit, err := s.auditFlags()
	if err != nil {
		return err
	}
	s.Cluster, err = cluster.Start(ctx, cluster.Options{BinDir: s.opts.BinDir, LogDir: filepath.Join(s.workDir, "logs"), Output: s.opts.Output, APIServerFlags: audit})
	if err != nil {
		return err
	}
	s.Config = s.Cluster.RESTConfig()
	if s.Client, err = client.NewWithWatch(s.Config, client.Options{Scheme: controllers.NewScheme()}); err != nil {
		return err
	}
	s.opts.Logf("applying the install (config/default, server-side apply)")
	if err = s.applyInstall(ctx); err != nil {
		return err
	}
	s.kubeconfig, err = s.operatorKubeconfig(ctx)
	return err
}

// newOperator prepares the lbgate process: HAProxy provider, webhook on 127.0.0.1 in URL mode.
func (s *Stack) newOperator(ctx context.Context, webhook bool) (*Operator, error) {
	op, _, err := s.newOperatorSpec(ctx, operatorSpec{webhook: webhook, name: "lbgate"})
	return op, err
}

// operatorSpec is how one lbgate process is run.
type operatorSpec struct {
	webhook bool
	// name names the log file (logs/<name>.log).
	name string
	// webhookURL is the URL the webhook configuration names; empty: the
	// process's own webhook port.
	webhookURL string
	// extra flags, after the stack's.
	extra []string
}

// newOperatorSpec prepares an lbgate process and returns it with the port
// its webhook serves on.
func (s *Stack) newOperatorSpec(ctx context.Context, spec operatorSpec) (*Operator, int, error) {
	bin := s.opts.OperatorBinary
	if bin == "" {
		var err error
		if bin, err = BuildOperator(ctx, s.opts.ModuleDir, s.workDir); err != nil {
			return nil, 0, err
		}
		s.opts.OperatorBinary = bin
	}
	probePort, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	webhookPort, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	provider := s.providerArgs
	if provider == nil {
		provider = []string{"--provider=haproxy", "--haproxy-runtime-api=" + s.HAProxy.RuntimeAPI()}
	}
	args := slices.Concat(provider, []string{
		"--kubeconfig=" + s.kubeconfig,
		"--metrics-bind-address=0",
		"--health-probe-bind-address=" + hostPort(probePort),
		"--gate-poll-interval=100ms",
		"--log-format=console",
		"--webhook-namespace=" + OperatorNamespace,
		fmt.Sprintf("--webhook=%t", spec.webhook),
	})
	if spec.webhook {
		url := spec.webhookURL
		if url == "" {
			url = fmt.Sprintf("https://%s/mutate-v1-pod", hostPort(webhookPort))
		}
		args = append(args,
			"--webhook-host=127.0.0.1",
			fmt.Sprintf("--webhook-port=%d", webhookPort),
			"--webhook-url="+url,
		)
	}
	args = slices.Concat(args, s.opts.OperatorArgs, spec.extra)
	op := &Operator{binary: bin, args: args, logPath: filepath.Join(s.workDir, "logs", spec.name+".log"), probe: hostPort(probePort)}
	if spec.webhook {
		op.webhookURL = args[slices.IndexFunc(args, func(a string) bool { return strings.HasPrefix(a, "--webhook-url=") })][len("--webhook-url="):]
	}
	return op, webhookPort, nil
}

// WebhookConfigName is the MutatingWebhookConfiguration lbgate keeps (its default name).
const WebhookConfigName = "lbgate-pod-gates"

// RestartOperator stops lbgate and starts it again, with or without its
// webhook. Without it the webhook configuration is deleted too, so pods are
// created without gates, as when the webhook was never installed.
func (s *Stack) RestartOperator(ctx context.Context, webhook bool) error {
	s.Operator.Stop()
	if !webhook {
		mwc := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: WebhookConfigName}}
		if err := s.Client.Delete(ctx, mwc); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting the webhook configuration: %w", err)
		}
	}
	op, err := s.newOperator(ctx, webhook)
	if err != nil {
		return err
	}
	s.Operator = op
	return s.startOperator(ctx, op)
}

// startOperator starts op and, when it serves the webhook, waits until
// the webhook configuration names op's URL: until then the apiserver
// calls the URL of the lbgate that ran before, and pods created in that
// window are admitted unmutated (failure policy Ignore).
func (s *Stack) startOperator(ctx context.Context, op *Operator) error {
	if err := op.Start(ctx); err != nil {
		return err
	}
	if op.webhookURL == "" {
		return nil
	}
	return poll(ctx, time.Minute, func() (bool, string) {
		mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
		if err := s.Client.Get(ctx, client.ObjectKey{Name: WebhookConfigName}, mwc); err != nil {
			return false, err.Error()
		}
		for _, w := range mwc.Webhooks {
			if w.ClientConfig.URL == nil || *w.ClientConfig.URL != op.webhookURL {
				return false, fmt.Sprintf("webhook configuration does not name %s yet", op.webhookURL)
			}
		}
		return len(mwc.Webhooks) > 0, "webhook configuration has no webhook"
	})
}

// WorkDir holds the stack's logs.
func (s *Stack) WorkDir() string { return s.workDir }

// KeepWorkDir keeps WorkDir, which holds every component's log, after Stop
// (for a failed test). The cluster's own files (etcd data, keys,
// kubeconfigs) are removed either way.
func (s *Stack) KeepWorkDir() {
	s.ownDir = false
}

// Stop stops everything the stack started, in reverse order.
func (s *Stack) Stop() error {
	var errs []error
	if s.Operator != nil {
		s.Operator.Stop()
		errs = append(errs, s.Operator.LogError())
	}
	if s.Sim != nil {
		s.Sim.Stop()
	}
	if s.HAProxy != nil {
		s.HAProxy.Close()
	}
	if s.Cluster != nil {
		errs = append(errs, s.Cluster.Stop())
	}
	for _, c := range s.closers {
		errs = append(errs, c.Close()) // log files: a lost write shows here
	}
	if s.ownDir {
		errs = append(errs, os.RemoveAll(s.workDir))
	}
	return errors.Join(errs...)
}
