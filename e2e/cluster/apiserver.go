package cluster

import (
	"context"
	"strconv"
)

// serviceAccountIssuer is the issuer of service-account tokens, as in a
// kubeadm cluster; it is also the default token audience.
const serviceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

// startAPIServer starts kube-apiserver on one loopback port (secure port
// only; there is no insecure port any more) and waits for /readyz, which
// includes etcd and the post-start hooks (RBAC bootstrap roles, priority and
// fairness configuration).
//
// Authorization is Node,RBAC, as in kubeadm and kind clusters, not
// AlwaysAllow: the controller-manager runs each controller under its own
// service account (--use-service-account-credentials) and the scheduler as
// system:kube-scheduler, so their bootstrap roles are exercised as in
// production, and an operator or node simulator given a narrower identity
// than the admin's meets the same RBAC a real cluster applies (a missing
// rule in config/rbac fails the e2e suite instead of production). The Node
// authorizer only concerns system:node:* users and costs nothing otherwise.
// The admin kubeconfig's user is in system:masters, so tests are not slowed
// by authorization at all.
//
// The endpoint reconciler is off (--endpoint-reconciler-type=none): it would
// publish the advertise address, 127.0.0.1, as the endpoint of the
// `kubernetes` Service, and the apiserver refuses to start with a loopback
// address there ("may not be in the loopback range"). Nothing reaches the
// apiserver through that Service here: there are no real pods, and every
// client uses 127.0.0.1 directly.
//
// The front-proxy (requestheader) flags are set as in kubeadm: the apiserver
// publishes the requestheader CA in kube-system/extension-apiserver-
// authentication, which the controller-manager and the scheduler read for
// their own authentication (without it they log an error every few
// seconds), and aggregated APIs would work.
func (c *Cluster) startAPIServer(ctx context.Context) error {
	client, err := httpsClient(c.pki.ca.certPEM, c.pki.admin)
	if err != nil {
		return err
	}
	return c.launch(ctx, APIServer, 1, func(ports []int) launchSpec {
		c.apiURL = "https://127.0.0.1:" + strconv.Itoa(ports[0])
		p := c.pki
		return launchSpec{flags: []flag{
			{name: "bind-address", value: "127.0.0.1"},
			{name: "advertise-address", value: "127.0.0.1"},
			{name: "secure-port", value: strconv.Itoa(ports[0])},
			{name: "etcd-servers", value: c.etcdURL},
			{name: "etcd-cafile", value: p.ca.certPath},
			{name: "etcd-certfile", value: p.etcdClient.certPath},
			{name: "etcd-keyfile", value: p.etcdClient.keyPath},
			{name: "tls-cert-file", value: p.apiServer.certPath},
			{name: "tls-private-key-file", value: p.apiServer.keyPath},
			{name: "client-ca-file", value: p.ca.certPath},
			{name: "service-account-issuer", value: serviceAccountIssuer},
			{name: "service-account-key-file", value: p.saPubKeyPath},
			{name: "service-account-signing-key-file", value: p.saKeyPath},
			{name: "service-cluster-ip-range", value: c.opts.ServiceClusterIPRange},
			{name: "authorization-mode", value: "Node,RBAC"},
			{name: "allow-privileged", value: "true"},
			{name: "endpoint-reconciler-type", value: "none"},
			{name: "requestheader-client-ca-file", value: p.frontProxyCA.certPath},
			{name: "requestheader-allowed-names", value: frontProxyClientName},
			{name: "requestheader-username-headers", value: "X-Remote-User"},
			{name: "requestheader-group-headers", value: "X-Remote-Group"},
			{name: "requestheader-extra-headers-prefix", value: "X-Remote-Extra-"},
			{name: "proxy-client-cert-file", value: p.frontProxyClient.certPath},
			{name: "proxy-client-key-file", value: p.frontProxyClient.keyPath},
		}, ready: []string{c.apiURL + "/readyz"}, client: client}
	})
}
