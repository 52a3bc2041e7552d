package webhookcfg

import (
	"crypto/tls"

	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/lbgate/lbgate/certs"
	podwebhook "github.com/lbgate/lbgate/webhook"
)

// newServer returns the webhook server: it serves the pod mutator at Path
// with the certificate the Keeper holds, so nothing is read from disk and a
// new certificate is served from the next handshake on.
func newServer(o Options, keeper *certs.Keeper, h *podwebhook.Handler) webhook.Server {
	srv := webhook.NewServer(webhook.Options{
		Host: o.Host,
		Port: o.Port,
		TLSOpts: []func(*tls.Config){func(c *tls.Config) {
			c.GetCertificate = keeper.GetCertificate
			c.MinVersion = tls.VersionTLS12
		}},
	})
	srv.Register(Path, &admission.Webhook{Handler: timedHandler{h}})
	return srv
}
