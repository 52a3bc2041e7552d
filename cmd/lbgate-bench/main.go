// Command lbgate-bench measures lbgate against its targets (issue 11) and
// prints one table, also written as JSON under bench/results/. Scenarios:
// gate latency against HAProxy's own health checks, scale on an envtest
// control plane with a slow fake load balancer, a rolling update with and
// without gates, the operator's memory in a large cluster, and the
// webhook's admission latency. The operator always runs as its own process
// (the real binary), so its CPU time and memory are its own. Run it with
// `make bench` (and `make bench-large` for the 20,000-pod stretch);
// docs/performance.md explains the figures.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// bench is one run.
type bench struct {
	module   string
	operator string
	dir      string // work dir: logs, audit logs, profiles
	verbose  bool
	versions map[string]string
	// client talks to the e2e stack without client-side throttling.
	client client.WithWatch
	// stackPprof is the e2e stack's lbgate's profile URL.
	stackPprof string
}

func main() {
	logf.SetLogger(logr.Discard())
	operator := flag.String("operator", "bin/lbgate", "the lbgate binary to measure (make build)")
	out := flag.String("out", "bench/results", "directory for the JSON results, logs and profiles")
	large := flag.Bool("large", false, "run only the 20,000-pod scale stretch (1,000 Services × 20 pods in 10 namespaces)")
	only := flag.String("scenarios", "stack,memory,scale", "comma-separated: stack (gate latency, rolling update, webhook), memory, scale")
	verbose := flag.Bool("v", false, "print progress")
	flag.Parse()
	if err := run(*operator, *out, *large, strings.Split(*only, ","), *verbose); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "bench interrupted")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "bench failed:", err)
		os.Exit(1)
	}
}

func run(operator, out string, large bool, only []string, verbose bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	module, err := os.Getwd()
	if err != nil {
		return err
	}
	bin, err := filepath.Abs(operator)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s: build it first with 'make build' (or run 'make bench')", bin)
	}
	started := time.Now()
	r := &Report{Started: started, Cores: runtime.NumCPU(), LoadStart: loadAverage()}
	r.Commit, r.Dirty = gitState(module)
	outDir, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	b := &bench{module: module, operator: bin, dir: filepath.Join(outDir, started.Format("20060102-150405")), verbose: verbose,
		versions: map[string]string{"go": runtime.Version()}}
	b.progress("work dir %s (logs, audit logs, profiles)", b.dir)

	switch {
	case large:
		b.progress("scale: 20,000 pods")
		r.Scenarios = append(r.Scenarios, b.runScale(ctx, scaleSize{Services: 1000, PodsPer: 20, Namespaces: 10, Within: 60 * time.Second}))
	default:
		if slices.Contains(only, "stack") {
			r.Scenarios = append(r.Scenarios, b.runStack(ctx)...)
		}
		if slices.Contains(only, "memory") {
			b.progress("memory: 10,000 pods")
			r.Scenarios = append(r.Scenarios, b.runMemory(ctx, memorySize{Pods: 10000, Services: 25, PodsPer: 20, Namespaces: 10}))
		}
		if slices.Contains(only, "scale") {
			b.progress("scale: 2,000 pods")
			r.Scenarios = append(r.Scenarios, b.runScale(ctx, scaleSize{Services: 50, PodsPer: 40, Namespaces: 5, Within: 10 * time.Second}))
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, s := range r.Scenarios {
		if s.Err != "" {
			b.progress("%s failed: %s", s.Name, s.Err)
		}
	}
	r.Versions = b.versions
	r.LoadEnd = loadAverage()
	r.Duration = time.Since(started).Round(time.Second).String()
	r.Print(os.Stdout)
	path, err := r.Write(outDir)
	if err != nil {
		return err
	}
	fmt.Printf("\nresults: %s (logs and profiles in %s)\n", path, b.dir)
	return nil
}

func (b *bench) progress(format string, args ...any) {
	if b.verbose {
		fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
}

// workDir is a fresh directory for one scenario.
func (b *bench) workDir(name string) string {
	d := filepath.Join(b.dir, name)
	_ = os.MkdirAll(d, 0o755)
	return d
}

// versionFromEnv records the versions of the envtest binaries.
func (b *bench) versionFromEnv() {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if b.versions["kube-apiserver"] == "" {
		// Built from k8s.io/kubernetes without version stamps: the
		// Makefile's asset directory is named by the version.
		b.versions["kube-apiserver"] = filepath.Base(assets)
	}
	if b.versions["etcd"] == "" {
		b.versions["etcd"] = firstLine(filepath.Join(assets, "etcd"), "--version")
	}
}

func haproxyVersion() string {
	for _, bin := range []string{"haproxy", "/usr/sbin/haproxy"} {
		if v := firstLine(bin, "-v"); v != "" {
			return v
		}
	}
	return ""
}

// firstLine runs a command and returns the first line of its output.
func firstLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// loadAverage is /proc/loadavg's three averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// gitState is the short commit and the files changed but not committed
// (the bench measures the working tree it was built from).
func gitState(dir string) (string, []string) {
	commit := firstLine("git", "-C", dir, "rev-parse", "--short", "HEAD")
	out, err := exec.Command("git", "-C", dir, "status", "--porcelain").Output()
	if err != nil {
		return commit, nil
	}
	var dirty []string
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if len(l) > 3 {
			dirty = append(dirty, strings.TrimSpace(l[3:]))
		}
	}
	return commit, dirty
}
