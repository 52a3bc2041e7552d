package stack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// The install's names the stack relies on (config/default: namespace
// lbgate-system, namePrefix lbgate-).
const (
	// OperatorServiceAccount is the ServiceAccount the install runs lbgate as.
	OperatorServiceAccount = "lbgate-controller-manager"
	// installFieldManager owns what the stack applies.
	installFieldManager = "lbgate-e2e-install"
)

// OperatorUser is the user name lbgate's requests carry in the cluster.
var OperatorUser = "system:serviceaccount:" + OperatorNamespace + ":" + OperatorServiceAccount

// BuildInstall builds the kustomization dir (config/default) with
// kustomize's Go API, as `kubectl apply -k` would.
func BuildInstall(dir string) ([]*unstructured.Unstructured, error) {
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var out []*unstructured.Unstructured
	for _, r := range res.Resources() {
		m, err := r.Map()
		if err != nil {
			return nil, err
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out, nil
}

// applyInstall applies the install (config/default) to the cluster with
// server-side apply, every object as `kubectl apply --server-side` would,
// and fails on the first object the apiserver refuses. The Deployment is
// applied as a dry run: the apiserver admits and validates it, but no
// operator pod is created (the stack runs lbgate as a local process, with
// the install's ServiceAccount and RBAC, see operatorKubeconfig).
func (s *Stack) applyInstall(ctx context.Context) error {
	objs, err := BuildInstall(filepath.Join(s.opts.ModuleDir, "config", "default"))
	if err != nil {
		return err
	}
	// CRDs and Namespaces first, as kubectl orders them.
	first := func(u *unstructured.Unstructured) bool {
		return u.GetKind() == "CustomResourceDefinition" || u.GetKind() == "Namespace"
	}
	for _, pass := range []bool{true, false} {
		for _, u := range objs {
			if first(u) != pass {
				continue
			}
			opts := []client.ApplyOption{client.FieldOwner(installFieldManager), client.ForceOwnership}
			if u.GetKind() == "Deployment" {
				opts = append(opts, client.DryRunAll)
			}
			if err := s.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), opts...); err != nil {
				return fmt.Errorf("applying the install's %s %s: %w", u.GetKind(), client.ObjectKeyFromObject(u), err)
			}
			if u.GetKind() == "CustomResourceDefinition" {
				if err := s.waitEstablished(ctx, u.GetName()); err != nil {
					return err
				}
			}
		}
	}
	// The stack serves the webhook in URL mode (lbgate runs outside the
	// cluster, with no Service in front of it): the install's configuration
	// names the webhook Service, and lbgate's own URL-mode configuration
	// cannot take its place by apply while the install's field manager
	// still owns clientConfig.service (one of url and service only). The
	// apiserver accepted it above; lbgate creates its own.
	for _, u := range objs {
		if u.GetKind() == "MutatingWebhookConfiguration" {
			if err := s.Client.Delete(ctx, u); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting the install's webhook configuration: %w", err)
			}
		}
	}
	s.install = objs
	return nil
}

func (s *Stack) waitEstablished(ctx context.Context, name string) error {
	return poll(ctx, 30*time.Second, func() (bool, string) {
		crd := &unstructured.Unstructured{}
		crd.SetAPIVersion("apiextensions.k8s.io/v1")
		crd.SetKind("CustomResourceDefinition")
		if err := s.Client.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			return false, err.Error()
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
				return true, ""
			}
		}
		return false, "CRD " + name + " not established"
	})
}

// Install returns the objects of the install as built.
func (s *Stack) Install() []*unstructured.Unstructured { return s.install }

// operatorKubeconfig writes a kubeconfig that authenticates as the
// install's ServiceAccount, with a token from the TokenRequest API: lbgate
// gets exactly the permissions config/rbac grants, as in a cluster.
func (s *Stack) operatorKubeconfig(ctx context.Context) (string, error) {
	cs, err := kubernetes.NewForConfig(s.Config)
	if err != nil {
		return "", err
	}
	tr, err := cs.CoreV1().ServiceAccounts(OperatorNamespace).CreateToken(ctx, OperatorServiceAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](12 * 3600)}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("a token for ServiceAccount %s/%s: %w", OperatorNamespace, OperatorServiceAccount, err)
	}
	admin, err := clientcmd.LoadFromFile(s.Cluster.Kubeconfig())
	if err != nil {
		return "", err
	}
	kc := clientcmdapi.NewConfig()
	for name, c := range admin.Clusters {
		kc.Clusters[name] = c
		kc.AuthInfos["lbgate"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
		kc.Contexts["lbgate"] = &clientcmdapi.Context{Cluster: name, AuthInfo: "lbgate", Namespace: OperatorNamespace}
		kc.CurrentContext = "lbgate"
		break
	}
	path := filepath.Join(s.workDir, "lbgate.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return "", err
	}
	return path, os.Chmod(path, 0o600)
}
