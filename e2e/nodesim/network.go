package nodesim

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
)

const (
	// AnnotationNetworkMode on a pod picks the network mode (a key of
	// Options.NetworkModes) whose ranges its address comes from, whatever its
	// node's mode.
	AnnotationNetworkMode = "nodesim.lbgate.dev/network-mode"
	// AnnotationStickyAddress "true" on a pod asks for the address the last
	// pod of the same namespace and name had, when it is free: as a CNI that
	// reuses a freed address at once, or a fixed-IP StatefulSet in ENI mode.
	AnnotationStickyAddress = "nodesim.lbgate.dev/sticky-address"
	// LabelNetworkMode on a Node shows its NodeOptions.NetworkMode.
	LabelNetworkMode = "nodesim.lbgate.dev/network-mode"
)

// podRanges returns the ranges a pod's address comes from: the pod's
// network-mode annotation, else the node's own ranges, else the node's
// network mode, else Options.PodCIDRs.
func podRanges(pod *corev1.Pod, node NodeOptions, o Options) ([]netip.Prefix, error) {
	if mode, ok := pod.Annotations[AnnotationNetworkMode]; ok {
		ranges, known := o.NetworkModes[mode]
		if !known {
			return nil, fmt.Errorf("annotation %s: unknown network mode %q", AnnotationNetworkMode, mode)
		}
		return ranges, nil
	}
	if len(node.PodCIDRs) > 0 {
		return node.PodCIDRs, nil
	}
	if node.NetworkMode != "" {
		return o.NetworkModes[node.NetworkMode], nil
	}
	return o.PodCIDRs, nil
}

// inRanges reports whether a lies in one of ranges.
func inRanges(a netip.Addr, ranges []netip.Prefix) bool {
	for _, p := range ranges {
		if usableAddr(p, a) {
			return true
		}
	}
	return false
}
