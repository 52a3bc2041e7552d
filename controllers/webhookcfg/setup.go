package webhookcfg

import (
	"context"
	"fmt"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/certs"
	"github.com/lbgate/lbgate/controllers/internal/events"
	"github.com/lbgate/lbgate/controllers/internal/index"
	podwebhook "github.com/lbgate/lbgate/webhook"
)

// EventSource is the reporting controller of the self-repair's events.
const EventSource = "lbgate-webhook"

// Setup wires everything webhook-related into the manager:
//  1. a private cache of the Secret and the configuration, on every replica;
//  2. the Keeper that serves the Secret's certificate, fed by that cache;
//  3. the informers the webhook reads (BackendGroups, Services), started on
//     every replica and not only where the controllers run, and the index of
//     BackendGroups by target (index.GroupTargets) it looks groups up by;
//  4. the webhook server and its handler;
//  5. the readiness check (ReadyCheckName);
//  6. the leader's self-repair controller.
func Setup(ctx context.Context, mgr ctrl.Manager, o Options) error {
	o = o.withDefaults()
	if err := o.Validate(); err != nil {
		return err
	}
	log := mgr.GetLogger().WithName("webhook")

	objects, err := newObjectCache(mgr, o)
	if err != nil {
		return err
	}
	keeper := &certs.Keeper{}
	secrets, err := objects.GetInformer(ctx, &corev1.Secret{})
	if err != nil {
		return fmt.Errorf("watching Secret %s/%s: %w", o.Namespace, o.SecretName, err)
	}
	loader := &servingLoader{keeper: keeper, opts: o, log: log, now: time.Now}
	loaded, err := secrets.AddEventHandler(loader.handler())
	if err != nil {
		return fmt.Errorf("watching Secret %s/%s: %w", o.Namespace, o.SecretName, err)
	}
	if _, err := objects.GetInformer(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{}); err != nil {
		return fmt.Errorf("watching MutatingWebhookConfiguration %s: %w", o.ConfigName, err)
	}
	if err := mgr.Add(cacheRunnable{objects}); err != nil {
		return fmt.Errorf("adding the webhook object cache: %w", err)
	}

	for _, obj := range []client.Object{&v1alpha1.BackendGroup{}, &corev1.Service{}} {
		if _, err := mgr.GetCache().GetInformer(ctx, obj); err != nil {
			return fmt.Errorf("watching %T for the webhook: %w", obj, err)
		}
	}
	// CachedGroups looks groups up by target. controllers.Setup adds the
	// index too; this adds it when the webhook runs without the controllers
	// (or before them), and never twice.
	if err := index.RegisterGroupTargets(ctx, mgr.GetCache()); err != nil {
		return fmt.Errorf("indexing BackendGroups for the webhook: %w", err)
	}
	handler := &podwebhook.Handler{
		Groups:           CachedGroups{Reader: mgr.GetClient(), Live: mgr.GetAPIReader(), LiveReadTimeout: liveReadTimeout(o)},
		Options:          o.mutatorOptions(),
		IgnoreNamespaces: o.ignoredNamespaces(),
		Observe:          observeAdmission(log),
	}
	if err := mgr.Add(newServer(o, keeper, handler)); err != nil {
		return fmt.Errorf("adding the webhook server: %w", err)
	}
	if err := mgr.AddReadyzCheck(ReadyCheckName, ReadyCheck(keeper, objects, o)); err != nil {
		return fmt.Errorf("adding the webhook readiness check: %w", err)
	}

	r := &Reconciler{
		Client:       client.WithFieldOwner(mgr.GetClient(), FieldManager),
		Objects:      objects,
		Pods:         mgr.GetClient(),
		Keeper:       keeper,
		Events:       events.NewRecorder(mgr.GetEventRecorder(EventSource)),
		Options:      o,
		KeeperSynced: loaded.HasSynced,
	}
	if err := r.SetupWithManager(mgr, objects); err != nil {
		return fmt.Errorf("setting up the webhook self-repair controller: %w", err)
	}
	log.Info("webhook configured", "configuration", o.ConfigName, "secret", o.Namespace+"/"+o.SecretName,
		"url", o.URL, "service", o.ServiceName, "listen", o.localAddr(), "certSource", o.CertSource, "failurePolicy", o.FailurePolicy,
		"namespaces", o.Namespaces)
	return nil
}

// liveReadTimeout leaves the apiserver's timeout for the webhook room for the
// rest of the answer: half of it, at most DefaultLiveReadTimeout.
func liveReadTimeout(o Options) time.Duration {
	return min(DefaultLiveReadTimeout, time.Duration(o.TimeoutSeconds)*time.Second/2)
}
