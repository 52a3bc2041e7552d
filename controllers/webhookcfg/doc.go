// Package webhookcfg runs lbgate's pod webhook inside the manager and keeps
// everything it depends on correct, continuously:
//
//   - every replica serves the webhook from memory (certs.Keeper), loads the
//     certificate Secret on every change, and reports ready only while the
//     live caBundle trusts the certificate it serves (ReadyCheck);
//   - the leader alone repairs (Reconciler): it regenerates a missing or
//     invalid Secret, renews and rotates the certificates (certs.Plan), and
//     puts the MutatingWebhookConfiguration back whenever anything in it is
//     missing or different (Desired, Differences);
//   - in cert-manager mode the Secret and the caBundle belong to
//     cert-manager: the operator serves what the Secret holds and repairs
//     only the rest of the configuration.
//
// The Secret and the configuration are read from a cache of their own that
// holds only these two objects (by name), so the operator never caches the
// cluster's Secrets. Setup wires it all into a manager.
//
// Writes use one field manager, FieldManager. The configuration is written
// with server-side apply: re-applying the kustomize manifests, which carry
// the same values without a caBundle, changes nothing and starts no write
// war; a field someone else changed is taken back by the forced apply, and
// anything the apply cannot remove (another manager's extra list entries)
// is removed by a plain update of the webhooks list.
package webhookcfg
