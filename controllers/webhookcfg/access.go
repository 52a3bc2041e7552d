package webhookcfg

import (
	"context"
	"fmt"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// access is one permission the webhook's self-repair needs.
type access struct {
	verb, group, resource, namespace, name string
}

func (a access) String() string {
	s := fmt.Sprintf("%s %s", a.verb, a.resource)
	if a.group != "" {
		s = fmt.Sprintf("%s %s.%s", a.verb, a.resource, a.group)
	}
	if a.name != "" {
		s += fmt.Sprintf(" %q", a.name)
	}
	if a.namespace != "" {
		s += " in namespace " + a.namespace
	}
	return s
}

// neededAccess lists what the operator does to its Secret and its
// configuration: it reads both through a cache (list and watch by name),
// creates and updates the Secret (not in cert-manager mode), and applies
// (patch, create) and updates the configuration. config/rbac grants these
// for the default names only, so a renamed object needs matching RBAC.
func neededAccess(o Options) []access {
	secret := access{resource: "secrets", namespace: o.Namespace, name: o.SecretName}
	config := access{group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", name: o.ConfigName}
	secretVerbs := []string{"list", "watch"}
	if o.selfManaged() {
		secretVerbs = append(secretVerbs, "create", "update")
	}
	return append(secret.with(secretVerbs...), config.with("list", "watch", "create", "update", "patch")...)
}

// with is a, once for each verb. RBAC cannot limit create by name, so
// create is asked for without one.
func (a access) with(verbs ...string) []access {
	out := make([]access, 0, len(verbs))
	for _, verb := range verbs {
		b := a
		b.verb = verb
		if verb == "create" {
			b.name = ""
		}
		out = append(out, b)
	}
	return out
}

// AccessError lists the permissions the operator lacks.
type AccessError struct {
	Denied []string
}

func (e *AccessError) Error() string {
	return "the operator's RBAC does not allow: " + strings.Join(e.Denied, "; ") +
		" (config/rbac/role.yaml grants these for the default names lbgate-webhook-certs and lbgate-pod-gates: grant the same for the names in use)"
}

// CheckAccess asks the apiserver, with SelfSubjectAccessReviews, whether the
// operator may do what the self-repair does to its Secret and configuration,
// and returns an *AccessError naming each permission it lacks. It exists so
// that a renamed Secret or configuration without matching RBAC stops the
// operator at start with a clear message, instead of a stream of forbidden
// errors later. An error from the review itself is returned as is.
func CheckAccess(ctx context.Context, c client.Client, o Options) error {
	o = o.withDefaults()
	var denied []string
	for _, a := range neededAccess(o) {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: a.verb, Group: a.group, Resource: a.resource, Namespace: a.namespace, Name: a.name,
			},
		}}
		if err := c.Create(ctx, review); err != nil {
			return fmt.Errorf("asking whether the operator may %s: %w", a, err)
		}
		if !review.Status.Allowed {
			denied = append(denied, a.String())
		}
	}
	if len(denied) > 0 {
		return &AccessError{Denied: denied}
	}
	return nil
}
