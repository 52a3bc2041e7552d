package stack

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// The apiserver's audit log records every request lbgate makes (its
// ServiceAccount's, at Metadata level), so the suite can tell which the
// install's RBAC refused and which permissions lbgate never used.

func auditPolicy() string {
	return `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
- level: Metadata
  users: ["` + OperatorUser + `"]
- level: None
`
}

// auditFlags writes the policy and returns the apiserver flags that log to logs/audit.log.
func (s *Stack) auditFlags() ([]string, error) {
	policy := filepath.Join(s.workDir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy()), 0o644); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(s.workDir, "logs"), 0o755); err != nil {
		return nil, err
	}
	return []string{"--audit-policy-file=" + policy, "--audit-log-path=" + s.auditLog(), "--audit-log-format=json", "--audit-log-maxsize=0"}, nil
}

func (s *Stack) auditLog() string { return filepath.Join(s.workDir, "logs", "audit.log") }

// auditEvent is the part of an audit.k8s.io/v1 Event read here.
type auditEvent struct {
	Verb string `json:"verb"`
	User struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		APIGroup    string `json:"apiGroup"`
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
	} `json:"objectRef"`
	RequestURI     string `json:"requestURI"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// Permission is one verb on one resource of one API group ("" is core), as
// RBAC grants it and a request needs it: "apps/deployments get",
// "pods/status patch", "leases create" (coordination.k8s.io).
type Permission struct {
	Group, Resource, Verb string
}

func (p Permission) String() string {
	g := p.Group
	if g == "" {
		g = "core"
	}
	return fmt.Sprintf("%s %s %s", g, p.Resource, p.Verb)
}

// RBACUse is what lbgate did with the install's RBAC.
type RBACUse struct {
	// Forbidden are lbgate's requests the apiserver refused (403), with
	// their URIs, a few of each permission.
	Forbidden []string
	// Sent counts lbgate's requests by the permission each needed.
	Sent map[Permission]int
	// Granted are the permissions the install gives lbgate's ServiceAccount.
	Granted []Permission
}

// Unused are the granted permissions lbgate never needed, but those in except.
func (u RBACUse) Unused(except map[Permission]string) []Permission {
	var out []Permission
	for _, p := range u.Granted {
		if u.Sent[p] == 0 && except[p] == "" {
			out = append(out, p)
		}
	}
	return out
}

// OperatorRBACUse reads the audit log and the install's RBAC.
func (s *Stack) OperatorRBACUse() (RBACUse, error) {
	use := RBACUse{Sent: map[Permission]int{}}
	f, err := os.Open(s.auditLog())
	if err != nil {
		return use, err
	}
	defer func() { _ = f.Close() }() // read only: nothing to lose
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	refused := map[Permission]int{}
	for sc.Scan() {
		var ev auditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return use, fmt.Errorf("audit log: %w", err)
		}
		if ev.User.Username != OperatorUser || ev.ObjectRef == nil {
			continue
		}
		p := Permission{Group: ev.ObjectRef.APIGroup, Resource: ev.ObjectRef.Resource, Verb: ev.Verb}
		if ev.ObjectRef.Subresource != "" {
			p.Resource += "/" + ev.ObjectRef.Subresource
		}
		use.Sent[p]++
		if ev.ResponseStatus != nil && ev.ResponseStatus.Code == 403 {
			if refused[p]++; refused[p] <= 3 {
				use.Forbidden = append(use.Forbidden, fmt.Sprintf("%s: %s", p, ev.RequestURI))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return use, err
	}
	granted, err := s.granted()
	if err != nil {
		return use, err
	}
	use.Granted = granted
	return use, nil
}

// granted expands the rules of the install's Roles and ClusterRoles bound
// to lbgate's ServiceAccount into permissions.
func (s *Stack) granted() ([]Permission, error) {
	roles, bound, err := s.installRBAC()
	if err != nil {
		return nil, err
	}
	seen := map[Permission]bool{}
	var out []Permission
	for _, key := range bound {
		rules, ok := roles[key]
		if !ok {
			return nil, fmt.Errorf("the install binds %s, which it does not define", key)
		}
		out = appendPermissions(out, seen, rules)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// installRBAC returns the rules of the install's Roles and ClusterRoles by
// "Kind/namespace/name", and the keys of those bound to lbgate's
// ServiceAccount.
func (s *Stack) installRBAC() (roles map[string][]rbacv1.PolicyRule, bound []string, err error) {
	roles = map[string][]rbacv1.PolicyRule{}
	for _, u := range s.install {
		switch u.GetKind() {
		case "ClusterRole", "Role":
			var r rbacv1.Role // the rules read the same for both kinds
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &r); err != nil {
				return nil, nil, err
			}
			roles[u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName()] = r.Rules
		case "ClusterRoleBinding", "RoleBinding":
			var b rbacv1.RoleBinding
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &b); err != nil {
				return nil, nil, err
			}
			if !bindsOperator(b) {
				continue
			}
			ns := ""
			if b.RoleRef.Kind == "Role" {
				ns = u.GetNamespace()
			}
			bound = append(bound, b.RoleRef.Kind+"/"+ns+"/"+b.RoleRef.Name)
		}
	}
	return roles, bound, nil
}

// bindsOperator reports whether b binds lbgate's ServiceAccount.
func bindsOperator(b rbacv1.RoleBinding) bool {
	return slices.ContainsFunc(b.Subjects, func(s rbacv1.Subject) bool {
		return s.Kind == "ServiceAccount" && s.Namespace == OperatorNamespace && s.Name == OperatorServiceAccount
	})
}

// appendPermissions appends to out each permission of rules not in seen yet.
func appendPermissions(out []Permission, seen map[Permission]bool, rules []rbacv1.PolicyRule) []Permission {
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					p := Permission{Group: g, Resource: res, Verb: v}
					if !seen[p] {
						seen[p] = true
						out = append(out, p)
					}
				}
			}
		}
	}
	return out
}
