package cluster

import (
	"context"
	"strconv"
)

// startScheduler starts kube-scheduler as system:kube-scheduler, serving
// /healthz on a loopback port with a CA-signed certificate, without leader
// election (one instance).
func (c *Cluster) startScheduler(ctx context.Context) error {
	client, err := httpsClient(c.pki.ca.certPEM, c.pki.admin)
	if err != nil {
		return err
	}
	return c.launch(ctx, Scheduler, 1, func(ports []int) launchSpec {
		port := strconv.Itoa(ports[0])
		p := c.pki
		return launchSpec{flags: []flag{
			{name: "kubeconfig", value: c.schedKubeconfig},
			{name: "authentication-kubeconfig", value: c.schedKubeconfig},
			{name: "authorization-kubeconfig", value: c.schedKubeconfig},
			{name: "bind-address", value: "127.0.0.1"},
			{name: "secure-port", value: port},
			{name: "tls-cert-file", value: p.schedServing.certPath},
			{name: "tls-private-key-file", value: p.schedServing.keyPath},
			{name: "client-ca-file", value: p.ca.certPath},
			{name: "leader-elect", value: "false"},
		}, ready: []string{"https://127.0.0.1:" + port + "/healthz"}, client: client}
	})
}
