package webhookcfg

import (
	"context"
	"sync"

	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// reportedConditions remembers the last message logged per reason, so a
// lasting condition is logged once, not on every reconcile.
type reportedConditions struct {
	mu   sync.Mutex
	last map[string]string
}

// changed records msg for reason and reports whether it differs from the last one.
func (c *reportedConditions) changed(reason, msg string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.last = map[string]string{}
	}
	if prev, ok := c.last[reason]; ok && prev == msg {
		return false
	}
	c.last[reason] = msg
	return true
}

// clear forgets reason, so it is reported again when it comes back.
func (c *reportedConditions) clear(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.last, reason)
}

// reportCondition reports a lasting condition of the certificates: a
// Warning event on the Secret and on the webhook configuration, and a log
// line shaped like a status condition (there is no operator object to hold
// one). Events and log lines repeat only when the message changes.
func (r *Reconciler) reportCondition(ctx context.Context, rd *round, reason, msg string) {
	if r.reported.changed(reason, msg) {
		logf.FromContext(ctx).Info("webhook certificate condition",
			"type", "CertificateManaged", "status", "False", "reason", reason, "message", msg)
	}
	if rd.secret != nil {
		r.Events.Warning(rd.secret, reason, actionServe, "%s", msg)
	}
	if rd.config != nil {
		r.Events.Warning(rd.config, reason, actionServe, "%s", msg)
	}
}
