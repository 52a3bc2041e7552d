package cluster

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// StopOnSignal stops the cluster when the process receives SIGINT or SIGTERM,
// for the demo and other long-running callers. The returned context is
// cancelled once the cluster has stopped after a signal (so the caller can
// unwind and exit), or when the returned cancel function is called, which
// also stops listening for signals. After the first signal the default
// handling is restored, so a second Ctrl-C exits at once; the components die
// with the process then, by their parent-death signal.
func (c *Cluster) StopOnSignal(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		defer signal.Stop(sigs)
		select {
		case sig := <-sigs:
			signal.Stop(sigs)
			c.opts.Logf("%v: stopping the control plane", sig)
			if err := c.Stop(); err != nil {
				c.opts.Logf("stop after %v: %v", sig, err)
			}
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
