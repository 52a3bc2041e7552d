package main

import (
	"fmt"

	"github.com/lbgate/lbgate/providers"
)

// newProvider builds the load-balancer provider the flags choose; it
// connects nowhere yet.
func newProvider(o options) (providers.Provider, error) {
	switch o.provider {
	case "haproxy":
		return o.haproxyProvider()
	case "tencent", "tencentclb":
		return o.tencent.provider(o.globalRouterCIDRs, o.webhook.namespace)
	case "fake":
		return fakeFlags.provider()
	default:
		return nil, fmt.Errorf("--provider=%q: must be haproxy, tencentclb (also tencent) or fake", o.provider)
	}
}
