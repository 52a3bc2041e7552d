// Command lbgate-demo runs lbgate's promise on this machine: it starts a real
// control plane, a node simulator, HAProxy and the lbgate binary, rolls a
// 10-replica Deployment under load through HAProxy with lbgate's readiness
// gates, then the same rollout with direct binding but no gates, and prints
// what each dropped. It leaves nothing running. Run it with `make demo`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/go-logr/logr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lbgate/lbgate/e2e/stack"
)

func main() {
	logf.SetLogger(logr.Discard()) // components log to files in the stack's work dir
	operator := flag.String("operator", "bin/lbgate", "the lbgate binary to run (make build)")
	replicas := flag.Int("replicas", 10, "replicas of the sample app")
	rps := flag.Int("rps", 100, "requests per second through HAProxy during each rollout")
	verbose := flag.Bool("v", false, "print progress of every step")
	flag.Parse()
	err := run(*operator, int32(*replicas), *rps, *verbose)
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(os.Stderr, "demo interrupted: everything it started is stopped and removed")
		os.Exit(130)
	case err != nil:
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run(operator string, replicas int32, rps int, verbose bool) (err error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer func() {
		if err != nil && ctx.Err() != nil {
			err = ctx.Err() // interrupted, whatever the step made of it
		}
	}()
	module, bin, err := locate(operator)
	if err != nil {
		return err
	}
	step := func(format string, args ...any) {
		fmt.Printf("%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	progress := func(string, ...any) {}
	if verbose {
		progress = step
	}

	step("starting a local cluster, HAProxy, the node simulator and lbgate (about 15 s)")
	st, err := stack.Start(ctx, stack.Options{
		ModuleDir: module, OperatorBinary: bin, Backends: []string{"be_gated", "be_baseline"}, Logf: progress,
	})
	if err != nil {
		return err
	}
	failed := true
	defer func() {
		// Logs are kept for a failure; Ctrl-C leaves nothing behind.
		if failed && ctx.Err() == nil {
			st.KeepWorkDir()
			fmt.Printf("logs kept in %s\n", st.WorkDir())
		}
		if err := st.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the stack:", err)
		}
	}()

	withGates, without, err := compare(ctx, st, replicas, rps, step)
	if err != nil {
		return err
	}
	step("stopping everything")
	failed = false
	report(os.Stdout, replicas, rps, withGates, without)
	return nil
}

// locate returns the module directory (the working directory) and the
// absolute path of the operator binary, which must exist.
func locate(operator string) (module, bin string, err error) {
	if module, err = os.Getwd(); err != nil {
		return "", "", err
	}
	if bin, err = filepath.Abs(operator); err != nil {
		return "", "", err
	}
	if _, err := os.Stat(bin); err != nil {
		return "", "", fmt.Errorf("%s: build it first with 'make build' (or run 'make demo')", bin)
	}
	return module, bin, nil
}

// compare rolls the same app out twice under load: first with lbgate's
// readiness gates, then, after restarting lbgate without its webhook,
// without them.
func compare(ctx context.Context, st *stack.Stack, replicas int32, rps int, step func(string, ...any)) (withGates, without *stack.RolloutResult, err error) {
	gated := stack.App{Namespace: "gated", Name: "web", Backend: "be_gated", Replicas: replicas, Image: stack.ImageV1}
	step("deploying %d replicas behind HAProxy with lbgate's readiness gates", replicas)
	if err := st.Deploy(ctx, gated); err != nil {
		return nil, nil, err
	}
	step("rolling v1 -> v2 under %d requests/s", rps)
	if withGates, err = st.RollOut(ctx, stack.Rollout{App: gated, ToImage: stack.ImageV2, RPS: rps}); err != nil {
		return nil, nil, err
	}

	step("restarting lbgate without its webhook: pods are bound to HAProxy but get no readiness gate")
	if err := st.RestartOperator(ctx, false); err != nil {
		return nil, nil, err
	}
	base := stack.App{Namespace: "baseline", Name: "web", Backend: "be_baseline", Replicas: replicas, Image: stack.ImageV1}
	step("deploying the same app again, without gates")
	if err := st.Deploy(ctx, base); err != nil {
		return nil, nil, err
	}
	step("rolling v1 -> v2 under %d requests/s", rps)
	if without, err = st.RollOut(ctx, stack.Rollout{App: base, ToImage: stack.ImageV2, RPS: rps}); err != nil {
		return nil, nil, err
	}
	return withGates, without, nil
}

func report(w io.Writer, replicas int32, rps int, gated, base *stack.RolloutResult) {
	fmt.Fprintf(w, "\nRolling update of %d replicas (maxSurge 25%%, maxUnavailable 0) behind HAProxy, %d requests/s:\n\n", replicas, rps)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\twith lbgate gates\twithout gates\t")
	row := func(name string, f func(*stack.RolloutResult) string) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", name, f(gated), f(base))
	}
	row("requests sent", func(r *stack.RolloutResult) string { return fmt.Sprint(r.Load.Sent) })
	row("failed", func(r *stack.RolloutResult) string { return fmt.Sprint(r.Load.Failed) })
	row("p99 latency", func(r *stack.RolloutResult) string { return r.Load.Latency.P99.Round(time.Millisecond).String() })
	row("rollout time", func(r *stack.RolloutResult) string { return r.Duration.Round(100 * time.Millisecond).String() })
	row("pods Ready before HAProxy had them up", func(r *stack.RolloutResult) string {
		return fmt.Sprintf("%d of %d", len(r.EarlyReady), r.ReadyPods)
	})
	tw.Flush()
	if base.Load.Failed > 0 {
		kinds := make([]string, 0, len(base.Load.FailedByKind))
		for kind, n := range base.Load.FailedByKind {
			kinds = append(kinds, fmt.Sprintf("%d %s", n, kind))
		}
		slices.Sort(kinds)
		fmt.Fprintf(w, "\nWithout gates the failures were: %s\n", strings.Join(kinds, ", "))
	}
}
