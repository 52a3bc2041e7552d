package nodesim

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/rest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// Defaults of Options.
const (
	// DefaultNodeNamePrefix names the nodes when Options.Nodes is empty.
	DefaultNodeNamePrefix = "nodesim-"
	// DefaultHeartbeatInterval is how often Node status and Lease are renewed.
	DefaultHeartbeatInterval = 5 * time.Second
	// DefaultLeaseDurationSeconds is the kubelet's node lease duration.
	DefaultLeaseDurationSeconds = 40
	// DefaultStatusResync is how often the kubelet's status manager resends pod statuses.
	DefaultStatusResync = 10 * time.Second
	// DefaultStartTimeout bounds Start.
	DefaultStartTimeout = 30 * time.Second
)

// DefaultPodCIDR is the pod range of nodes that name neither ranges nor a network mode.
var DefaultPodCIDR = netip.MustParsePrefix("127.100.0.0/16")

// Options configure a Simulator.
type Options struct {
	// Config reaches the apiserver. Required.
	Config *rest.Config

	// Nodes are the Nodes to register. When empty, NodeCount nodes named
	// NodeNamePrefix0, NodeNamePrefix1, ... are registered with default settings.
	Nodes []NodeOptions
	// NodeCount is the number of default nodes when Nodes is empty (at least 1).
	NodeCount int
	// NodeNamePrefix prefixes default node names (DefaultNodeNamePrefix).
	NodeNamePrefix string

	// PodCIDRs are the pod address ranges of nodes that set neither PodCIDRs
	// nor NetworkMode ([DefaultPodCIDR] when empty). Every range must lie
	// inside 127.0.0.0/8.
	PodCIDRs []netip.Prefix
	// NetworkModes maps a network mode (for example "eni" or
	// "global-router") to its pod address ranges. A node picks a mode with
	// NodeOptions.NetworkMode; a pod can pick one with the annotation
	// AnnotationNetworkMode.
	NetworkModes map[string][]netip.Prefix

	// HeartbeatInterval is how often each Node's status heartbeat and Lease
	// are renewed (DefaultHeartbeatInterval).
	HeartbeatInterval time.Duration
	// LeaseDurationSeconds is written into each node Lease (DefaultLeaseDurationSeconds).
	LeaseDurationSeconds int32
	// StatusResync is how often pod statuses are checked against the server
	// and resent when they differ (DefaultStatusResync, as the kubelet).
	StatusResync time.Duration
	// StartTimeout bounds node registration and the first sync of the pod
	// watches in Start (DefaultStartTimeout).
	StartTimeout time.Duration

	// Logger receives structured logs; controller-runtime's global logger
	// named "nodesim" when unset.
	Logger logr.Logger
}

// NodeOptions describe one simulated Node.
type NodeOptions struct {
	// Name of the Node. Required.
	Name string
	// NetworkMode selects the node's pod ranges from Options.NetworkModes
	// and is shown as the node label LabelNetworkMode.
	NetworkMode string
	// PodCIDRs are this node's own pod ranges; they win over NetworkMode.
	PodCIDRs []netip.Prefix
	// InternalIP is the node address and the pods' hostIP (127.0.0.1 when unset).
	InternalIP netip.Addr
	// Labels are added to the Node's labels.
	Labels map[string]string
	// Allocatable overrides entries of the node's capacity and allocatable
	// (defaults: pods 110, cpu 16, memory 64Gi, ephemeral-storage 100Gi).
	Allocatable corev1.ResourceList
}

// withDefaults returns a copy of o with defaults filled in and checks it.
func (o Options) withDefaults() (Options, error) {
	if o.Config == nil {
		return o, errors.New("nodesim: Options.Config is required")
	}
	if o.Logger.GetSink() == nil {
		o.Logger = logf.Log.WithName("nodesim")
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.LeaseDurationSeconds <= 0 {
		o.LeaseDurationSeconds = DefaultLeaseDurationSeconds
	}
	if o.StatusResync <= 0 {
		o.StatusResync = DefaultStatusResync
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if len(o.PodCIDRs) == 0 {
		o.PodCIDRs = []netip.Prefix{DefaultPodCIDR}
	}
	o.Nodes = o.nodeList()
	if err := o.validateRanges(); err != nil {
		return o, err
	}
	return o, o.checkNodes()
}

// nodeList is a copy of Nodes or, when there are none, NodeCount (at least
// one) nodes named after NodeNamePrefix.
func (o Options) nodeList() []NodeOptions {
	if len(o.Nodes) > 0 {
		return append([]NodeOptions(nil), o.Nodes...)
	}
	prefix := o.NodeNamePrefix
	if prefix == "" {
		prefix = DefaultNodeNamePrefix
	}
	nodes := make([]NodeOptions, 0, max(o.NodeCount, 1))
	for i := range max(o.NodeCount, 1) {
		nodes = append(nodes, NodeOptions{Name: fmt.Sprintf("%s%d", prefix, i)})
	}
	return nodes
}

// checkNodes checks the nodes' names and network modes and gives the nodes
// without an internal IP the reserved loopback one (in place: o.Nodes is
// the copy nodeList made).
func (o Options) checkNodes() error {
	seen := map[string]bool{}
	for i := range o.Nodes {
		n := &o.Nodes[i]
		switch {
		case n.Name == "":
			return fmt.Errorf("nodesim: Nodes[%d]: name is required", i)
		case seen[n.Name]:
			return fmt.Errorf("nodesim: node %q is listed twice", n.Name)
		}
		seen[n.Name] = true
		if n.NetworkMode != "" {
			if _, ok := o.NetworkModes[n.NetworkMode]; !ok {
				return fmt.Errorf("nodesim: node %q: network mode %q is not in Options.NetworkModes", n.Name, n.NetworkMode)
			}
		}
		if !n.InternalIP.IsValid() {
			n.InternalIP = reservedLoopback
		}
	}
	return nil
}

// validateRanges checks every configured range.
func (o Options) validateRanges() error {
	check := func(where string, ps []netip.Prefix) error {
		for _, p := range ps {
			if err := validateRange(p); err != nil {
				return fmt.Errorf("nodesim: %s: %w", where, err)
			}
		}
		return nil
	}
	if err := check("PodCIDRs", o.PodCIDRs); err != nil {
		return err
	}
	for mode, ps := range o.NetworkModes {
		if len(ps) == 0 {
			return fmt.Errorf("nodesim: network mode %q has no ranges", mode)
		}
		if err := check("network mode "+mode, ps); err != nil {
			return err
		}
	}
	for _, n := range o.Nodes {
		if err := check("node "+n.Name, n.PodCIDRs); err != nil {
			return err
		}
	}
	return nil
}

// defaultAllocatable is what a simulated node offers unless NodeOptions.Allocatable says otherwise.
func defaultAllocatable() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceCPU:              resource.MustParse("16"),
		corev1.ResourceMemory:           resource.MustParse("64Gi"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
}
