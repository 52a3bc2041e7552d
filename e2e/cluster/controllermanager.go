package cluster

import (
	"context"
	"slices"
	"strconv"
	"strings"
)

// DefaultDisabledControllers returns the kube-controller-manager controllers
// the harness turns off. Everything else runs as in a production cluster;
// the list is short on purpose, and each entry is here for a reason.
//
// Disabled, because they publish pod IPs and the simulated pods have loopback
// IPs (127.x.y.z), which Endpoints and EndpointSlice validation rejects ("may
// not be in the loopback range"): they would fail on every Service and fill
// the events with errors, and lbgate reads pods, not endpoints (DESIGN.md):
//
//   - endpoints-controller: Endpoints from Services' pods.
//   - endpointslice-controller: EndpointSlices from Services' pods.
//   - endpointslice-mirroring-controller: mirrors hand-written Endpoints into
//     EndpointSlices; with the two above off it could only mirror loopback
//     addresses into slices that validation rejects.
//
// Kept, after weighing them:
//
//   - node-lifecycle-controller: needs a node agent's heartbeat (the Node's
//     Ready condition or its Lease in kube-node-lease), which the node
//     simulator sends. It removes the node.kubernetes.io/not-ready taint once
//     a Node is Ready, and treats a Node that stops heartbeating for
//     --node-monitor-grace-period (50s) as a real cluster does (NotReady,
//     unreachable taints, pods marked not Ready): that is the behaviour the
//     e2e suite should meet. A test whose Nodes never heartbeat and that runs
//     longer than the grace period adds it to Options.DisableControllers.
//   - taint-eviction-controller: acts only on NoExecute taints, which only
//     node lifecycle (above) or a test adds.
//   - node-ipam-controller: inert, because --allocate-node-cidrs is false (its
//     default): pod IPs come from the simulator's loopback ranges, not from
//     Node podCIDRs.
//   - persistentvolume-binder, -expander, -protection, -attach-detach and
//     persistentvolumeclaim-protection: they act only on PersistentVolumes,
//     claims and attachable volumes, which the tests do not use (the
//     projected service-account volume of every pod is not attachable), and
//     need no node agent for that.
//   - pod-garbage-collector-controller: deletes pods of Nodes that no longer
//     exist, as in a real cluster.
//   - cloud-node-lifecycle, service-lb (service) and route controllers: not
//     in kube-controller-manager any more (in-tree cloud providers were
//     removed in 1.31; they live in a cloud-controller-manager, not run here),
//     and naming an unknown controller in --controllers is a start-up error.
//   - serviceaccount-token-controller: runs, because the harness passes
//     --service-account-private-key-file as kubeadm does (without it the
//     controller skips itself), so legacy token Secrets work if a test wants
//     a long-lived token.
//
// The deployment, replicaset, garbage-collector (owner references: lbgate's
// BackendGroups are owned by their Service), namespace, serviceaccount and
// the other controllers run unchanged; bootstrap-signer, token-cleaner and
// selinux-warning stay off as they are by default.
func DefaultDisabledControllers() []string {
	return []string{
		"endpoints-controller",
		"endpointslice-controller",
		"endpointslice-mirroring-controller",
	}
}

// controllersFlag renders --controllers: all default controllers minus the
// default disabled set and the extra ones (a leading "-" is allowed).
func controllersFlag(extra []string) string {
	var disabled []string
	for _, name := range append(DefaultDisabledControllers(), extra...) {
		disabled = append(disabled, strings.TrimPrefix(name, "-"))
	}
	slices.Sort(disabled)
	parts := []string{"*"}
	for _, name := range slices.Compact(disabled) {
		parts = append(parts, "-"+name)
	}
	return strings.Join(parts, ",")
}

// startControllerManager starts kube-controller-manager as
// system:kube-controller-manager, each controller under its own service
// account, serving /healthz on a loopback port with a CA-signed certificate.
// Leader election is off: there is one instance and a fresh etcd, and
// election would cost a lease write every two seconds.
//
// /healthz answers long before the controllers run (each first gets its
// service-account credentials, a few seconds in all), so the controller-
// manager counts as healthy only once the serviceaccount controller has also
// created default/default: until then the apiserver rejects every pod in the
// default namespace (ServiceAccount admission), and by then the controllers
// are starting.
func (c *Cluster) startControllerManager(ctx context.Context) error {
	client, err := httpsClient(c.pki.ca.certPEM, c.pki.admin)
	if err != nil {
		return err
	}
	return c.launch(ctx, ControllerManager, 1, func(ports []int) launchSpec {
		port := strconv.Itoa(ports[0])
		p := c.pki
		return launchSpec{flags: []flag{
			{name: "kubeconfig", value: c.kcmKubeconfig},
			{name: "authentication-kubeconfig", value: c.kcmKubeconfig},
			{name: "authorization-kubeconfig", value: c.kcmKubeconfig},
			{name: "bind-address", value: "127.0.0.1"},
			{name: "secure-port", value: port},
			{name: "tls-cert-file", value: p.kcmServing.certPath},
			{name: "tls-private-key-file", value: p.kcmServing.keyPath},
			{name: "client-ca-file", value: p.ca.certPath},
			{name: "root-ca-file", value: p.ca.certPath},
			{name: "service-account-private-key-file", value: p.saKeyPath},
			{name: "cluster-signing-cert-file", value: p.ca.certPath},
			{name: "cluster-signing-key-file", value: p.ca.keyPath},
			{name: "use-service-account-credentials", value: "true"},
			{name: "controllers", value: controllersFlag(c.opts.DisableControllers)},
			{name: "leader-elect", value: "false"},
		}, ready: []string{
			"https://127.0.0.1:" + port + "/healthz",
			c.apiURL + "/api/v1/namespaces/default/serviceaccounts/default",
		}, client: client}
	})
}
