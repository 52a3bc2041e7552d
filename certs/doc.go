// Package certs generates, stores, validates, rotates and serves the
// certificates of lbgate's admission webhook.
//
// A Bundle holds a self-signed ECDSA P-256 CA, a serving certificate signed by
// it and, during a CA rotation, the previous CA. It is stored in one labelled
// Secret (Encode, Decode, IsManaged), checked with Validate, moved forward in
// time with Plan and Apply, served from memory by a Keeper, and compared with
// a webhook configuration's caBundle with Verifies.
//
// The package is pure: it never talks to the Kubernetes API and never logs.
// Every function that needs the time takes it as an argument or through
// Options.Now, so tests drive it with a fake clock.
//
// Bundle values are immutable once built: every method that changes a bundle
// returns a new one, so a *Bundle can be shared between goroutines.
package certs
