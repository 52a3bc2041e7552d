package config_test

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestTwoReplicasLockedDown checks what the install does for failover and
// for the pod's own safety (issue 13, item 4): two replicas behind leader
// election, spread over nodes, a PodDisruptionBudget that keeps one, and a
// container that runs as the image's non-root user with a read-only root
// file system (lbgate writes only to /tmp, an emptyDir).
func TestTwoReplicasLockedDown(t *testing.T) {
	in := build(t, "default")
	var dep appsv1.Deployment
	in.get(t, "Deployment", "lbgate-controller-manager", &dep)
	spec := dep.Spec.Template.Spec
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", dep.Spec.Replicas)
	}
	c := spec.Containers[0]
	if !slices.Contains(c.Args, "--leader-elect") {
		t.Errorf("args %v: no --leader-elect with two replicas", c.Args)
	}
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser != 65532 || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Errorf("pod securityContext %+v, want runAsNonRoot and runAsUser 65532 (the image's user)", psc)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("container securityContext %+v, want a read-only root file system and no privilege escalation", sc)
	}
	var tmp *corev1.Volume
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == "tmp" {
			tmp = &spec.Volumes[i]
		}
	}
	if tmp == nil || tmp.EmptyDir == nil || !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "tmp" && m.MountPath == "/tmp" }) {
		t.Errorf("no emptyDir mounted at /tmp, where the self-signed metrics certificate is written")
	}
	podLabels := labels.Set(dep.Spec.Template.Labels)
	aff := spec.Affinity
	if aff == nil || aff.PodAntiAffinity == nil || len(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		t.Fatalf("no pod anti-affinity: both replicas may land on one node")
	}
	term := aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm
	if term.TopologyKey != "kubernetes.io/hostname" || term.LabelSelector == nil || !labels.SelectorFromSet(term.LabelSelector.MatchLabels).Matches(podLabels) {
		t.Errorf("anti-affinity term %+v does not spread the operator's own pods over hosts", term)
	}

	var pdb policyv1.PodDisruptionBudget
	in.get(t, "PodDisruptionBudget", "lbgate-controller-manager", &pdb)
	if pdb.Namespace != namespace || pdb.Spec.MinAvailable == nil || *pdb.Spec.MinAvailable != intstr.FromInt32(1) ||
		pdb.Spec.Selector == nil || !labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels).Matches(podLabels) {
		t.Errorf("PodDisruptionBudget %s/%s %+v: want minAvailable 1 over the operator's pods", pdb.Namespace, pdb.Name, pdb.Spec)
	}
}

// TestRBACHasNoWildcardsNorClusterSecrets is the static half of the
// least-privilege check (issue 13, item 1): no rule of the install grants
// "*" (verb, resource or group), and Secrets are granted only by a Role in
// the operator's namespace, by name except create. The e2e suite checks
// the dynamic half: lbgate, running with exactly this RBAC, is refused
// nothing and uses every permission.
func TestRBACHasNoWildcardsNorClusterSecrets(t *testing.T) {
	in := build(t, "default")
	for kind := range map[string]bool{"ClusterRole": true, "Role": true} {
		for name := range in.docs[kind] {
			var r rbacv1.Role // the rules read the same for both kinds
			in.get(t, kind, name, &r)
			for _, rule := range r.Rules {
				for _, field := range [][]string{rule.Verbs, rule.Resources, rule.APIGroups} {
					if slices.Contains(field, "*") {
						t.Errorf("%s %s grants *: %+v", kind, name, rule)
					}
				}
				if !slices.Contains(rule.Resources, "secrets") {
					continue
				}
				if kind == "ClusterRole" {
					t.Errorf("ClusterRole %s grants Secrets cluster-wide: %+v", name, rule)
				}
				if r.Namespace != namespace {
					t.Errorf("Role %s grants Secrets in namespace %q, want only %q", name, r.Namespace, namespace)
				}
				if len(rule.ResourceNames) == 0 && !slices.Equal(rule.Verbs, []string{"create"}) {
					t.Errorf("Role %s grants %v on every Secret of its namespace; only create may go without resourceNames", name, rule.Verbs)
				}
			}
		}
	}
}
