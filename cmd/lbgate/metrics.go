package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	metricsfilters "sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// The operator checks who scrapes its metrics with the apiserver: a
// TokenReview for the bearer token, then a SubjectAccessReview for
// `get /metrics` (controller-runtime's metrics filter).
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// Names of the certificate files in --metrics-cert-dir: the keys of a
// kubernetes.io/tls Secret, so one can be mounted as it is.
const (
	metricsCertFile = "tls.crt"
	metricsKeyFile  = "tls.key"
)

// metricsOptions are the flags of the metrics endpoint besides its
// address (--metrics-bind-address, with the binary's other flags).
type metricsOptions struct {
	secure  bool
	certDir string
}

func (m *metricsOptions) bind(fs *flag.FlagSet) {
	fs.BoolVar(&m.secure, "metrics-secure", true, "serve metrics over HTTPS to callers whose bearer token the apiserver authenticates and allows `get` on the non-resource URL /metrics (ClusterRole lbgate-metrics-reader); false: plain HTTP to anyone, for local runs")
	fs.StringVar(&m.certDir, "metrics-cert-dir", "", "directory with "+metricsCertFile+" and "+metricsKeyFile+" for the HTTPS metrics endpoint (a mounted kubernetes.io/tls Secret; reloaded when they change); empty: a self-signed certificate made at start")
}

// serverOptions checks the metrics flags and returns the metrics server's
// options for the address bindAddress ("0" turns the server off). Each error
// names the flag and its value.
func (m metricsOptions) serverOptions(bindAddress string) (metricsserver.Options, error) {
	o := metricsserver.Options{BindAddress: bindAddress}
	if !m.secure {
		if m.certDir != "" {
			return o, fmt.Errorf("--metrics-cert-dir=%s: needs --metrics-secure (plain HTTP uses no certificate)", m.certDir)
		}
		return o, nil
	}
	o.SecureServing = true
	o.FilterProvider = metricsfilters.WithAuthenticationAndAuthorization
	// HTTP/1.1 only: HTTP/2 exposes the endpoint to the stream cancellation
	// and rapid reset attacks (CVE-2023-44487, CVE-2023-39325) for no gain.
	o.TLSOpts = []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }}
	if m.certDir == "" {
		// A directory that holds no certificate: controller-runtime then
		// makes a self-signed one, rather than reading its default directory.
		o.CertDir = filepath.Join(os.TempDir(), "lbgate-metrics-self-signed")
		return o, nil
	}
	for _, f := range []string{metricsCertFile, metricsKeyFile} {
		if _, err := os.Stat(filepath.Join(m.certDir, f)); err != nil {
			return o, fmt.Errorf("--metrics-cert-dir=%s: %w", m.certDir, errors.Unwrap(err))
		}
	}
	o.CertDir, o.CertName, o.KeyName = m.certDir, metricsCertFile, metricsKeyFile
	return o, nil
}
