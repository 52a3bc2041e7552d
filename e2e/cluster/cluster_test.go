package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// TestClusterRunsDeploymentsAndScheduling starts the real control plane and
// proves each component does its job: the apiserver answers (through the
// written kubeconfig too), kube-controller-manager's deployment and
// replicaset controllers turn a Deployment into a ReplicaSet and pods, and
// kube-scheduler binds those pods once a schedulable Node exists. Then Stop
// must leave no process and no work directory behind.
func TestClusterRunsDeploymentsAndScheduling(t *testing.T) {
	if err := CheckBinaries(os.Getenv(EnvAssets)); err != nil {
		t.Skipf("skipping: needs the control-plane binaries: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	c, err := Start(ctx, Options{Logf: t.Logf})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		c.SetKeepWorkDir(t.Failed())
		if err := c.Stop(); err != nil {
			t.Errorf("Stop in cleanup: %v", err)
		}
	})
	t.Logf("Start took %s until etcd, kube-apiserver, kube-controller-manager and kube-scheduler were healthy",
		c.StartDuration().Round(time.Millisecond))

	cs := kubernetes.NewForConfigOrDie(c.RESTConfig())
	checkAPIServerAnswers(ctx, t, c, cs)

	const ns = "default"
	deploy := testDeployment("web", 2)
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Deployment: %v", err)
	}

	// kcm: the deployment controller creates the ReplicaSet, the replicaset
	// controller its pods; the scheduler finds no Node and says so.
	poll(ctx, t, 90*time.Second, "ReplicaSet owned by the Deployment", func() (bool, string, error) {
		list, err := cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, "", err
		}
		for _, rs := range list.Items {
			if ref := metav1.GetControllerOf(&rs); ref != nil && ref.Kind == "Deployment" && ref.Name == "web" {
				return true, "", nil
			}
		}
		return false, fmt.Sprintf("%d ReplicaSets", len(list.Items)), nil
	})
	poll(ctx, t, 90*time.Second, "2 pods unschedulable for want of a Node", func() (bool, string, error) {
		pods, err := webPods(ctx, cs, ns)
		if err != nil {
			return false, "", err
		}
		unschedulable := 0
		for _, p := range pods {
			if p.Spec.NodeName != "" {
				return false, "", fmt.Errorf("pod %s bound to %q before any Node existed", p.Name, p.Spec.NodeName)
			}
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse &&
					cond.Reason == corev1.PodReasonUnschedulable {
					unschedulable++
				}
			}
		}
		return len(pods) == 2 && unschedulable == 2, fmt.Sprintf("%d pods, %d unschedulable", len(pods), unschedulable), nil
	})

	node := registerReadyNode(ctx, t, cs, "sim-node-1")

	// The scheduler binds both pods to the Node.
	poll(ctx, t, 90*time.Second, "both pods bound to "+node, func() (bool, string, error) {
		pods, err := webPods(ctx, cs, ns)
		if err != nil {
			return false, "", err
		}
		bound := 0
		var where []string
		for _, p := range pods {
			where = append(where, p.Name+"->"+p.Spec.NodeName)
			if p.Spec.NodeName == node {
				bound++
			}
		}
		return len(pods) == 2 && bound == 2, strings.Join(where, " "), nil
	})

	// Stop: no process left, work directory gone, Stop idempotent.
	pids := c.PIDs()
	if len(pids) != 4 {
		t.Fatalf("PIDs() = %v, want 4 components", pids)
	}
	stopBegan := time.Now()
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %s", time.Since(stopBegan).Round(time.Millisecond))
	for comp, pid := range pids {
		if componentRunning(pid, comp) {
			t.Errorf("%s (pid %d) still running after Stop", comp, pid)
		}
	}
	if _, err := os.Stat(c.WorkDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("work dir %s still there after Stop (stat: %v)", c.WorkDir(), err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// checkAPIServerAnswers asks the apiserver for its version through the REST
// config and for the default namespace through the kubeconfig file.
func checkAPIServerAnswers(ctx context.Context, t *testing.T, c *Cluster, cs kubernetes.Interface) {
	t.Helper()
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	t.Logf("apiserver %s answers: %s", c.APIServerURL(), v.GitVersion)
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		t.Fatalf("load kubeconfig %s: %v", c.Kubeconfig(), err)
	}
	fromFile, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("client from kubeconfig: %v", err)
	}
	if _, err := fromFile.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		t.Fatalf("get namespace default through %s: %v", c.Kubeconfig(), err)
	}
}

// testDeployment returns a Deployment whose pods leave nodeName unset.
func testDeployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:  "app",
					Image: "lbgate.dev/e2e/app:v1",
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				}}},
			},
		},
	}
}

// webPods lists the pods of the test Deployment.
func webPods(ctx context.Context, cs kubernetes.Interface, ns string) ([]corev1.Pod, error) {
	list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// registerReadyNode registers a Node the way the node simulator does: create
// it (admission adds the node.kubernetes.io/not-ready:NoSchedule taint at
// creation, KUBELET-RULES.md "Nodes"), report Ready=True with allocatable
// resources in its status, and remove the not-ready taint.
func registerReadyNode(ctx context.Context, t *testing.T, cs kubernetes.Interface, name string) string {
	t.Helper()
	resources := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("8"),
		corev1.ResourceMemory: resource.MustParse("16Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	created, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create Node: %v", err)
	}
	if !hasTaint(created, corev1.TaintNodeNotReady) {
		t.Logf("note: admission did not add %s at creation (taints %v)", corev1.TaintNodeNotReady, created.Spec.Taints)
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		n.Status.Capacity, n.Status.Allocatable = resources, resources
		n.Status.Conditions = []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			Message: "node simulator is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now,
		}}
		_, err = cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("set Node %s Ready: %v", name, err)
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil || !hasTaint(n, corev1.TaintNodeNotReady) {
			return err
		}
		var keep []corev1.Taint
		for _, taint := range n.Spec.Taints {
			if taint.Key != corev1.TaintNodeNotReady {
				keep = append(keep, taint)
			}
		}
		n.Spec.Taints = keep
		_, err = cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("remove the not-ready taint of Node %s: %v", name, err)
	}
	return name
}

// hasTaint reports whether the node carries a taint with this key.
func hasTaint(n *corev1.Node, key string) bool {
	for _, taint := range n.Spec.Taints {
		if taint.Key == key {
			return true
		}
	}
	return false
}

// poll calls check every 200ms until it reports done, fails the test on an
// error or when timeout passes, with the last status in the message.
func poll(ctx context.Context, t *testing.T, timeout time.Duration, what string, check func() (bool, string, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	began := time.Now()
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	last := ""
	for {
		done, status, err := check()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if done {
			t.Logf("%s after %s", what, time.Since(began).Round(time.Millisecond))
			return
		}
		last = status
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v; last status: %s", what, ctx.Err(), last)
		case <-ticker.C:
		}
	}
}

// componentRunning reports whether pid is still a process running comp's
// binary (a recycled pid running something else does not count).
func componentRunning(pid int, comp Component) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	return strings.Contains(string(cmdline), string(comp))
}
