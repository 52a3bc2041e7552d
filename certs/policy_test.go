package certs

import (
	"errors"
	"testing"
	"time"
)

func TestRenewalAndRotationTiming(t *testing.T) {
	tests := []struct {
		name          string
		ca, leaf      time.Duration // zero: the defaults
		after         time.Duration // time since issue
		renew, rotate bool
		wantPlan      Action
	}{
		// A 9h leaf is backdated 54s, so it is due 5h59m42s after issue.
		{name: "fresh", ca: 30 * time.Hour, leaf: 9 * time.Hour, after: 0, wantPlan: ActionNone},
		{name: "leaf at half", ca: 30 * time.Hour, leaf: 9 * time.Hour, after: 4*time.Hour + 30*time.Minute, wantPlan: ActionNone},
		{name: "leaf just before two-thirds", ca: 30 * time.Hour, leaf: 9 * time.Hour, after: 6*time.Hour - time.Minute, wantPlan: ActionNone},
		{name: "leaf at two-thirds", ca: 30 * time.Hour, leaf: 9 * time.Hour, after: 6 * time.Hour, renew: true, wantPlan: ActionRenewLeaf},
		{name: "leaf past two-thirds", ca: 30 * time.Hour, leaf: 9 * time.Hour, after: 8 * time.Hour, renew: true, wantPlan: ActionRenewLeaf},
		{name: "default lifetimes, day 59", after: 59 * 24 * time.Hour, wantPlan: ActionNone},
		{name: "default lifetimes, day 61", after: 61 * 24 * time.Hour, renew: true, wantPlan: ActionRenewLeaf},
		{name: "seconds: 9s leaf at 5s", ca: 30 * time.Second, leaf: 9 * time.Second, after: 5 * time.Second, wantPlan: ActionNone},
		{name: "seconds: 9s leaf at 6s", ca: 30 * time.Second, leaf: 9 * time.Second, after: 6 * time.Second, renew: true, wantPlan: ActionRenewLeaf},
		{name: "CA just before two-thirds", ca: 30 * time.Hour, leaf: 9 * time.Hour, after: 19*time.Hour + 59*time.Minute, renew: true, wantPlan: ActionRenewLeaf},
		{name: "CA at two-thirds wins over leaf renewal", ca: 30 * time.Hour, leaf: 9 * time.Hour, after: 20 * time.Hour, renew: true, rotate: true, wantPlan: ActionRotateCA},
		{name: "seconds: CA at two-thirds", ca: 30 * time.Second, leaf: 9 * time.Second, after: 21 * time.Second, renew: true, rotate: true, wantPlan: ActionRotateCA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock(t0)
			opts := Options{ServiceName: "s", Namespace: "n", Now: clock.Now, CALifetime: tt.ca, LeafLifetime: tt.leaf}
			b := mustGenerate(t, opts)
			now := t0.Add(tt.after)
			if got := b.NeedsRenewal(now); got != tt.renew {
				t.Errorf("NeedsRenewal = %v, want %v (renew at %s after issue)", got, tt.renew, b.RenewAt().Sub(t0))
			}
			if got := b.NeedsCARotation(now); got != tt.rotate {
				t.Errorf("NeedsCARotation = %v, want %v", got, tt.rotate)
			}
			if got := b.Plan(now, Observed{}); got != tt.wantPlan {
				t.Errorf("Plan = %s, want %s", got, tt.wantPlan)
			}
			next := b.NextCheck(now)
			if tt.renew && !next.Equal(now) {
				t.Errorf("NextCheck %s, want now when an action is due", next)
			}
			if !tt.renew && !next.Equal(b.RenewAt()) {
				t.Errorf("NextCheck %s after issue, want the renewal point %s", next.Sub(t0), b.RenewAt().Sub(t0))
			}
		})
	}
}

func TestRenewalPointIsTwoThirdsOfValidity(t *testing.T) {
	b := mustGenerate(t, testOptions(newFakeClock(t0)))
	for _, c := range []struct {
		name     string
		at       time.Time
		from, to time.Time
	}{
		{"leaf", b.RenewAt(), b.Serving.Cert.NotBefore, b.Serving.Cert.NotAfter},
		{"CA", b.RotateCAAt(), b.CA.Cert.NotBefore, b.CA.Cert.NotAfter},
	} {
		if got, want := c.at.Sub(c.from), c.to.Sub(c.from)*2/3; got != want {
			t.Errorf("%s: renewal %s after NotBefore, want %s", c.name, got, want)
		}
	}
}

