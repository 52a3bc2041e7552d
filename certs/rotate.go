package certs

import "fmt"

// Apply performs action (from Plan) and returns the new bundle; ActionNone
// returns b itself.
func (b *Bundle) Apply(action Action, opts Options) (*Bundle, error) {
	switch action {
	case ActionNone:
		return b, nil
	case ActionRotateCA:
		return b.RotateCA(opts)
	case ActionIssueFromNewCA, ActionRenewLeaf:
		return b.RenewLeaf(opts)
	case ActionDropPreviousCA:
		return b.DropPreviousCA(), nil
	}
	return nil, fmt.Errorf("apply certificate action: unknown action %q", action)
}

// RenewLeaf returns a bundle with a new serving certificate from the current
// CA; the CA and any previous CA are kept.
func (b *Bundle) RenewLeaf(opts Options) (*Bundle, error) {
	if !b.CanSign() {
		return nil, fmt.Errorf("renew serving certificate: %w", ErrNoCAKey)
	}
	opts, err := opts.complete()
	if err != nil {
		return nil, err
	}
	leaf, err := issueLeaf(&b.CA, opts, opts.Now())
	if err != nil {
		return nil, fmt.Errorf("renew serving certificate: %w", err)
	}
	return &Bundle{CA: b.CA, Serving: leaf, PreviousCA: b.PreviousCA}, nil
}

// RotateCA returns a bundle with a new CA, the current CA kept as PreviousCA
// (certificate only) and the serving certificate unchanged. It fails with
// ErrRotationInProgress while a previous CA is still kept.
func (b *Bundle) RotateCA(opts Options) (*Bundle, error) {
	if !b.CanSign() {
		return nil, fmt.Errorf("rotate CA: %w", ErrNoCAKey)
	}
	if b.PreviousCA != nil {
		return nil, fmt.Errorf("rotate CA: %w", ErrRotationInProgress)
	}
	opts, err := opts.complete()
	if err != nil {
		return nil, err
	}
	ca, err := newCA(opts, opts.Now())
	if err != nil {
		return nil, fmt.Errorf("rotate CA: %w", err)
	}
	prev := &KeyPair{Cert: b.CA.Cert, Chain: b.CA.Chain, CertPEM: b.CA.CertPEM}
	return &Bundle{CA: ca, Serving: b.Serving, PreviousCA: prev}, nil
}

// DropPreviousCA returns the bundle without its previous CA.
func (b *Bundle) DropPreviousCA() *Bundle {
	return &Bundle{CA: b.CA, Serving: b.Serving}
}
