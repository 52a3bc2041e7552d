package cluster

import (
	"errors"
	"sync"
)

// stopOrder lists the components to stop, in waves: the apiserver's clients
// first, then the apiserver, then etcd, so no component spends its grace
// period retrying a peer that is already gone.
var stopOrder = [][]Component{{Scheduler, ControllerManager}, {APIServer}, {Etcd}}

// Stop stops every component (SIGTERM to its process group, SIGKILL after
// Options.StopTimeout), waits until each has exited, and removes the work
// directory when Start created it and it is not to be kept. It is idempotent
// and safe to call concurrently (from a test's cleanup and a signal handler
// at once): every call waits for the one stop and returns its result.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		c.stopErr = errors.Join(c.stopProcesses(), c.releaseWorkDir())
	})
	return c.stopErr
}

// stopProcesses stops the started components wave by wave.
func (c *Cluster) stopProcesses() error {
	var errs []error
	for _, wave := range stopOrder {
		var (
			wg sync.WaitGroup
			mu sync.Mutex
		)
		for _, comp := range wave {
			p := c.process(comp)
			if p == nil {
				continue
			}
			wg.Go(func() {
				if err := p.stop(c.opts.StopTimeout, c.opts.Logf); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	return errors.Join(errs...)
}
