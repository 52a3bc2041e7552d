package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/rest"
)

// maxLaunchAttempts bounds the retries of a component whose port was taken
// between freePorts and its bind.
const maxLaunchAttempts = 3

// Cluster is a running control plane. Its methods are safe for concurrent use.
type Cluster struct {
	opts        Options
	workDir     string
	ownsWorkDir bool // created by Start under os.TempDir(): Stop removes it
	logDir      string
	keep        atomic.Bool

	pki             *pki
	etcdURL         string
	apiURL          string
	kubeconfig      string
	kcmKubeconfig   string
	schedKubeconfig string
	restConfig      *rest.Config
	startDuration   time.Duration

	mu    sync.Mutex
	procs map[Component]*process

	stopOnce sync.Once
	stopErr  error
}

// Start generates the PKI, starts etcd, kube-apiserver, kube-controller-manager
// and kube-scheduler on free 127.0.0.1 ports, waits until each is healthy
// (etcd /health, apiserver /readyz, the others' /healthz, and for the
// controller-manager also the default ServiceAccount, without which no pod
// can be created), and writes the admin kubeconfig. It takes about 10s on a
// busy 2-core machine, half of it the controller-manager fetching one
// service-account token per controller. ctx bounds start-up only (pass one that a Ctrl-C cancels
// so an interrupted start cleans up); once Start has returned, only Stop ends
// the cluster.
//
// On failure Start stops whatever it started and returns an error naming the
// component, its log file and the log's last lines; the work directory is
// then kept for those logs (a later Start removes it once this process has
// exited).
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, procs: map[Component]*process{}}
	c.keep.Store(opts.KeepWorkDir)
	if err := c.prepareWorkDir(); err != nil {
		return nil, err
	}
	began := time.Now()
	if err := c.start(ctx); err != nil {
		stopErr := c.stopProcesses()
		return nil, fmt.Errorf("start control plane (work dir %s kept for its logs): %w",
			c.workDir, errors.Join(err, stopErr))
	}
	c.startDuration = time.Since(began)
	opts.Logf("control plane healthy after %s; kubeconfig %s", c.startDuration.Round(time.Millisecond), c.kubeconfig)
	return c, nil
}

// start runs the start-up sequence.
func (c *Cluster) start(ctx context.Context) error {
	serviceIP, err := firstIP(c.opts.ServiceClusterIPRange)
	if err != nil {
		return err
	}
	if c.pki, err = newPKI(filepath.Join(c.workDir, "pki"), serviceIP); err != nil {
		return err
	}
	if err := c.startEtcd(ctx); err != nil {
		return err
	}
	if err := c.startAPIServer(ctx); err != nil {
		return err
	}
	if err := c.writeKubeconfigs(); err != nil {
		return err
	}
	// The controller-manager and the scheduler depend only on the apiserver:
	// start them side by side.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = c.startControllerManager(ctx) })
	wg.Go(func() { errs[1] = c.startScheduler(ctx) })
	wg.Wait()
	return errors.Join(errs...)
}

// writeKubeconfigs writes the admin, controller-manager and scheduler
// kubeconfig files and builds the admin REST config.
func (c *Cluster) writeKubeconfigs() error {
	ca := c.pki.ca.certPEM
	c.kubeconfig = filepath.Join(c.workDir, "kubeconfig")
	c.kcmKubeconfig = filepath.Join(c.workDir, "controller-manager.kubeconfig")
	c.schedKubeconfig = filepath.Join(c.workDir, "scheduler.kubeconfig")
	for _, kc := range []struct {
		path string
		user keyPair
	}{
		{c.kubeconfig, c.pki.admin},
		{c.kcmKubeconfig, c.pki.kcmClient},
		{c.schedKubeconfig, c.pki.schedClient},
	} {
		if err := writeKubeconfig(kc.path, c.apiURL, ca, kc.user); err != nil {
			return err
		}
	}
	c.restConfig = restConfig(c.apiURL, ca, c.pki.admin)
	return nil
}