// TestCARotationLifecycle walks a bundle through routine renewals and a full
// CA rotation with a fake clock, checking the caBundle at each stage.
func TestCARotationLifecycle(t *testing.T) {
	clock := newFakeClock(t0)
	opts := testOptions(clock) // CA 30h, leaf 9h: CA rotation at ~20h
	names := opts.Names()
	b := mustGenerate(t, opts)
	firstCA := b.CA.Cert

	step := func(at time.Duration, obs Observed, want Action) {
		t.Helper()
		clock.Set(t0.Add(at))
		got := b.Plan(clock.Now(), obs)
		if got != want {
			t.Fatalf("at %s: Plan = %s, want %s (%s)", at, got, want, b)
		}
		if got != ActionNone {
			b = mustApply(t, b, got, opts)
		}
		if err := b.Validate(clock.Now(), names); err != nil {
			t.Fatalf("at %s after %s: %v", at, got, err)
		}
	}
	step(time.Hour, Observed{}, ActionNone)
	step(6*time.Hour, Observed{}, ActionRenewLeaf)
	step(7*time.Hour, Observed{}, ActionNone)
	step(12*time.Hour, Observed{}, ActionRenewLeaf)
	step(18*time.Hour, Observed{}, ActionRenewLeaf)

	// Two-thirds of the CA: a new CA, the leaf untouched.
	leafBefore := b.Serving.Cert
	step(20*time.Hour, Observed{}, ActionRotateCA)
	if !b.Serving.Cert.Equal(leafBefore) || b.PreviousCA == nil || !b.PreviousCA.Cert.Equal(firstCA) || b.CA.Cert.Equal(firstCA) {
		t.Fatalf("after RotateCA: %s", b)
	}
	if cas := b.CACertificates(); len(cas) != 2 || !cas[0].Equal(firstCA) || !cas[1].Equal(b.CA.Cert) {
		t.Fatalf("CABundle after RotateCA holds %d certificates, want old then new", len(cas))
	}
	if !b.LeafFromPreviousCA() {
		t.Fatal("leaf should still come from the previous CA")
	}
	oldOnly := firstCAPEM(t, b)
	if err := VerifiesAt(oldOnly, clock.Now(), b.Serving.Cert); err != nil {
		t.Fatalf("clients trusting only the old CA must keep working in phase 1: %v", err)
	}

	// Until the caBundle is live, nothing more happens, even when time passes.
	step(20*time.Hour+time.Minute, Observed{}, ActionNone)
	step(20*time.Hour+time.Minute, Observed{ServedEverywhere: true}, ActionNone)
	// caBundle live: reissue from the new CA.
	step(20*time.Hour+2*time.Minute, Observed{CABundleLive: true}, ActionIssueFromNewCA)
	if b.LeafFromPreviousCA() || b.PreviousCA == nil {
		t.Fatalf("after IssueFromNewCA: %s", b)
	}
	if err := VerifiesAt(b.CABundle(), clock.Now(), b.Serving.Cert); err != nil {
		t.Fatalf("old+new caBundle must verify the new leaf: %v", err)
	}
	if err := VerifiesAt(oldOnly, clock.Now(), b.Serving.Cert); ReasonOf(err) != ReasonNotSignedByCA {
		t.Fatalf("old-only caBundle on the new leaf: %v, want NotSignedByCA", err)
	}
	// Replicas not all switched yet: the previous CA stays.
	step(20*time.Hour+3*time.Minute, Observed{CABundleLive: true}, ActionNone)
	step(20*time.Hour+4*time.Minute, Observed{CABundleLive: true, ServedEverywhere: true}, ActionDropPreviousCA)
	if b.PreviousCA != nil || len(b.CACertificates()) != 1 {
		t.Fatalf("after DropPreviousCA: %s", b)
	}
	// The new CA is fresh: routine renewals resume, no rotation.
	step(26*time.Hour+4*time.Minute, Observed{ServedEverywhere: true}, ActionRenewLeaf)
	step(27*time.Hour, Observed{ServedEverywhere: true}, ActionNone)
}

func TestPlanDropsExpiredPreviousCA(t *testing.T) {
	clock := newFakeClock(t0)
	opts := testOptions(clock)
	b := mustApply(t, mustGenerate(t, opts), ActionRotateCA, opts)
	b = mustApply(t, b, ActionIssueFromNewCA, opts)
	// Replicas never confirmed; the previous CA expires anyway.
	past := b.PreviousCA.Cert.NotAfter.Add(time.Second)
	if got := b.Plan(past, Observed{}); got != ActionDropPreviousCA {
		t.Errorf("Plan after the previous CA expired = %s, want DropPreviousCA", got)
	}
	if got := b.NextCheck(t0); !got.Equal(b.RenewAt()) {
		t.Errorf("NextCheck = %s, want the renewal %s", got, b.RenewAt())
	}
}

func TestPlanOnBundlesLbgateCannotSign(t *testing.T) {
	b := mustGenerate(t, testOptions(newFakeClock(t0)))
	external, err := DecodeServing(withData(b.Encode(), KeyCAKey, nil))
	if err != nil {
		t.Fatal(err)
	}
	late := b.Serving.Cert.NotAfter.Add(-time.Minute)
	if got := external.Plan(late, Observed{CABundleLive: true, ServedEverywhere: true}); got != ActionNone {
		t.Errorf("Plan = %s, want None for a bundle lbgate does not own", got)
	}
	if got := external.NextCheck(t0); !got.Equal(b.Serving.Cert.NotAfter) {
		t.Errorf("NextCheck = %s, want the leaf's expiry", got)
	}
	for _, a := range []Action{ActionRenewLeaf, ActionRotateCA} {
		if _, err := external.Apply(a, testOptions(newFakeClock(t0))); !errors.Is(err, ErrNoCAKey) {
			t.Errorf("Apply(%s) = %v, want ErrNoCAKey", a, err)
		}
	}
}

func TestRotateCARefusesASecondRotation(t *testing.T) {
	clock := newFakeClock(t0)
	opts := testOptions(clock)
	b := mustApply(t, mustGenerate(t, opts), ActionRotateCA, opts)
	if _, err := b.RotateCA(opts); !errors.Is(err, ErrRotationInProgress) {
		t.Errorf("RotateCA during a rotation: %v, want ErrRotationInProgress", err)
	}
	if _, err := b.Apply("Bogus", opts); err == nil {
		t.Error("Apply accepted an unknown action")
	}
	if got, err := b.Apply(ActionNone, opts); err != nil || got != b {
		t.Error("Apply(None) should return the bundle itself")
	}
}

// firstCAPEM returns the previous CA's PEM: a caBundle from before the rotation.
func firstCAPEM(t *testing.T, b *Bundle) []byte {
	t.Helper()
	if b.PreviousCA == nil {
		t.Fatal("no previous CA")
	}
	return b.PreviousCA.CertPEM
}
