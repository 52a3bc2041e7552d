package webhookcfg

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/klog/v2"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lbgate/lbgate/certs"
)

// errSecretMissing stands for the absent Secret among Load's errors.
var errSecretMissing = errors.New("the Secret is missing")

// reconcileCertificates decides which certificates are served and what the
// caBundle must hold, by who owns the Secret.
func (r *Reconciler) reconcileCertificates(ctx context.Context, rd *round) error {
	switch {
	case !r.Options.selfManaged():
		return r.followCertManager(ctx, rd)
	case rd.secret != nil && !certs.IsManaged(rd.secret):
		return r.followUserSecret(ctx, rd)
	default:
		return r.manageCertificates(ctx, rd)
	}
}

// manageCertificates owns the Secret: it
//  1. loads and validates it;
//  2. rebuilds it when it is missing or invalid, or else takes the next
//     renewal/rotation step the bundle plans;
//  3. asks for the caBundle of the resulting bundle and sets the next look.
func (r *Reconciler) manageCertificates(ctx context.Context, rd *round) error {
	r.markManaged(rd)
	bundle, err := r.load(rd)
	if err != nil {
		bundle, err = r.repairSecret(ctx, rd, bundle, err)
	} else {
		bundle, err = r.advance(ctx, rd, bundle)
	}
	if err != nil {
		return err
	}
	rd.caBundle, rd.ownCABundle = bundle.CABundle(), true
	r.scheduleNextStep(rd, bundle)
	return nil
}

// markManaged records that lbgate manages the certificates (again).
func (r *Reconciler) markManaged(rd *round) {
	certificateManaged.Set(1)
	r.reported.clear(ReasonCertificateNotManaged)
	if rd.secret != nil {
		r.Events.Resolved(rd.secret, ReasonCertificateNotManaged)
	}
}

// repairSecret rebuilds a missing or invalid Secret (cause says which) and
// reports it.
func (r *Reconciler) repairSecret(ctx context.Context, rd *round, stored *certs.Bundle, cause error) (*certs.Bundle, error) {
	rebuilt, how, err := r.rebuild(rd, stored)
	if err != nil {
		return nil, fmt.Errorf("rebuilding certificates (%w): %w", cause, err)
	}
	if err := r.writeSecret(ctx, rd, rebuilt); err != nil {
		return nil, err
	}
	r.reportRebuilt(ctx, rd, cause, how)
	return rebuilt, nil
}

// advance takes the renewal or rotation step the bundle plans now, if any.
func (r *Reconciler) advance(ctx context.Context, rd *round, b *certs.Bundle) (*certs.Bundle, error) {
	step := b.Plan(rd.now, r.observed(ctx, rd, b))
	if step == certs.ActionNone {
		return b, nil
	}
	next, err := b.Apply(step, r.Options.certOptions())
	if err != nil {
		return nil, fmt.Errorf("certificate step %s: %w", step, err)
	}
	if err := r.writeSecret(ctx, rd, next); err != nil {
		return nil, err
	}
	rotations.WithLabelValues(string(step)).Inc()
	logf.FromContext(ctx).Info("certificate step taken", "step", step, "certificate", next.String())
	r.Events.Normal(rd.secret, ReasonCertificateRotated, actionRotate, "%s: %s", step, next.String())
	return next, nil
}

// load reads the managed Secret; a missing one is an error like an invalid one.
func (r *Reconciler) load(rd *round) (*certs.Bundle, error) {
	if rd.secret == nil {
		return nil, errSecretMissing
	}
	return certs.Load(rd.secret.Data, rd.now, r.Options.certOptions().Names())
}

