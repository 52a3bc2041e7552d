package nodesim

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Container state reasons the kubelet reports.
const (
	reasonCompleted                  = "Completed"
	reasonError                      = "Error"
	reasonCreateContainerConfigError = "CreateContainerConfigError"
)

// container is the simulated runtime state of one container of a pod.
// Its mutable fields are guarded by the pod worker's mutex.
type container struct {
	spec corev1.Container
	// initOnly marks a regular init container, which the simulator runs
	// to completion at once; sidecars (restartPolicy Always) run like containers.
	initOnly bool
	id       string
	b        behaviour
	// configErr keeps the container from starting (CreateContainerConfigError).
	configErr error
	state     *appState
	app       *containerApp
	servers   []*portServer

	probe     *readiness
	settings  probeSettings
	stopProbe chan struct{}
	stopOnce  sync.Once

	startedAt  time.Time
	terminated bool
	exitCode   int32
	finishedAt time.Time
}

// newContainer prepares a container of pod uid; it runs once start is called.
func newContainer(spec corev1.Container, initOnly bool, uid types.UID) *container {
	c := &container{spec: spec, initOnly: initOnly, stopProbe: make(chan struct{}), state: &appState{}}
	sum := sha256.Sum256([]byte(string(uid) + "/" + spec.Name))
	c.id = "nodesim://" + hex.EncodeToString(sum[:])
	if initOnly {
		return c
	}
	c.b, c.configErr = parseBehaviour(&c.spec)
	c.state.readinessStatus.Store(int32(c.b.ReadinessStatus))
	c.state.healthzStatus.Store(int32(c.b.HealthzStatus))
	if c.spec.ReadinessProbe != nil {
		c.settings = settingsFor(c.spec.ReadinessProbe)
		c.probe = newReadiness(c.settings)
	}
	return c
}

// start starts the container's app on ip: one HTTP server per TCP port.
func (c *container) start(podName string, ip netip.Addr, now time.Time, log logr.Logger) {
	c.startedAt = now
	if c.initOnly || c.configErr != nil {
		return
	}
	path := probePath(c.spec.ReadinessProbe)
	pport, hasProbePort := probePort(c.spec.ReadinessProbe, &c.spec)
	for _, port := range servedPorts(&c.spec) {
		h := &appHandler{pod: podName, container: c.spec.Name, b: c.b, state: c.state, now: time.Now}
		if hasProbePort && port == pport {
			h.probePath = path
		}
		addr := net.JoinHostPort(ip.String(), strconv.Itoa(port))
		c.servers = append(c.servers, newPortServer(addr, h, log.WithValues("container", c.spec.Name)))
	}
	c.app = startApp(c.servers, c.b.StartupDelay)
}

// running reports whether the container's process runs.
func (c *container) running() bool {
	return !c.initOnly && c.configErr == nil && !c.startedAt.IsZero() && !c.terminated
}

// exited records the container's end and stops its readiness probe.
func (c *container) exited(code int32, now time.Time) {
	c.terminated, c.exitCode, c.finishedAt = true, code, now
	c.endProbe()
}

// endProbe stops the readiness probe loop.
func (c *container) endProbe() { c.stopOnce.Do(func() { close(c.stopProbe) }) }

// observe records a readiness probe result and reports whether readiness changed.
func (c *container) observe(res probeResult) bool {
	if c.probe == nil || !c.running() {
		return false
	}
	return c.probe.observe(res)
}

// status is the container's status as the kubelet reports it.
func (c *container) status() corev1.ContainerStatus {
	st := corev1.ContainerStatus{
		Name:        c.spec.Name,
		Image:       c.spec.Image,
		ImageID:     imageID(c.spec.Image),
		ContainerID: c.id,
		Started:     new(false),
	}
	started := metav1.NewTime(truncate(c.startedAt))
	switch {
	case c.initOnly:
		st.Ready = true
		st.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 0, Reason: reasonCompleted, StartedAt: started, FinishedAt: started, ContainerID: c.id}
	case c.configErr != nil:
		st.ContainerID = ""
		st.State.Waiting = &corev1.ContainerStateWaiting{Reason: reasonCreateContainerConfigError, Message: "nodesim: " + c.configErr.Error()}
	case c.terminated:
		reason := reasonCompleted
		if c.exitCode != 0 {
			reason = reasonError
		}
		st.State.Terminated = &corev1.ContainerStateTerminated{
			ExitCode: c.exitCode, Reason: reason, StartedAt: started,
			FinishedAt: metav1.NewTime(truncate(c.finishedAt)), ContainerID: c.id,
		}
	default:
		st.Started = new(true)
		st.State.Running = &corev1.ContainerStateRunning{StartedAt: started}
		st.Ready = containerReady(true, c.probe)
	}
	return st
}

// servedPorts are the TCP ports the container's app listens on: its
// declared TCP container ports and its readiness probe's port.
func servedPorts(c *corev1.Container) []int {
	var ports []int
	seen := map[int]bool{}
	add := func(p int) {
		if p > 0 && !seen[p] {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	for _, p := range c.Ports {
		if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
			add(int(p.ContainerPort))
		}
	}
	if p, ok := probePort(c.ReadinessProbe, c); ok {
		add(p)
	}
	return ports
}

// podPorts are the ports every container of the pod serves.
func podPorts(pod *corev1.Pod) []int {
	var ports []int
	for _, c := range pod.Spec.InitContainers {
		if isSidecar(&c) {
			ports = append(ports, servedPorts(&c)...)
		}
	}
	for _, c := range pod.Spec.Containers {
		ports = append(ports, servedPorts(&c)...)
	}
	return ports
}

// portsFree reports whether nothing listens on ports of address a yet.
func portsFree(a netip.Addr, ports []int) bool {
	for _, p := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(a.String(), strconv.Itoa(p)))
		if err != nil {
			if strings.Contains(err.Error(), "address already in use") {
				return false
			}
			continue
		}
		_ = ln.Close()
	}
	return true
}

func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// imageID is a stable, digest-shaped id for an image reference.
func imageID(image string) string {
	sum := sha256.Sum256([]byte(image))
	repo := image
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo + "@sha256:" + hex.EncodeToString(sum[:])
}

// truncate drops sub-second precision, as the API's timestamps do, so a
// status built here equals the status read back from the server.
func truncate(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Unix(t.Unix(), 0)
}
