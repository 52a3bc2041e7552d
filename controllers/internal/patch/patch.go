// Package patch holds the writes lbgate makes to objects it does not own:
// one pod condition at a time, by strategic merge on the status subresource
// with the pod UID as precondition, so no other condition and no other
// writer's data is touched (the kubelet writes pod status the same way).
package patch

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// PodCondition writes one condition into the pod's status. With
// unchanged set, the pod's resourceVersion is a precondition too: the write
// fails with a conflict when the pod changed since it was read.
func PodCondition(ctx context.Context, c client.Client, pod *corev1.Pod, cond corev1.PodCondition, unchanged bool) error {
	meta := map[string]any{"uid": pod.UID}
	if unchanged && pod.ResourceVersion != "" {
		meta["resourceVersion"] = pod.ResourceVersion
	}
	body := map[string]any{
		"metadata": meta,
		"status": map[string]any{
			"conditions": []map[string]any{{
				"type":               cond.Type,
				"status":             cond.Status,
				"reason":             cond.Reason,
				"message":            cond.Message,
				"lastTransitionTime": cond.LastTransitionTime,
				"lastProbeTime":      nil,
			}},
		},
	}
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encoding condition %s of pod %s/%s: %w", cond.Type, pod.Namespace, pod.Name, err)
	}
	if err := c.Status().Patch(ctx, pod, client.RawPatch(types.StrategicMergePatchType, data)); err != nil {
		return fmt.Errorf("patching condition %s of pod %s/%s: %w", cond.Type, pod.Namespace, pod.Name, err)
	}
	return nil
}