// observed is what the bundle's Plan needs to know about the world: whether
// the live caBundle holds (and has settled with) the bundle's CAs, and,
// during a rotation, whether every replica serves the bundle's certificate.
func (r *Reconciler) observed(ctx context.Context, rd *round, b *certs.Bundle) certs.Observed {
	live := liveCABundle(rd.config)
	obs := certs.Observed{
		CABundleLive: certs.CABundleHas(live, b.CACertificates()...) &&
			r.caBundle.liveFor(live, rd.now) >= r.Options.CABundleSettle,
	}
	if b.PreviousCA != nil && !b.LeafFromPreviousCA() {
		obs.ServedEverywhere = r.servedEverywhere(ctx, b)
	}
	return obs
}

// scheduleNextStep sets the next look: at the bundle's next planned step,
// and sooner while a rotation waits for the caBundle to settle or for the
// replicas to serve the new certificate.
func (r *Reconciler) scheduleNextStep(rd *round, b *certs.Bundle) {
	rd.requeueWithin(b.NextCheck(rd.now).Sub(rd.now))
	switch {
	case b.LeafFromPreviousCA():
		rd.requeueWithin(r.Options.CABundleSettle - r.caBundle.liveFor(liveCABundle(rd.config), rd.now))
	case b.PreviousCA != nil:
		rd.requeueWithin(r.Options.ReplicaProbeInterval)
	}
}

// rebuild makes a valid bundle when the Secret is missing or invalid,
// keeping whatever the apiserver already trusts so that the webhook never
// stops answering:
//   - the Secret's CA is good and in the live caBundle: only the serving
//     certificate is reissued from it;
//   - this replica serves a good certificate the live caBundle trusts: a new
//     CA is made and the served certificate kept with the old CA beside the
//     new one, so the usual rotation moves everything over once the caBundle
//     holds the new CA (the old keys leave within seconds);
//   - otherwise there is nothing to keep: a new CA and certificate.
func (r *Reconciler) rebuild(rd *round, stored *certs.Bundle) (*certs.Bundle, string, error) {
	opts := r.Options.certOptions()
	live := liveCABundle(rd.config)
	if stored != nil && stored.ValidateCA(rd.now) == nil && certs.CABundleHas(live, stored.CA.Cert) {
		b, err := stored.RenewLeaf(opts)
		return b, "reissued the serving certificate from the CA the caBundle trusts", err
	}
	if cur := r.Keeper.Current(); r.keepable(cur, live, rd.now) {
		if cur.PreviousCA != nil {
			return cur, "restored the certificates being served (a CA rotation was under way)", nil
		}
		b, err := cur.RotateCA(opts)
		return b, "issued a new CA; the certificate being served stays until the caBundle has taken the new CA", err
	}
	b, err := certs.Generate(opts)
	return b, "issued a new CA and serving certificate", err
}

// keepable reports whether the served bundle can seed a rebuilt Secret.
func (r *Reconciler) keepable(cur *certs.Bundle, live []byte, now time.Time) bool {
	return cur != nil && cur.CanSign() &&
		cur.Validate(now, r.Options.certOptions().Names()) == nil &&
		cur.ValidateCA(now) == nil &&
		certs.Verifies(live, cur.Serving.Cert) == nil
}

// reportRebuilt tells why the Secret was rebuilt, on the Secret and in the log.
func (r *Reconciler) reportRebuilt(ctx context.Context, rd *round, cause error, how string) {
	log := logf.FromContext(ctx).WithValues("secret", klog.KObj(rd.secret))
	if errors.Is(cause, errSecretMissing) {
		repairs.WithLabelValues("secret", "Missing").Inc()
		log.Info("certificate Secret was missing: created", "how", how)
		r.Events.Normal(rd.secret, ReasonCertificateIssued, actionIssue, "Secret was missing: %s", how)
		r.Events.Resolved(rd.secret, ReasonCertificateIssued)
		return
	}
	reason := string(certs.ReasonOf(cause))
	repairs.WithLabelValues("secret", reason).Inc()
	log.Info("certificate Secret was invalid: rebuilt", "reason", reason, "error", cause.Error(), "how", how)
	r.Events.Warning(rd.secret, ReasonCertificateRepaired, actionRepair, "Secret was invalid (%v): %s", cause, how)
	r.Events.Resolved(rd.secret, ReasonCertificateRepaired)
}

