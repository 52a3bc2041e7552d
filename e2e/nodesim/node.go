package nodesim

import (
	"context"
	"maps"
	"runtime"
	"time"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
)

// TaintNodeNotReady is the taint admission puts on every new Node; the
// node lifecycle controller removes it once the Node is Ready, and the
// simulator removes it itself in case that controller does not run.
const TaintNodeNotReady = "node.kubernetes.io/not-ready"

// kubeletVersion is what simulated Nodes report as their kubelet version.
const kubeletVersion = "v1.37.2"

// simNode is one simulated Node.
type simNode struct {
	opts NodeOptions
	uid  types.UID
	log  logr.Logger
}

// ensureLeaseNamespace creates kube-node-lease when the apiserver has not (yet).
func (s *Simulator) ensureLeaseNamespace(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: corev1.NamespaceNodeLease}}
	_, err := s.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// registerNode creates the Node (or adopts an existing one), reports it
// Ready, removes the not-ready taint and takes its Lease.
func (s *Simulator) registerNode(ctx context.Context, n *simNode) error {
	nodes := s.client.CoreV1().Nodes()
	want := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.opts.Name, Labels: nodeLabels(n.opts)}}
	node, err := nodes.Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := nodes.Get(ctx, n.opts.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if cur.Labels == nil {
				cur.Labels = map[string]string{}
			}
			maps.Copy(cur.Labels, want.Labels)
			node, err = nodes.Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
	}
	if err != nil {
		return err
	}
	n.uid = node.UID
	if err := s.reportNodeStatus(ctx, n); err != nil {
		return err
	}
	if err := s.renewLease(ctx, n); err != nil {
		return err
	}
	n.log.Info("Node registered", "uid", n.uid)
	return nil
}

// heartbeat keeps the Node's status and Lease fresh until ctx ends.
func (s *Simulator) heartbeat(ctx context.Context, n *simNode) {
	t := time.NewTicker(s.opts.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.reportNodeStatus(ctx, n); err != nil && ctx.Err() == nil {
			n.log.Error(err, "Node status heartbeat failed")
		}
		if err := s.renewLease(ctx, n); err != nil && ctx.Err() == nil {
			n.log.Error(err, "Node lease renewal failed")
		}
	}
}

// reportNodeStatus writes the Node's status (Ready, no pressure, capacity,
// addresses) with a fresh heartbeat time, then removes the not-ready taint.
func (s *Simulator) reportNodeStatus(ctx context.Context, n *simNode) error {
	nodes := s.client.CoreV1().Nodes()
	var node *corev1.Node
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := nodes.Get(ctx, n.opts.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		setNodeStatus(cur, n.opts, metav1.Now())
		node, err = nodes.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return err
	}
	if !hasTaint(node, TaintNodeNotReady) {
		return nil
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := nodes.Get(ctx, n.opts.Name, metav1.GetOptions{})
		if err != nil || !hasTaint(cur, TaintNodeNotReady) {
			return err
		}
		var keep []corev1.Taint
		for _, t := range cur.Spec.Taints {
			if t.Key != TaintNodeNotReady {
				keep = append(keep, t)
			}
		}
		cur.Spec.Taints = keep
		if _, err := nodes.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return err
		}
		n.log.Info("Removed taint", "taint", TaintNodeNotReady)
		return nil
	})
}

// setNodeStatus fills a Node's status as a healthy kubelet reports it;
// lastTransitionTime of a condition changes only when its status does.
func setNodeStatus(node *corev1.Node, o NodeOptions, now metav1.Time) {
	alloc := defaultAllocatable()
	maps.Copy(alloc, o.Allocatable)
	node.Status.Capacity = alloc.DeepCopy()
	node.Status.Allocatable = alloc.DeepCopy()
	node.Status.Phase = corev1.NodeRunning
	node.Status.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: o.InternalIP.String()},
		{Type: corev1.NodeHostName, Address: o.Name},
	}
	node.Status.DaemonEndpoints = corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}}
	node.Status.NodeInfo = corev1.NodeSystemInfo{
		MachineID: o.Name, SystemUUID: o.Name, BootID: o.Name,
		KernelVersion: "nodesim", OSImage: "nodesim", ContainerRuntimeVersion: "nodesim://" + kubeletVersion,
		KubeletVersion: kubeletVersion, OperatingSystem: runtime.GOOS, Architecture: runtime.GOARCH,
	}
	want := []corev1.NodeCondition{
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status (nodesim)"},
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
	}
	for i := range want {
		want[i].LastHeartbeatTime = now
		want[i].LastTransitionTime = now
		for _, old := range node.Status.Conditions {
			if old.Type == want[i].Type && old.Status == want[i].Status {
				want[i].LastTransitionTime = old.LastTransitionTime
			}
		}
	}
	var others []corev1.NodeCondition
	for _, c := range node.Status.Conditions {
		switch c.Type {
		case corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure:
		default:
			others = append(others, c)
		}
	}
	node.Status.Conditions = append(others, want...)
}

// renewLease creates or renews the Node's Lease in kube-node-lease, owned by the Node.
func (s *Simulator) renewLease(ctx context.Context, n *simNode) error {
	leases := s.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	holder, duration := n.opts.Name, s.opts.LeaseDurationSeconds
	lease, err := leases.Get(ctx, n.opts.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{
				Name: n.opts.Name, Namespace: corev1.NamespaceNodeLease,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.opts.Name, UID: n.uid}},
			},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &duration, RenewTime: &now},
		}
		_, err = leases.Create(ctx, lease, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.HolderIdentity, lease.Spec.LeaseDurationSeconds, lease.Spec.RenewTime = &holder, &duration, &now
	lease.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.opts.Name, UID: n.uid}}
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}

// nodeLabels are the labels a kubelet puts on its Node, plus the node's own.
func nodeLabels(o NodeOptions) map[string]string {
	l := map[string]string{
		corev1.LabelHostname:   o.Name,
		corev1.LabelOSStable:   runtime.GOOS,
		corev1.LabelArchStable: runtime.GOARCH,
	}
	if o.NetworkMode != "" {
		l[LabelNetworkMode] = o.NetworkMode
	}
	maps.Copy(l, o.Labels)
	return l
}

func hasTaint(node *corev1.Node, key string) bool {
	for _, t := range node.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}
