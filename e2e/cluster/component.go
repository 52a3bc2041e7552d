package cluster

// Component names one control-plane process; the value is also its binary's
// file name in BinDir and the stem of its log file.
type Component string

// The components, in start order.
const (
	Etcd              Component = "etcd"
	APIServer         Component = "kube-apiserver"
	ControllerManager Component = "kube-controller-manager"
	Scheduler         Component = "kube-scheduler"
)

// Components returns the components in start order.
func Components() []Component {
	return []Component{Etcd, APIServer, ControllerManager, Scheduler}
}
