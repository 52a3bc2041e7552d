package webhookcfg

import (
	"context"
	"fmt"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/lbgate/lbgate/certs"
	"github.com/lbgate/lbgate/controllers/internal/events"
)

// RBAC: the one Secret and the one configuration, by name (the defaults of
// --webhook-secret-name and --webhook-config-name); creating cannot be
// limited by name. The Secret rules are a Role in the operator namespace.
// +kubebuilder:rbac:groups="",namespace=system,resources=secrets,verbs=create
// +kubebuilder:rbac:groups="",namespace=system,resources=secrets,verbs=list;watch;update,resourceNames=lbgate-webhook-certs
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingwebhookconfigurations,verbs=create
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingwebhookconfigurations,verbs=list;watch;update;patch,resourceNames=lbgate-pod-gates

// Reconciler is the leader's self-repair of the webhook: the certificate
// Secret and the MutatingWebhookConfiguration. It runs as a controller, so
// only on the elected leader; every replica serves (servingLoader).
type Reconciler struct {
	// Client writes, with FieldManager as field owner.
	Client client.Client
	// Objects reads the Secret and the configuration (the private cache).
	Objects client.Reader
	// Pods reads the operator's pods, to probe what each replica serves.
	Pods client.Reader
	// Keeper is this replica's served certificate.
	Keeper  *certs.Keeper
	Events  *events.Recorder
	Options Options
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// KeeperSynced reports whether the Keeper has seen the Secret as the
	// cache first listed it; nil means it has. The leader waits for it, so
	// that a rebuild can keep the certificate being served.
	KeeperSynced func() bool

	caBundle settleClock
	reported reportedConditions
}

// key is the one work item: everything is reconciled together.
var key = reconcile.Request{NamespacedName: client.ObjectKey{Name: "webhook"}}

// round is what one reconcile sees and decides.
type round struct {
	now    time.Time
	secret *corev1.Secret                                        // nil when absent
	config *admissionregistrationv1.MutatingWebhookConfiguration // nil when absent

	// caBundle is what the configuration must hold; ownCABundle says
	// whether lbgate writes it at all (not in cert-manager mode).
	caBundle    []byte
	ownCABundle bool

	// after is when to look again without any event.
	after time.Duration
}

// requeueWithin shortens the next look to d (from now) when sooner.
func (r *round) requeueWithin(d time.Duration) {
	if d < time.Second/10 {
		d = time.Second / 10
	}
	if d < r.after {
		r.after = d
	}
}

// Reconcile checks and repairs, in order: the certificates (the Secret, its
// renewal and rotation), then the webhook configuration around them.
func (r *Reconciler) Reconcile(ctx context.Context, _ reconcile.Request) (ctrl.Result, error) {
	if r.KeeperSynced != nil && !r.KeeperSynced() {
		return ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
	}
	rd, err := r.observe(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.reconcileCertificates(ctx, rd); err != nil {
		return ctrl.Result{}, fmt.Errorf("certificates: %w", err)
	}
	if err := r.reconcileConfiguration(ctx, rd); err != nil {
		return ctrl.Result{}, fmt.Errorf("webhook configuration: %w", err)
	}
	return ctrl.Result{RequeueAfter: rd.after}, nil
}

// observe reads the Secret and the configuration from the cache.
func (r *Reconciler) observe(ctx context.Context) (*round, error) {
	rd := &round{now: r.now(), after: r.Options.ResyncInterval}
	secret := &corev1.Secret{}
	switch err := r.Objects.Get(ctx, client.ObjectKey{Namespace: r.Options.Namespace, Name: r.Options.SecretName}, secret); {
	case err == nil:
		rd.secret = secret
	case client.IgnoreNotFound(err) != nil:
		return nil, fmt.Errorf("reading Secret %s/%s: %w", r.Options.Namespace, r.Options.SecretName, err)
	}
	config := &admissionregistrationv1.MutatingWebhookConfiguration{}
	switch err := r.Objects.Get(ctx, client.ObjectKey{Name: r.Options.ConfigName}, config); {
	case err == nil:
		rd.config = config
	case client.IgnoreNotFound(err) != nil:
		return nil, fmt.Errorf("reading MutatingWebhookConfiguration %s: %w", r.Options.ConfigName, err)
	}
	r.caBundle.observe(liveCABundle(rd.config), rd.now)
	return rd, nil
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// SetupWithManager registers the controller: it watches the Secret and the
// configuration through the private cache, and starts with one pass.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, objects cache.Cache) error {
	toKey := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{key}
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("webhookcfg").
		WatchesRawSource(source.Kind[client.Object](objects, &corev1.Secret{}, toKey)).
		WatchesRawSource(source.Kind[client.Object](objects, &admissionregistrationv1.MutatingWebhookConfiguration{}, toKey)).
		WatchesRawSource(source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			q.Add(key)
			return nil
		})).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: 1,
			RateLimiter:             workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](100*time.Millisecond, 10*time.Second),
		}).
		Complete(r)
}
