package backendgroup

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

// statusPatch writes a group's status once, when the reconcile returns,
// whatever path it took: no path can forget the write or make it twice. It
// snapshots the status when the reconcile starts and patches the difference
// with optimistic locking, so the Service controller's Accepted condition is
// never lost.
//
// checkpoint is the one exception, for write-ahead records that must be in
// the API before the load balancer changes (a restart in between must find
// them); it moves the snapshot forward.
type statusPatch struct {
	c      client.Client
	before *v1alpha1.BackendGroup
}

func newStatusPatch(c client.Client, bg *v1alpha1.BackendGroup) *statusPatch {
	return &statusPatch{c: c, before: bg.DeepCopy()}
}

// checkpoint writes the status as it is now, before the reconcile goes on.
func (s *statusPatch) checkpoint(ctx context.Context, bg *v1alpha1.BackendGroup) error {
	if err := s.write(ctx, bg); err != nil {
		return err
	}
	s.before = bg.DeepCopy()
	return nil
}

// write patches the status if it changed. A group that is gone (its
// finalizer was just removed) has no status to write.
func (s *statusPatch) write(ctx context.Context, bg *v1alpha1.BackendGroup) error {
	if equalStatus(s.before.Status, bg.Status) {
		return nil
	}
	err := s.c.Status().Patch(ctx, bg, client.MergeFromWithOptions(s.before, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("patching status: %w", err)
	}
	return nil
}
