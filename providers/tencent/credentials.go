package tencent

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// Credentials are an API key pair. They are never logged: String hides the key.
type Credentials struct {
	SecretID, SecretKey string
}

// String shows the secret id only.
func (c Credentials) String() string { return "SecretId=" + c.SecretID + " SecretKey=(hidden)" }

func (c Credentials) complete() bool { return c.SecretID != "" && c.SecretKey != "" }

// CredentialSource reads the API key pair, for example from a Kubernetes
// Secret. It is asked at the first call, and again after the API rejected
// the key (AuthFailure), so a rotated key is picked up without a restart.
type CredentialSource func(ctx context.Context) (Credentials, error)

// StaticCredentials is a source that always returns c.
func StaticCredentials(c Credentials) CredentialSource {
	return func(context.Context) (Credentials, error) { return c, nil }
}

// keyring holds the key pair the SDK signs with. It implements the SDK's
// CredentialIface; the pair is swapped atomically, so a call never signs
// with the id of one pair and the key of another.
type keyring struct {
	source CredentialSource

	mu  sync.Mutex // serialises reads of the source
	cur atomic.Pointer[Credentials]
}

// load makes sure a pair is held, reading the source when none is.
func (k *keyring) load(ctx context.Context) error {
	if k.cur.Load() != nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cur.Load() != nil {
		return nil
	}
	c, err := k.source(ctx)
	if err != nil {
		return err
	}
	if !c.complete() {
		return errors.New("the credential source gave no SecretId or no SecretKey")
	}
	k.cur.Store(&c)
	return nil
}

// forget drops the pair so the next call reads the source again.
func (k *keyring) forget() { k.cur.Store(nil) }

func (k *keyring) pair() Credentials {
	if c := k.cur.Load(); c != nil {
		return *c
	}
	return Credentials{}
}

func (k *keyring) GetSecretId() string  { return k.pair().SecretID } //nolint:revive // the Tencent SDK's CredentialIface spells it so
func (k *keyring) GetSecretKey() string { return k.pair().SecretKey }
func (k *keyring) GetToken() string     { return "" }
func (k *keyring) GetCredential() (string, string, string) {
	c := k.pair()
	return c.SecretID, c.SecretKey, ""
}
