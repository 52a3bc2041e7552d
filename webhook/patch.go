package webhook

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	jsonpatch "gomodules.xyz/jsonpatch/v2"
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
	sortPatch(resp.Patches)
	return resp, nil
}

// sortPatch puts the operations in a stable order: jsonpatch emits the
// differences between object keys in map order, which changes from call to
// call. Operations are ordered by their path up to the first array index;
// those sharing that prefix come from one diff and keep their relative order
// (which matters inside an array), and the others touch disjoint subtrees.
func sortPatch(ops []jsonpatch.JsonPatchOperation) {
	slices.SortStableFunc(ops, func(a, b jsonpatch.JsonPatchOperation) int {
		return strings.Compare(objectPrefix(a.Path), objectPrefix(b.Path))
	})
}

// objectPrefix is path up to, not including, its first numeric segment.
func objectPrefix(path string) string {
	segments := strings.Split(path, "/")
	for i, seg := range segments {
		if seg != "" && strings.Trim(seg, "0123456789") == "" {
			return strings.Join(segments[:i], "/")
		}
	}
	return path
}
