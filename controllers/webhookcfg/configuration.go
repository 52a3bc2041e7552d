package webhookcfg

import (
	"context"
	"fmt"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// reconcileConfiguration makes the live configuration what Desired says:
//  1. compare it with the desired one (Differences);
//  2. server-side apply the desired fields, forcing ownership back;
//  3. when something the apply cannot remove is left (another manager's
//     extra webhook or list entry), replace the webhooks list;
//  4. report what was put back.
func (r *Reconciler) reconcileConfiguration(ctx context.Context, rd *round) error {
	want := Desired(r.Options, rd.caBundle)
	diffs := Differences(rd.config, want, rd.ownCABundle)
	if len(diffs) == 0 {
		return nil
	}
	applied, err := r.apply(ctx, want, rd.ownCABundle)
	if err != nil {
		return err
	}
	if left := Differences(applied, want, rd.ownCABundle); len(left) > 0 {
		if applied, err = r.replaceWebhooks(ctx, applied, want, rd.ownCABundle); err != nil {
			return fmt.Errorf("replacing the webhooks of %s (left after apply: %s): %w", want.Name, strings.Join(left, ", "), err)
		}
	}
	if rd.ownCABundle {
		r.caBundle.observe(liveCABundle(applied), rd.now)
	}
	r.reportRepaired(ctx, rd, applied, diffs)
	rd.config = applied
	return nil
}

// apply server-side applies want as FieldManager, forcing conflicts: lbgate
// owns every field it sets, the caBundle only when ownCABundle.
func (r *Reconciler) apply(ctx context.Context, want *admissionregistrationv1.MutatingWebhookConfiguration, ownCABundle bool) (*admissionregistrationv1.MutatingWebhookConfiguration, error) {
	u, err := applyObject(want, ownCABundle)
	if err != nil {
		return nil, err
	}
	if err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return nil, fmt.Errorf("applying MutatingWebhookConfiguration %s: %w", want.Name, err)
	}
	out := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out); err != nil {
		return nil, fmt.Errorf("reading back MutatingWebhookConfiguration %s: %w", want.Name, err)
	}
	return out, nil
}

// applyObject is the apply request for want: only the fields lbgate sets
// (nulls pruned), without the caBundle unless lbgate owns it.
func applyObject(want *admissionregistrationv1.MutatingWebhookConfiguration, ownCABundle bool) (*unstructured.Unstructured, error) {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(want)
	if err != nil {
		return nil, fmt.Errorf("encoding MutatingWebhookConfiguration %s: %w", want.Name, err)
	}
	pruneNulls(obj)
	if !ownCABundle {
		webhooks, _ := obj["webhooks"].([]any)
		for _, w := range webhooks {
			if wm, ok := w.(map[string]any); ok {
				if cc, ok := wm["clientConfig"].(map[string]any); ok {
					delete(cc, "caBundle")
				}
			}
		}
	}
	return &unstructured.Unstructured{Object: obj}, nil
}

// pruneNulls removes null values, such as metadata.creationTimestamp, which
// an apply request would otherwise claim.
func pruneNulls(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if e == nil {
				delete(t, k)
				continue
			}
			pruneNulls(e)
		}
	case []any:
		for _, e := range t {
			pruneNulls(e)
		}
	}
}

// replaceWebhooks updates the configuration with exactly the desired
// webhooks list (keeping the live caBundle when lbgate does not own it).
func (r *Reconciler) replaceWebhooks(ctx context.Context, cur, want *admissionregistrationv1.MutatingWebhookConfiguration, ownCABundle bool) (*admissionregistrationv1.MutatingWebhookConfiguration, error) {
	next := cur.DeepCopy()
	caBundle := liveCABundle(cur)
	next.Webhooks = want.DeepCopy().Webhooks
	if !ownCABundle {
		next.Webhooks[0].ClientConfig.CABundle = caBundle
	}
	if err := r.Client.Update(ctx, next, client.FieldOwner(FieldManager)); err != nil {
		return nil, err
	}
	return next, nil
}

// reportRepaired tells what was put back, in the log, an event and a metric.
func (r *Reconciler) reportRepaired(ctx context.Context, rd *round, applied *admissionregistrationv1.MutatingWebhookConfiguration, diffs []string) {
	log := logf.FromContext(ctx).WithValues("mutatingWebhookConfiguration", applied.Name)
	if rd.config == nil {
		repairs.WithLabelValues("configuration", "Missing").Inc()
		log.Info("webhook configuration was missing: created")
		r.Events.Normal(applied, ReasonConfigurationCreated, actionRepair, "created the webhook configuration")
		r.Events.Resolved(applied, ReasonConfigurationCreated) // every repair is an event of its own
		return
	}
	repairs.WithLabelValues("configuration", "Differs").Inc()
	msg := strings.Join(diffs, ", ")
	log.Info("webhook configuration differed: put back", "differences", msg)
	r.Events.Warning(applied, ReasonConfigurationRepaired, actionRepair, "put back: %s", msg)
	r.Events.Resolved(applied, ReasonConfigurationRepaired)
}
