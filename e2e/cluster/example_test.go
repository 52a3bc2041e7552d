package cluster_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/lbgate/lbgate/e2e/cluster"
)

// Example is how a long-running caller such as the demo uses the harness: a
// Ctrl-C during start-up cancels Start (which cleans up), a Ctrl-C later
// stops the cluster and cancels ctx, and the deferred Stop covers the normal
// end.
func Example() {
	startCtx, stopNotify := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	c, err := cluster.Start(startCtx, cluster.Options{Output: os.Stderr})
	stopNotify()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer func() {
		if err := c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	ctx, cancel := c.StopOnSignal(context.Background())
	defer cancel()

	fmt.Println("export KUBECONFIG=" + c.Kubeconfig())
	<-ctx.Done() // the demo's work would run here, under ctx
}