// launchSpec is how to run one component on given ports.
type launchSpec struct {
	flags []flag
	// ready lists URLs that must answer 200 OK, in order, before the
	// component counts as healthy.
	ready  []string
	client *http.Client // asks the ready URLs
}

// launch starts one component on freshly picked ports and waits until it is
// healthy, retrying on new ports when one was taken before the component
// could bind it. build returns the launch spec for the given ports.
func (c *Cluster) launch(ctx context.Context, comp Component, nPorts int, build func(ports []int) launchSpec) error {
	bin := filepath.Join(c.opts.BinDir, string(comp))
	began := time.Now()
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(nPorts)
		if err != nil {
			return fmt.Errorf("%s: %w", comp, err)
		}
		spec := build(ports)
		args, err := mergeFlags(spec.flags, c.extraFlags(comp))
		if err != nil {
			return fmt.Errorf("%s: %w", comp, err)
		}
		p, err := startProcess(comp, bin, args, c.LogPath(comp), c.opts.Output)
		if err != nil {
			return err
		}
		c.setProcess(comp, p)
		err = c.waitReady(ctx, p, spec)
		if err == nil {
			c.opts.Logf("%s healthy after %s (pid %d; %s)", comp, time.Since(began).Round(time.Millisecond),
				p.pid, strings.Join(spec.ready, ", "))
			return nil
		}
		if attempt < maxLaunchAttempts && p.exited() && isPortConflict(err) {
			c.opts.Logf("%s: a port was taken before it could bind; retrying on new ports", comp)
			continue
		}
		return err
	}
}

// waitReady waits until every ready URL of spec answers 200 OK, all within
// Options.StartTimeout.
func (c *Cluster) waitReady(ctx context.Context, p *process, spec launchSpec) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.StartTimeout)
	defer cancel()
	for _, url := range spec.ready {
		if err := waitHealthy(ctx, p, spec.client, url); err != nil {
			return err
		}
	}
	return nil
}

// extraFlags returns the caller's extra flags for comp.
func (c *Cluster) extraFlags(comp Component) []string {
	switch comp {
	case Etcd:
		return c.opts.EtcdFlags
	case APIServer:
		return c.opts.APIServerFlags
	case ControllerManager:
		return c.opts.ControllerManagerFlags
	case Scheduler:
		return c.opts.SchedulerFlags
	}
	return nil
}

// setProcess records the running process of comp.
func (c *Cluster) setProcess(comp Component, p *process) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.procs[comp] = p
}

// process returns the process of comp, or nil.
func (c *Cluster) process(comp Component) *process {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.procs[comp]
}

// Kubeconfig returns the path of a self-contained admin kubeconfig (user in
// system:masters), for kubectl and for processes under test.
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// RESTConfig returns a new copy of the admin client configuration, with
// client rate limits raised for tests (50 QPS, burst 100).
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.restConfig) }

// APIServerURL returns the apiserver's URL, https://127.0.0.1:PORT.
func (c *Cluster) APIServerURL() string { return c.apiURL }

// WorkDir returns the directory holding the PKI, kubeconfigs and etcd data.
func (c *Cluster) WorkDir() string { return c.workDir }

// LogPath returns the log file of comp.
func (c *Cluster) LogPath(comp Component) string {
	return filepath.Join(c.logDir, string(comp)+".log")
}

// StartDuration returns how long Start took until all four components were
// healthy.
func (c *Cluster) StartDuration() time.Duration { return c.startDuration }

// PIDs returns the process id of every component started, so a test can
// check that none is left after Stop.
func (c *Cluster) PIDs() map[Component]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[Component]int, len(c.procs))
	for comp, p := range c.procs {
		out[comp] = p.pid
	}
	return out
}

// SetKeepWorkDir decides whether Stop keeps a temporary work directory, for
// example once a test has failed: t.Cleanup(func() { c.SetKeepWorkDir(t.Failed()); c.Stop() }).
func (c *Cluster) SetKeepWorkDir(keep bool) { c.keep.Store(keep) }
