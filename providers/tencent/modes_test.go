package tencent_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/tencent"
	"github.com/lbgate/lbgate/providers/tencent/clbsim"
)

// The network mode reaches the provider with the target (issue 12). ENI:
// the pod IP is a VPC address and is bound as EniIp. GlobalRouter: the pod
// IP is from the container range, which the CLB reaches only where that
// range is routed to its VPC (CCN), so an address outside the declared
// ranges is refused before anything is bound, and so is every address
// when no range is declared.
func TestGlobalRouterBackendsOnlyInsideTheRoutedRanges(t *testing.T) {
	a := app(t) // 127.0.0.1:port
	tests := []struct {
		name   string
		mode   providers.NetworkMode
		cidrs  []string
		bound  bool
		detail string
	}{
		{name: "eni binds any pod IP", mode: providers.ModeENI, bound: true},
		{name: "empty mode is eni", mode: "", bound: true},
		{name: "global-router inside a routed range", mode: providers.ModeGlobalRouter, cidrs: []string{"10.0.0.0/8", "127.0.0.0/8"}, bound: true},
		{name: "global-router outside the routed ranges", mode: providers.ModeGlobalRouter, cidrs: []string{"10.0.0.0/8"}, detail: "--global-router-cidrs=10.0.0.0/8"},
		{name: "global-router with no range declared", mode: providers.ModeGlobalRouter, detail: "set --global-router-cidrs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts tencent.Options
			for _, c := range tt.cidrs {
				opts.GlobalRouterCIDRs = append(opts.GlobalRouterCIDRs, netip.MustParsePrefix(c))
			}
			sim, p := setup(t, clbsim.Config{}, opts)
			err := p.Register(context.Background(), providers.Target{ID: "lb-1/lbl-4", Mode: tt.mode}, []providers.Backend{{Addr: a, Weight: 10}})
			got := len(sim.Backends("lb-1", "lbl-4", ""))
			if tt.bound {
				if err != nil || got != 1 {
					t.Fatalf("Register: %v, %d bound; want it bound", err, got)
				}
				return
			}
			var ue *providers.UnreachableError
			if !errors.As(err, &ue) || ue.Mode != providers.ModeGlobalRouter || len(ue.Addrs) != 1 || ue.Addrs[0] != a {
				t.Fatalf("Register: %v; want an UnreachableError naming %s", err, a)
			}
			if !strings.Contains(err.Error(), tt.detail) || !strings.Contains(err.Error(), a.String()) {
				t.Errorf("error %q does not say %q and the address", err, tt.detail)
			}
			if got != 0 {
				t.Errorf("%d targets bound after a refusal, want none", got)
			}
			for _, c := range sim.Calls() {
				if c.Action == "BatchRegisterTargets" {
					t.Errorf("BatchRegisterTargets called for a refused backend")
				}
			}
		})
	}
}

// A key read from a CredentialSource (a Secret) is read at the first call
// and again after the API rejects it, so a rotated key takes effect
// without a restart; a source that fails is a permission error.
func TestCredentialSourceIsReadAgainAfterARejectedKey(t *testing.T) {
	var reads atomic.Int32
	key := atomic.Value{}
	key.Store("old-rotated-away")
	source := func(context.Context) (tencent.Credentials, error) {
		reads.Add(1)
		return tencent.Credentials{SecretID: id, SecretKey: key.Load().(string)}, nil
	}
	_, p := setup(t, clbsim.Config{}, tencent.Options{CredentialSource: source})
	ctx := context.Background()
	if _, err := p.List(ctx, "lb-1/lbl-4"); !providers.IsPermission(err) {
		t.Fatalf("List with the old key: %v, want a permission error", err)
	}
	key.Store(secret) // the Secret is updated
	if _, err := p.List(ctx, "lb-1/lbl-4"); err != nil {
		t.Fatalf("List after the key was rotated: %v", err)
	}
	before := reads.Load()
	for range 3 {
		if _, err := p.List(ctx, "lb-1/lbl-4"); err != nil {
			t.Fatal(err)
		}
	}
	if reads.Load() != before {
		t.Errorf("the source was read %d more times while the key worked, want 0", reads.Load()-before)
	}
	if before != 2 {
		t.Errorf("the source was read %d times (first call, after the rejection), want 2", before)
	}

	_, broken := setup(t, clbsim.Config{}, tencent.Options{CredentialSource: func(context.Context) (tencent.Credentials, error) {
		return tencent.Credentials{}, errors.New(`secrets "lbgate-tencentcloud-credentials" not found`)
	}})
	_, err := broken.List(ctx, "lb-1/lbl-4")
	if !providers.IsPermission(err) || !strings.Contains(err.Error(), "not found") {
		t.Errorf("List with an unreadable key: %v, want a permission error that says why", err)
	}
}
