package webhookcfg

import (
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// newObjectCache returns a cache that holds exactly two objects: the
// certificate Secret (by name, in the operator namespace) and the webhook
// configuration (by name). The operator thus never lists or caches the
// cluster's Secrets, and RBAC can name both objects.
func newObjectCache(mgr ctrl.Manager, o Options) (cache.Cache, error) {
	c, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme:                      mgr.GetScheme(),
		Mapper:                      mgr.GetRESTMapper(),
		ReaderFailOnMissingInformer: true,
		DefaultTransform:            cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {
				Namespaces: map[string]cache.Config{o.Namespace: {}},
				Field:      fields.OneTermEqualSelector("metadata.name", o.SecretName),
			},
			&admissionregistrationv1.MutatingWebhookConfiguration{}: {
				Field: fields.OneTermEqualSelector("metadata.name", o.ConfigName),
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the cache of the webhook Secret and configuration: %w", err)
	}
	return c, nil
}

// cacheRunnable makes the manager start the cache with its other caches, on
// every replica (not only the leader), and wait for it to sync.
type cacheRunnable struct{ cache.Cache }

// GetCache lets the manager recognise the runnable as a cache.
func (c cacheRunnable) GetCache() cache.Cache { return c.Cache }
