package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/haproxy"
)

// haproxyTLSOptions are the flags of a tls:// Runtime API: PEM files, so a
// mounted Secret (kubernetes.io/tls with ca.crt, as cert-manager writes it)
// works as it is, and a renewed one is read at the next connection.
type haproxyTLSOptions struct {
	cert       string
	key        string
	ca         string
	serverName string
}

func (o *haproxyTLSOptions) bind(fs *flag.FlagSet) {
	fs.StringVar(&o.cert, "haproxy-tls-cert", "", "client certificate (PEM file) lbgate presents to a tls:// HAProxy Runtime API, e.g. tls.crt of a mounted Secret")
	fs.StringVar(&o.key, "haproxy-tls-key", "", "private key (PEM file) of --haproxy-tls-cert, e.g. tls.key of a mounted Secret")
	fs.StringVar(&o.ca, "haproxy-tls-ca", "", "CA certificates (PEM file) that HAProxy's server certificate must chain to, e.g. ca.crt of a mounted Secret; system roots are not used")
	fs.StringVar(&o.serverName, "haproxy-tls-server-name", "", "name HAProxy's server certificate must carry (default: the host of --haproxy-runtime-api)")
}

// set reports whether any TLS flag is given.
func (o *haproxyTLSOptions) set() bool { return *o != haproxyTLSOptions{} }

// flagOf names the flag of each TLS file, for the provider's file errors.
var flagOf = map[haproxy.TLSFile]string{
	haproxy.TLSCert: "--haproxy-tls-cert",
	haproxy.TLSKey:  "--haproxy-tls-key",
	haproxy.TLSCA:   "--haproxy-tls-ca",
}

// files checks the TLS flags against the address's scheme and returns
// the provider's TLS files (nil unless tls://).
func (o *haproxyTLSOptions) files(runtimeAPI string) (*haproxy.TLSFiles, error) {
	if !strings.HasPrefix(runtimeAPI, "tls://") {
		if o.set() {
			return nil, fmt.Errorf("--haproxy-tls-* flags are set but --haproxy-runtime-api=%q is not tls://host:port", runtimeAPI)
		}
		return nil, nil
	}
	var missing []string
	for _, f := range []struct{ name, value string }{{"--haproxy-tls-cert", o.cert}, {"--haproxy-tls-key", o.key}, {"--haproxy-tls-ca", o.ca}} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("--haproxy-runtime-api=%q needs %s: a tls:// Runtime API takes lbgate's client certificate, its key and the CA of HAProxy's certificate", runtimeAPI, strings.Join(missing, ", "))
	}
	return &haproxy.TLSFiles{CertFile: o.cert, KeyFile: o.key, CAFile: o.ca, ServerName: o.serverName}, nil
}

// haproxyProvider builds the HAProxy provider from the --haproxy-* flags.
// It reads the TLS files, but connects nowhere yet; a plain TCP address off
// loopback is logged as unauthenticated at the first connection.
func (o *options) haproxyProvider() (providers.Provider, error) {
	if o.haproxyRuntimeAPI == "" {
		return nil, fmt.Errorf("--provider=haproxy needs --haproxy-runtime-api (unix:///path/admin.sock, tls://host:port or tcp://127.0.0.1:9999)")
	}
	files, err := o.haproxyTLS.files(o.haproxyRuntimeAPI)
	if err != nil {
		return nil, err
	}
	p, err := haproxy.New(o.haproxyRuntimeAPI, haproxy.Options{Timeout: o.haproxyTimeout, TLS: files, Log: ctrl.Log.WithName("haproxy")})
	var fe *haproxy.TLSFileError
	switch {
	case errors.As(err, &fe):
		return nil, fmt.Errorf("%s=%q: %w", flagOf[fe.File], fe.Path, fe.Err)
	case err != nil:
		return nil, fmt.Errorf("--haproxy-runtime-api=%q: %w", o.haproxyRuntimeAPI, err)
	}
	return p, nil
}
