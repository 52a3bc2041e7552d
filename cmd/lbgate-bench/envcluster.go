package main

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/lbgate/lbgate/controllers"
)

// operatorUser is the user the operator runs as on the envtest control
// plane; the audit log records this user's requests only.
const operatorUser = "lbgate-bench-operator"

// envCluster is an envtest control plane (etcd and kube-apiserver only)
// with lbgate's CRD, an audit log of the operator's requests, and a
// kubeconfig for the operator.
type envCluster struct {
	env        *envtest.Environment
	Client     client.WithWatch
	Config     *rest.Config
	Kubeconfig string
	AuditLog   string
	dir        string
}

// startEnvCluster starts etcd and kube-apiserver; dir receives the audit
// log and the operator's kubeconfig.
func startEnvCluster(module, dir string) (*envCluster, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	c := &envCluster{dir: dir, AuditLog: filepath.Join(dir, "audit.log")}
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy(operatorUser)), 0o644); err != nil {
		return nil, err
	}
	c.env = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(module, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	api := c.env.ControlPlane.GetAPIServer()
	api.Configure().
		Set("audit-policy-file", policy).
		Set("audit-log-path", c.AuditLog).
		Set("audit-log-format", "json").
		Set("audit-log-maxsize", "0").
		// The default in-flight limits (400 + 200) are what a real
		// apiserver has; keep them, but say so in the report.
		Set("max-requests-inflight", "400").
		// envtest's default range (a /24) holds 254 ClusterIPs; the
		// 20,000-pod stretch has 1,000 Services. Addresses are only
		// allocated, never reached: nothing here routes to them.
		Set("service-cluster-ip-range", "10.0.0.0/16")
	cfg, err := c.env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting envtest (etcd, kube-apiserver from $KUBEBUILDER_ASSETS=%q): %w", os.Getenv("KUBEBUILDER_ASSETS"), err)
	}
	cfg.QPS, cfg.Burst = -1, 0 // the bench is the load: no client-side limit
	c.Config = cfg
	if c.Client, err = client.NewWithWatch(cfg, client.Options{Scheme: controllers.NewScheme()}); err != nil {
		c.Stop()
		return nil, err
	}
	user, err := c.env.ControlPlane.AddUser(envtest.User{Name: operatorUser, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		c.Stop()
		return nil, err
	}
	kc, err := user.KubeConfig()
	if err != nil {
		c.Stop()
		return nil, err
	}
	c.Kubeconfig = filepath.Join(dir, "operator.kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, kc, 0o600); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// Requests counts the operator's API requests so far.
func (c *envCluster) Requests() (requests, error) { return countRequests(c.AuditLog, operatorUser) }

// Stop stops the control plane.
func (c *envCluster) Stop() {
	_ = c.env.Stop()
}
