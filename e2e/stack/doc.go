// Package stack starts lbgate's whole end-to-end stack on this machine and
// runs rollout scenarios on it, for the e2e suite and the local demo:
//
//   - a real control plane (e2e/cluster: etcd, kube-apiserver,
//     kube-controller-manager, kube-scheduler) with lbgate's CRD;
//   - a real HAProxy (providers/haproxy/haproxytest) whose frontend fronts
//     the backend the test Service binds;
//   - the node simulator (e2e/nodesim) playing the kubelet, with real HTTP
//     servers on 127.0.0.0/8 pod addresses;
//   - the real lbgate binary as a process, with the HAProxy provider and its
//     webhook in URL mode on 127.0.0.1;
//   - a load generator (e2e/loadgen) sending traffic through HAProxy.
//
// Everything listens on 127.0.0.0/8 only, and Stop leaves nothing running.
package stack
