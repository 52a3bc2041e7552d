package webhookcfg

import (
	"bytes"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/lbgate/lbgate/certs"
)

// servable judges the Secret for serving at now: a Secret lbgate manages must
// be a complete, valid bundle for every name lbgate issues; any other
// (user-supplied, cert-manager's) must hold a valid serving certificate for
// the name the apiserver dials.
func servable(secret *corev1.Secret, o Options, now time.Time) (*certs.Bundle, error) {
	if o.selfManaged() && certs.IsManaged(secret) {
		return certs.Load(secret.Data, now, o.certOptions().Names())
	}
	b, err := certs.DecodeServing(secret.Data)
	if err != nil {
		return nil, err
	}
	if err := b.Validate(now, []string{o.dialedName()}); err != nil {
		return b, err
	}
	return b, nil
}

// servingLoader keeps one replica's served certificate (its Keeper) in step
// with the Secret. It runs on every replica, leader or not. An invalid or
// deleted Secret leaves the last good certificate in service: the leader
// repairs the Secret, and meanwhile the webhook keeps answering.
type servingLoader struct {
	keeper *certs.Keeper
	opts   Options
	log    logr.Logger
	now    func() time.Time
}

// handler returns the informer event handler that feeds the Keeper.
func (s *servingLoader) handler() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.load(obj) },
		UpdateFunc: func(_, obj any) { s.load(obj) },
		DeleteFunc: func(any) {
			s.log.Info("certificate Secret deleted; serving the last good certificate until it is back",
				"secret", klog.KRef(s.opts.Namespace, s.opts.SecretName))
		},
	}
}

// load serves the Secret's certificate when it is valid and new.
func (s *servingLoader) load(obj any) {
	secret, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	log := s.log.WithValues("secret", klog.KObj(secret), "resourceVersion", secret.ResourceVersion)
	b, err := servable(secret, s.opts, s.now())
	if err != nil {
		log.Info("certificate Secret not servable; keeping the current certificate", "reason", certs.ReasonOf(err), "error", err.Error())
		return
	}
	if cur := s.keeper.Current(); cur != nil && cur.Serving.Cert.Equal(b.Serving.Cert) && bytes.Equal(cur.Serving.KeyPEM, b.Serving.KeyPEM) {
		s.keeper.Update(b) //nolint:errcheck // same certificate; keeps the bundle's CA fields current
		return
	}
	if err := s.keeper.Update(b); err != nil {
		log.Error(err, "cannot serve the certificate Secret")
		return
	}
	servedExpiry.Set(float64(b.Serving.Cert.NotAfter.Unix()))
	log.Info("serving a new certificate", "certificate", b.String())
}

// describeServed names the served certificate for messages.
func describeServed(k *certs.Keeper) string {
	if leaf := k.Leaf(); leaf != nil {
		return fmt.Sprintf("serial %x", leaf.SerialNumber)
	}
	return "none"
}
