// Package webhookcfg runs lbgate's pod webhook inside the manager and keeps
// everything it depends on correct, continuously:
//
//   - every replica serves the webhook from memory (certs.Keeper), loads the
//     certificate Secret on every change, keeps its last good certificate
//     when the Secret is deleted or broken, and reports ready only while the
//     live caBundle trusts the certificate it serves (ReadyCheck);
//   - the leader alone repairs (Reconciler): it regenerates a missing or
//     invalid Secret, renews and rotates the certificates (certs.Plan), and
//     puts the MutatingWebhookConfiguration back whenever anything in it is
//     missing or different (Desired, Differences);
//   - in cert-manager mode the Secret and the caBundle belong to
//     cert-manager: the operator serves what the Secret holds and repairs
//     only the rest of the configuration. It reads no cert-manager object
//     (so the operator needs no cert-manager API types): the Certificate is
//     named only in the configuration's cert-manager.io/inject-ca-from
//     annotation (config/install_test.go checks that overlay against
//     cert-manager's own API types).
//
// A repair never stops the webhook from answering. A Secret whose serving
// certificate is bad but whose CA is good and trusted gets a new serving
// certificate from that CA. A deleted or unreadable Secret is rebuilt around
// what the replicas still serve: a new CA, with the served certificate and
// its CA kept, so the caBundle holds both CAs before anything served
// changes; the usual rotation then moves every replica to a certificate of
// the new CA and drops the old one. Only when nothing trusted is served is
// everything issued afresh.
//
// The Secret and the configuration are read from a cache of their own that
// holds only these two objects (by name), so the operator never caches the
// cluster's Secrets, and RBAC names both objects.
//
// Writes use one field manager, FieldManager. The configuration is written
// with server-side apply: re-applying the kustomize manifests, which carry
// the same values without a caBundle, changes nothing and starts no write
// war; a field someone else changed is taken back by the forced apply, and
// anything the apply cannot remove (another manager's extra webhook or list
// entry) is removed by a plain update of the webhooks list.
package webhookcfg
