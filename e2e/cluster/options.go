package cluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Options configures Start. The zero value is usable when KUBEBUILDER_ASSETS
// points at a folder holding the four binaries.
type Options struct {
	// BinDir holds etcd, kube-apiserver, kube-controller-manager and
	// kube-scheduler. Default: $KUBEBUILDER_ASSETS.
	BinDir string

	// WorkDir holds the PKI, kubeconfig files, etcd data and component logs.
	// Default: a new directory under os.TempDir(), removed by Stop. A WorkDir
	// given here is created when missing and never removed: the caller owns it.
	WorkDir string

	// KeepWorkDir keeps a temporary WorkDir after Stop (see also
	// Cluster.SetKeepWorkDir, to decide once a test has failed).
	KeepWorkDir bool

	// LogDir receives the component log files. Default: WorkDir/logs. Set it
	// outside WorkDir to keep the logs after Stop (CI artefacts).
	LogDir string

	// Output, when set, also receives every component's output, each line
	// prefixed with the component name (for example os.Stderr or
	// ginkgo.GinkgoWriter). The log files are written either way.
	Output io.Writer

	// Logf, when set, receives progress lines from Start and Stop (which
	// component is healthy after how long, escalations to SIGKILL).
	Logf func(format string, args ...any)

	// Extra flags per component, each "--name=value" (or "--name" for a
	// boolean). A flag the harness also sets replaces the harness's value; a
	// flag given twice here is passed twice.
	EtcdFlags              []string
	APIServerFlags         []string
	ControllerManagerFlags []string
	SchedulerFlags         []string

	// DisableControllers names kube-controller-manager controllers to disable
	// on top of DefaultDisabledControllers (for example
	// "node-lifecycle-controller" for a test whose Nodes send no heartbeat).
	DisableControllers []string

	// ServiceClusterIPRange is the Service ClusterIP range. Default 10.0.0.0/24.
	ServiceClusterIPRange string

	// StartTimeout bounds the wait for each component to become healthy.
	// Default 90s (the apiserver needs a few seconds on a busy 2-core machine).
	StartTimeout time.Duration

	// StopTimeout is how long Stop waits after SIGTERM before it sends
	// SIGKILL to a component. Default 10s.
	StopTimeout time.Duration
}

// EnvAssets is the environment variable that names the default BinDir, as for
// controller-runtime's envtest.
const EnvAssets = "KUBEBUILDER_ASSETS"

const (
	defaultServiceRange = "10.0.0.0/24"
	defaultStartTimeout = 90 * time.Second
	defaultStopTimeout  = 10 * time.Second
)

// ErrNoBinaries is returned (wrapped) by Start when BinDir is not set or lacks
// one of the component binaries; tests skip on it.
var ErrNoBinaries = errors.New("control-plane binaries not found")

// withDefaults fills in the defaults and checks that the binaries exist.
func (o Options) withDefaults() (Options, error) {
	if o.BinDir == "" {
		o.BinDir = os.Getenv(EnvAssets)
	}
	if err := CheckBinaries(o.BinDir); err != nil {
		return o, err
	}
	if o.ServiceClusterIPRange == "" {
		o.ServiceClusterIPRange = defaultServiceRange
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = defaultStartTimeout
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = defaultStopTimeout
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o, nil
}

// CheckBinaries reports (as a wrapped ErrNoBinaries) whether binDir lacks one
// of the four component binaries, so tests can skip with a clear message.
func CheckBinaries(binDir string) error {
	if binDir == "" {
		return fmt.Errorf("%w: BinDir and $%s are empty (run `make control-plane-all`, then set %s=bin/k8s/<version>)",
			ErrNoBinaries, EnvAssets, EnvAssets)
	}
	for _, comp := range Components() {
		path := filepath.Join(binDir, string(comp))
		st, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("%w: %s: %w (run `make control-plane-all`)", ErrNoBinaries, comp, err)
		}
		if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf("%w: %s is not an executable file", ErrNoBinaries, path)
		}
	}
	return nil
}
