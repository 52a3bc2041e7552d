// Package cluster runs a real, local Kubernetes control plane for the e2e
// suite and the demo: etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler, each a child process of the caller, all on 127.0.0.1 ports
// picked at start-up, with their own PKI generated into a work directory.
//
// There is no kubelet and no container runtime: a node simulator (e2e test
// infrastructure) registers Nodes and plays the kubelet for the pods the
// scheduler binds to them. The controller-manager therefore runs every
// controller a real cluster runs except the few that cannot work with such
// pods; see DefaultDisabledControllers for the list and the reasons.
//
// Lifetime: every component is started in its own process group with a
// parent-death signal (SIGKILL), so none outlives the process that started
// it, even when that process is killed. Stop stops them in reverse order
// (SIGTERM, then SIGKILL after Options.StopTimeout), waits for them and
// removes the work directory. StopOnSignal stops the cluster on SIGINT or
// SIGTERM. Work directories left behind by a process that died without
// calling Stop are removed by the next Start.
//
// Every component writes to its own log file under the work directory; errors
// name the component, the log file and the log's last lines.
package cluster
