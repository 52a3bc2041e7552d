package webhookcfg

import (
	"bytes"
	"fmt"
	"sort"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

// Differences lists, one short phrase each, how live differs from want:
// the empty list means live is as wanted. The caBundle is compared only
// when withCABundle is set (lbgate owns it); in cert-manager mode it is
// cert-manager's. A nil live means the configuration is missing.
func Differences(live, want *admissionregistrationv1.MutatingWebhookConfiguration, withCABundle bool) []string {
	if live == nil {
		return []string{"configuration missing"}
	}
	var diffs []string
	for _, k := range sortedKeys(want.Labels) {
		if live.Labels[k] != want.Labels[k] {
			diffs = append(diffs, fmt.Sprintf("label %s is %q", k, live.Labels[k]))
		}
	}
	for _, k := range sortedKeys(want.Annotations) {
		if live.Annotations[k] != want.Annotations[k] {
			diffs = append(diffs, fmt.Sprintf("annotation %s is %q", k, live.Annotations[k]))
		}
	}
	w := &want.Webhooks[0]
	var found *admissionregistrationv1.MutatingWebhook
	for i := range live.Webhooks {
		if live.Webhooks[i].Name == w.Name {
			found = &live.Webhooks[i]
			continue
		}
		diffs = append(diffs, fmt.Sprintf("extra webhook %q", live.Webhooks[i].Name))
	}
	if found == nil {
		return append(diffs, fmt.Sprintf("webhook %q missing", w.Name))
	}
	return append(diffs, webhookDifferences(found, w, withCABundle)...)
}

// webhookDifferences compares one webhook field by field.
func webhookDifferences(live, want *admissionregistrationv1.MutatingWebhook, withCABundle bool) []string {
	var diffs []string
	differ := func(field string, l, w any) {
		if !equality.Semantic.DeepEqual(l, w) {
			diffs = append(diffs, field+" differs")
		}
	}
	lc, wc := live.ClientConfig, want.ClientConfig
	differ("clientConfig.url", lc.URL, wc.URL)
	differ("clientConfig.service", lc.Service, wc.Service)
	if withCABundle && !bytes.Equal(lc.CABundle, wc.CABundle) {
		if len(lc.CABundle) == 0 {
			diffs = append(diffs, "caBundle empty")
		} else {
			diffs = append(diffs, "caBundle differs")
		}
	}
	differ("rules", live.Rules, want.Rules)
	if !equality.Semantic.DeepEqual(live.FailurePolicy, want.FailurePolicy) {
		diffs = append(diffs, fmt.Sprintf("failurePolicy %s, want %s", deref(live.FailurePolicy), deref(want.FailurePolicy)))
	}
	differ("matchPolicy", live.MatchPolicy, want.MatchPolicy)
	differ("namespaceSelector", live.NamespaceSelector, want.NamespaceSelector)
	differ("objectSelector", live.ObjectSelector, want.ObjectSelector)
	differ("sideEffects", live.SideEffects, want.SideEffects)
	differ("timeoutSeconds", live.TimeoutSeconds, want.TimeoutSeconds)
	differ("admissionReviewVersions", live.AdmissionReviewVersions, want.AdmissionReviewVersions)
	differ("reinvocationPolicy", live.ReinvocationPolicy, want.ReinvocationPolicy)
	differ("matchConditions", live.MatchConditions, want.MatchConditions)
	return diffs
}

func deref[T any](p *T) any {
	if p == nil {
		return "<unset>"
	}
	return *p
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
