package main

import (
	"fmt"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/haproxy"
)

// haproxyProvider builds the HAProxy provider from the --haproxy-* flags.
func (o *options) haproxyProvider() (providers.Provider, error) {
	if o.haproxyRuntimeAPI == "" {
		return nil, fmt.Errorf("--provider=haproxy needs --haproxy-runtime-api (unix:///path/admin.sock or tcp://127.0.0.1:9999)")
	}
	p, err := haproxy.New(o.haproxyRuntimeAPI, haproxy.Options{Timeout: o.haproxyTimeout})
	if err != nil {
		return nil, fmt.Errorf("--haproxy-runtime-api=%q: %w", o.haproxyRuntimeAPI, err)
	}
	return p, nil
}
