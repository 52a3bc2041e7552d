package main

import (
	"fmt"

	"github.com/lbgate/lbgate/providers"
	"github.com/lbgate/lbgate/providers/fake"
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
		p := fake.New(providers.Limits{})
		p.SetNewBackendHealth(providers.HealthHealthy)
		p.CreateTargetsOnUse(true)
		return p, nil
	default:
		return nil, fmt.Errorf("--provider=%q: must be haproxy, tencentclb (also tencent) or fake", o.provider)
	}
}
