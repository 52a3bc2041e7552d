package certs

import (
	"crypto/x509"
	"time"
)

// Action is the next step a bundle needs, as decided by Plan.
type Action string

// The actions Plan returns, in the order a CA rotation goes through them:
// RotateCA, IssueFromNewCA, DropPreviousCA. RenewLeaf is the routine renewal.
const (
	// ActionNone: nothing to do now.
	ActionNone Action = "None"
	// ActionRotateCA: the CA passed two-thirds of its lifetime. RotateCA makes
	// a new CA and keeps the old one as PreviousCA; the serving certificate is
	// unchanged, so nothing served changes yet. The caller then writes the
	// Secret and the caBundle (old+new).
	ActionRotateCA Action = "RotateCA"
	// ActionIssueFromNewCA: the serving certificate still comes from the
	// previous CA and the live caBundle holds the new one, so the leaf is
	// reissued from the new CA (RenewLeaf).
	ActionIssueFromNewCA Action = "IssueFromNewCA"
	// ActionDropPreviousCA: every replica serves a certificate from the new CA
	// (or the previous CA expired), so the previous CA leaves the bundle.
	ActionDropPreviousCA Action = "DropPreviousCA"
	// ActionRenewLeaf: the serving certificate passed two-thirds of its
	// lifetime and is reissued from the current CA (RenewLeaf).
	ActionRenewLeaf Action = "RenewLeaf"
)

// Observed is what the caller knows about the world outside the bundle.
type Observed struct {
	// CABundleLive: the webhook configuration's caBundle, as read back from
	// the API, holds every CA of this bundle's CABundle() (see CABundleHas).
	CABundleLive bool
	// ServedEverywhere: every replica serves this bundle's serving certificate.
	ServedEverywhere bool
}

// renewalPoint is two-thirds of the way through c's validity.
func renewalPoint(c *x509.Certificate) time.Time {
	return c.NotBefore.Add(c.NotAfter.Sub(c.NotBefore) * 2 / 3)
}

// RenewAt is when the serving certificate reaches two-thirds of its lifetime.
func (b *Bundle) RenewAt() time.Time { return renewalPoint(b.Serving.Cert) }

// RotateCAAt is when the CA reaches two-thirds of its lifetime.
func (b *Bundle) RotateCAAt() time.Time { return renewalPoint(b.CA.Cert) }

// NeedsRenewal reports whether the serving certificate reached two-thirds of
// its lifetime at now.
func (b *Bundle) NeedsRenewal(now time.Time) bool { return !now.Before(b.RenewAt()) }

// NeedsCARotation reports whether the CA reached two-thirds of its lifetime at now.
func (b *Bundle) NeedsCARotation(now time.Time) bool { return !now.Before(b.RotateCAAt()) }

// Plan returns the next step for a valid bundle (check Validate first) at now.
// A bundle that cannot sign (not lbgate's) never needs an action. The caller
// applies one action at a time (Apply), stores the result, brings the
// caBundle in line, and asks again.
func (b *Bundle) Plan(now time.Time, obs Observed) Action {
	if !b.CanSign() || b.Serving.Cert == nil {
		return ActionNone
	}
	if b.LeafFromPreviousCA() {
		if obs.CABundleLive {
			return ActionIssueFromNewCA
		}
		return ActionNone
	}
	if b.PreviousCA != nil && (obs.ServedEverywhere || now.After(b.PreviousCA.Cert.NotAfter)) {
		return ActionDropPreviousCA
	}
	if b.PreviousCA == nil && b.NeedsCARotation(now) {
		return ActionRotateCA
	}
	if b.NeedsRenewal(now) {
		return ActionRenewLeaf
	}
	return ActionNone
}

// NextCheck returns when Plan may next answer something other than
// ActionNone by the passing of time alone: the caller's requeue time. It is
// now when an action is already due. For a bundle lbgate cannot sign, it is
// the serving certificate's expiry.
func (b *Bundle) NextCheck(now time.Time) time.Time {
	if b.Serving.Cert == nil {
		return now
	}
	var next time.Time
	switch {
	case !b.CanSign():
		next = b.Serving.Cert.NotAfter
	case b.PreviousCA == nil:
		next = earliest(b.RenewAt(), b.RotateCAAt())
	default:
		next = earliest(b.RenewAt(), b.PreviousCA.Cert.NotAfter.Add(time.Second))
	}
	if next.Before(now) {
		return now
	}
	return next
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