// writeSecret stores the bundle: creates the Secret, or updates the managed
// one unless it already holds exactly this data.
func (r *Reconciler) writeSecret(ctx context.Context, rd *round, b *certs.Bundle) error {
	if rd.secret == nil {
		s := b.NewSecret(r.Options.Namespace, r.Options.SecretName)
		if err := r.Client.Create(ctx, s); err != nil {
			return fmt.Errorf("creating Secret %s/%s: %w", s.Namespace, s.Name, err)
		}
		rd.secret = s
		return nil
	}
	if b.SameData(rd.secret) {
		return nil
	}
	s := rd.secret.DeepCopy()
	if err := b.WriteSecret(s); err != nil {
		return err
	}
	if err := r.Client.Update(ctx, s); err != nil {
		return fmt.Errorf("updating Secret %s: %w", klog.KObj(s), err)
	}
	rd.secret = s
	return nil
}

// followUserSecret serves a Secret without lbgate's label and never writes
// it: it says so (event, log, metric), and keeps the caBundle on the
// Secret's CA when it has one.
func (r *Reconciler) followUserSecret(ctx context.Context, rd *round) error {
	certificateManaged.Set(0)
	msg := fmt.Sprintf("Secret %s has no label %s=%s: lbgate serves its certificate when it is valid but never writes it; "+
		"label it, or delete it, to let lbgate manage the webhook certificates",
		klog.KObj(rd.secret), certs.LabelManaged, certs.LabelManagedValue)
	r.reportCondition(ctx, rd, ReasonCertificateNotManaged, msg)

	rd.caBundle, rd.ownCABundle = liveCABundle(rd.config), true
	b, err := servable(rd.secret, r.Options, rd.now)
	if err != nil {
		r.Events.Warning(rd.secret, ReasonCertificateInvalid, actionServe,
			"user-supplied Secret is not servable (%v); the last good certificate stays in service", err)
		return nil
	}
	r.Events.Resolved(rd.secret, ReasonCertificateInvalid)
	if b.CA.Cert != nil {
		rd.caBundle = b.CABundle()
	}
	rd.requeueWithin(b.NextCheck(rd.now).Sub(rd.now))
	return nil
}

// followCertManager serves cert-manager's Secret and never writes it nor the
// caBundle: it only reports what is wrong with them.
func (r *Reconciler) followCertManager(ctx context.Context, rd *round) error {
	certificateManaged.Set(0)
	rd.ownCABundle = false
	if rd.secret == nil {
		if r.reported.changed("SecretMissing", "") {
			logf.FromContext(ctx).Info("waiting for cert-manager to issue the certificate Secret",
				"secret", klog.KRef(r.Options.Namespace, r.Options.SecretName), "certificate", r.Options.CertManagerCertificate)
		}
		return nil
	}
	r.reported.clear("SecretMissing")
	b, err := servable(rd.secret, r.Options, rd.now)
	if err != nil {
		r.Events.Warning(rd.secret, ReasonCertificateInvalid, actionServe,
			"cert-manager's Secret is not servable (%v); check Certificate %s", err, r.Options.CertManagerCertificate)
		return nil
	}
	r.Events.Resolved(rd.secret, ReasonCertificateInvalid)
	if rd.config != nil {
		if err := certs.Verifies(liveCABundle(rd.config), b.Serving.Cert); err != nil {
			r.Events.Warning(rd.config, ReasonCABundleNotTrusted, actionServe,
				"the caBundle does not trust the certificate of Secret %s (%v): cert-manager's cainjector fills it from Certificate %s/%s",
				klog.KObj(rd.secret), err, r.Options.Namespace, r.Options.CertManagerCertificate)
		} else {
			r.Events.Resolved(rd.config, ReasonCABundleNotTrusted)
		}
	}
	rd.requeueWithin(b.NextCheck(rd.now).Sub(rd.now))
	return nil
}
