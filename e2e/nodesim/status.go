package nodesim

import (
	"bytes"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/lbgate/lbgate/e2e/kubelet"
)

// kubeletConditions are the pod conditions the kubelet owns
// (pkg/kubelet/types.PodConditionsByKubelet, with PodReadyToStartContainers
// and AllContainersRestarting, whose feature gates are on). Every other
// condition (readiness gates, DisruptionTarget) is kept as the server has it.
var kubeletConditions = map[corev1.PodConditionType]bool{
	corev1.PodScheduled:              true,
	corev1.PodReady:                  true,
	corev1.PodInitialized:            true,
	corev1.ContainersReady:           true,
	corev1.PodResizeInProgress:       true,
	corev1.PodResizePending:          true,
	corev1.PodReadyToStartContainers: true,
	"AllContainersRestarting":        true,
}

// podView is the simulator's own knowledge of a pod, from which it builds
// the status fields the kubelet writes.
type podView struct {
	Phase          corev1.PodPhase
	HostIP         string
	PodIP          string
	StartTime      metav1.Time
	InitContainers []corev1.ContainerStatus
	Containers     []corev1.ContainerStatus
}

// buildStatus returns the status the kubelet would write for a pod the
// server has as server: the fields the kubelet owns come from v, every
// other field and every condition the kubelet does not own are kept as the
// server has them (kubelet mergePodStatus). ContainersReady and Ready follow
// the kubelet's rules (e2e/kubelet), lastTransitionTime changes only when a
// condition's status changes, and conditions carry the pod's generation.
func buildStatus(server *corev1.Pod, v podView, now metav1.Time) corev1.PodStatus {
	st := *server.Status.DeepCopy()
	st.Phase = v.Phase
	st.ObservedGeneration = server.Generation
	if v.HostIP != "" {
		st.HostIP = v.HostIP
		st.HostIPs = []corev1.HostIP{{IP: v.HostIP}}
	}
	if v.PodIP != "" {
		st.PodIP = v.PodIP
		st.PodIPs = []corev1.PodIP{{IP: v.PodIP}}
	}
	if st.StartTime == nil && !v.StartTime.IsZero() {
		t := v.StartTime
		st.StartTime = &t
	}
	st.InitContainerStatuses = v.InitContainers
	st.ContainerStatuses = v.Containers

	var conds []corev1.PodCondition
	for _, c := range server.Status.Conditions {
		if !kubeletConditions[c.Type] {
			conds = append(conds, c)
		}
	}
	// Ready and ContainersReady are computed on the new statuses with the
	// server's gate conditions, exactly as the kubelet's generate.go.
	view := &corev1.Pod{Spec: server.Spec, Status: corev1.PodStatus{
		Phase:                 st.Phase,
		Conditions:            server.Status.Conditions,
		ContainerStatuses:     st.ContainerStatuses,
		InitContainerStatuses: st.InitContainerStatuses,
	}}
	add := func(t corev1.PodConditionType, status corev1.ConditionStatus, reason, msg string) {
		c := corev1.PodCondition{Type: t, Status: status, Reason: reason, Message: msg, ObservedGeneration: server.Generation, LastTransitionTime: now}
		if old := findCondition(server.Status.Conditions, t); old != nil && old.Status == status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		conds = append(conds, c)
	}
	add(corev1.PodReadyToStartContainers, sandboxReady(v), "", "")
	add(corev1.PodInitialized, initialized(v), "", "")
	status, reason, msg := kubelet.Ready(view)
	add(corev1.PodReady, status, reason, msg)
	status, reason, msg = kubelet.ContainersReady(view)
	add(corev1.ContainersReady, status, reason, msg)
	add(corev1.PodScheduled, corev1.ConditionTrue, "", "")
	st.Conditions = conds
	return st
}

// sandboxReady is PodReadyToStartContainers: True once the pod has its
// network (an address) and until the pod is terminal (sandbox torn down).
func sandboxReady(v podView) corev1.ConditionStatus {
	if v.PodIP == "" || v.Phase == corev1.PodSucceeded || v.Phase == corev1.PodFailed {
		return corev1.ConditionFalse
	}
	return corev1.ConditionTrue
}

// initialized is the Initialized condition: init containers completed (the
// simulator runs them instantly) and sidecars started.
func initialized(v podView) corev1.ConditionStatus {
	for _, s := range v.InitContainers {
		if s.State.Terminated == nil && (s.Started == nil || !*s.Started) && s.State.Running == nil {
			return corev1.ConditionFalse
		}
	}
	return corev1.ConditionTrue
}

// statusPatch is the kubelet's status write (pkg/util/pod
// preparePatchBytesForPodStatus): a two-way strategic merge patch from the
// server's status to the new one that also carries the pod's UID, so it
// fails on a different pod of the same name. unchanged is true when the
// patch would change nothing.
func statusPatch(uid types.UID, old, updated corev1.PodStatus) (patch []byte, unchanged bool, err error) {
	oldData, err := json.Marshal(corev1.Pod{Status: old})
	if err != nil {
		return nil, false, err
	}
	newData, err := json.Marshal(corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: uid}, Status: updated})
	if err != nil {
		return nil, false, err
	}
	patch, err = strategicpatch.CreateTwoWayMergePatch(oldData, newData, corev1.Pod{})
	if err != nil {
		return nil, false, err
	}
	return patch, bytes.Equal(patch, fmt.Appendf(nil, `{"metadata":{"uid":%q}}`, uid)), nil
}

func findCondition(conds []corev1.PodCondition, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}
