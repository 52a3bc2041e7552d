// Package conditions is the one way lbgate sets status conditions on its
// objects: metav1.Condition with observedGeneration, lastTransitionTime kept
// while the status does not change.
package conditions

import (
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Set sets one condition in conds and reports whether anything changed.
func Set(conds *[]metav1.Condition, generation int64, condType string, status bool, reason, message string) bool {
	s := metav1.ConditionFalse
	if status {
		s = metav1.ConditionTrue
	}
	return meta.SetStatusCondition(conds, metav1.Condition{
		Type:               condType,
		Status:             s,
		Reason:             reason,
		Message:            truncate(message),
		ObservedGeneration: generation,
	})
}

// IsTrue reports whether the condition of the type is present and True.
func IsTrue(conds []metav1.Condition, condType string) bool {
	return meta.IsStatusConditionTrue(conds, condType)
}

// maxMessage keeps messages under the API's 32768-byte limit with room to spare.
const maxMessage = 4096

// truncate cuts s to at most maxMessage bytes, on a rune boundary, marking the cut with "...".
func truncate(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
