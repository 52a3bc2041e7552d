package webhookcfg

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Labels lbgate puts on the configuration.
const (
	managedByLabel = "app.kubernetes.io/managed-by"
	managedByValue = "lbgate"
)

// MirrorPodCondition is the matchCondition that keeps mirror pods (static
// pods' API copies, which cannot be changed) away from the webhook.
const MirrorPodCondition = `!has(object.metadata.annotations) || !('kubernetes.io/config.mirror' in object.metadata.annotations)`

// Desired returns the MutatingWebhookConfiguration lbgate wants, with the
// given caBundle. Every field the apiserver would default is set, so a live
// object can be compared with it field by field (Differences).
//
// reinvocationPolicy is IfNeeded: when a later webhook changes the pod's
// labels, lbgate runs again and adds the gates of groups that now match.
// The mutation is idempotent, so the second call adds nothing twice.
func Desired(o Options, caBundle []byte) *admissionregistrationv1.MutatingWebhookConfiguration {
	o = o.withDefaults()
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{
		TypeMeta: metav1.TypeMeta{APIVersion: admissionregistrationv1.SchemeGroupVersion.String(), Kind: "MutatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{
			Name:   o.ConfigName,
			Labels: map[string]string{managedByLabel: managedByValue},
		},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:         WebhookName,
			ClientConfig: clientConfig(o, caBundle),
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule: admissionregistrationv1.Rule{
					APIGroups:   []string{""},
					APIVersions: []string{"v1"},
					Resources:   []string{"pods"},
					Scope:       ptr.To(admissionregistrationv1.NamespacedScope),
				},
			}},
			FailurePolicy:           ptr.To(o.FailurePolicy),
			MatchPolicy:             ptr.To(admissionregistrationv1.Equivalent),
			NamespaceSelector:       o.namespaceSelector(),
			ObjectSelector:          objectSelector(o),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			TimeoutSeconds:          ptr.To(o.TimeoutSeconds),
			AdmissionReviewVersions: []string{"v1"},
			ReinvocationPolicy:      ptr.To(admissionregistrationv1.IfNeededReinvocationPolicy),
			MatchConditions: []admissionregistrationv1.MatchCondition{{
				Name:       "not-a-mirror-pod",
				Expression: MirrorPodCondition,
			}},
		}},
	}
	if !o.selfManaged() {
		cfg.Annotations = map[string]string{InjectCAFromAnnotation: o.Namespace + "/" + o.CertManagerCertificate}
	}
	return cfg
}

// clientConfig calls the URL when set, else the Service on its port.
func clientConfig(o Options, caBundle []byte) admissionregistrationv1.WebhookClientConfig {
	cc := admissionregistrationv1.WebhookClientConfig{CABundle: caBundle}
	if o.URL != "" {
		cc.URL = ptr.To(o.URL)
		return cc
	}
	cc.Service = &admissionregistrationv1.ServiceReference{
		Namespace: o.Namespace,
		Name:      o.ServiceName,
		Path:      ptr.To(Path),
		Port:      ptr.To(o.ServicePort),
	}
	return cc
}

// objectSelector excludes the operator's own pods by their name label; the
// handler checks all of OperatorPodLabels as well. Without a name label it
// selects every pod, as the apiserver's default does.
func objectSelector(o Options) *metav1.LabelSelector {
	name, ok := o.OperatorPodLabels[NameLabel]
	if !ok {
		return &metav1.LabelSelector{}
	}
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: NameLabel, Operator: metav1.LabelSelectorOpNotIn, Values: []string{name},
	}}}
}
