package webhook

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// patchResponse returns the JSON patch from original to mutated.
//
// Both sides are encoded from the typed Pod, so the patch holds only what
// Mutate changed. Diffing against the raw request instead would also remove
// every field this build's k8s.io/api does not know (from a newer apiserver)
// and add defaults such as "creationTimestamp": null. The paths the patch
// touches exist in the raw request too, so it applies there.
func patchResponse(original, mutated *corev1.Pod) (admission.Response, error) {
	before, err := json.Marshal(original)
	if err != nil {
		return admission.Response{}, fmt.Errorf("encode pod: %w", err)
	}
	after, err := json.Marshal(mutated)
	if err != nil {
		return admission.Response{}, fmt.Errorf("encode mutated pod: %w", err)
	}
	resp := admission.PatchResponseFromRaw(before, after)
	if !resp.Allowed {
		msg := "unknown error"
		if resp.Result != nil {
			msg = resp.Result.Message
		}
		return admission.Response{}, fmt.Errorf("compute JSON patch: %s", msg)
	}
	return resp, nil
}
