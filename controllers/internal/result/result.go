// Package result holds the shared rules for what a reconcile returns.
package result

import (
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
)

// ConflictRetry is how soon a reconcile that lost a write race runs again.
const ConflictRetry = 50 * time.Millisecond

// OnConflictRetry turns a lost optimistic-lock race (someone else wrote the
// object first) into a quick requeue: it is not a failure to report.
func OnConflictRetry(res ctrl.Result, err error) (ctrl.Result, error) {
	if apierrors.IsConflict(err) {
		return ctrl.Result{RequeueAfter: ConflictRetry}, nil
	}
	return res, err
}
