package cluster

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
)

// startEtcd starts a single-member etcd on two loopback ports (clients and
// peers; the peer port is set explicitly because etcd's default, 2380, would
// collide between clusters) with mutual TLS on both, and waits for /health.
// fsync is off: the data is thrown away with the cluster, and fsync latency
// on a shared disk is the slowest part of a test apiserver.
func (c *Cluster) startEtcd(ctx context.Context) error {
	client, err := httpsClient(c.pki.ca.certPEM, c.pki.etcdClient)
	if err != nil {
		return err
	}
	dataDir := filepath.Join(c.workDir, "etcd")
	return c.launch(ctx, Etcd, 2, func(ports []int) launchSpec {
		clientURL := "https://127.0.0.1:" + strconv.Itoa(ports[0])
		peerURL := "https://127.0.0.1:" + strconv.Itoa(ports[1])
		c.etcdURL = clientURL
		// A failed attempt's member data names its old peer URL: start afresh.
		_ = os.RemoveAll(dataDir)
		s := c.pki.etcdServer
		return launchSpec{flags: []flag{
			{name: "name", value: "lbgate-e2e"},
			{name: "data-dir", value: dataDir},
			{name: "listen-client-urls", value: clientURL},
			{name: "advertise-client-urls", value: clientURL},
			{name: "listen-peer-urls", value: peerURL},
			{name: "initial-advertise-peer-urls", value: peerURL},
			{name: "initial-cluster", value: "lbgate-e2e=" + peerURL},
			{name: "initial-cluster-state", value: "new"},
			{name: "cert-file", value: s.certPath},
			{name: "key-file", value: s.keyPath},
			{name: "trusted-ca-file", value: c.pki.ca.certPath},
			{name: "client-cert-auth", value: "true"},
			{name: "peer-cert-file", value: s.certPath},
			{name: "peer-key-file", value: s.keyPath},
			{name: "peer-trusted-ca-file", value: c.pki.ca.certPath},
			{name: "peer-client-cert-auth", value: "true"},
			{name: "unsafe-no-fsync", value: "true"},
		}, ready: []string{clientURL + "/health"}, client: client}
	})
}
