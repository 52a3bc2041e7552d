// Package nodesim is the e2e node simulator: it registers Nodes on a real
// apiserver and plays the kubelet for the pods bound to them, with a real
// HTTP server per container port on a loopback pod address, readiness
// probes, readiness gates and graceful termination as the kubelet does them
// (../../../shared/KUBELET-RULES.md; the Ready rules themselves are
// e2e/kubelet's).
//
// # Nodes
//
// Start registers the Nodes (Ready, no pressure, allocatable pods/cpu/
// memory, labels kubernetes.io/hostname, os, arch), removes the
// node.kubernetes.io/not-ready taint that admission adds at creation (the
// node lifecycle controller may not run), and renews each Node's status
// heartbeat and its Lease in kube-node-lease every HeartbeatInterval.
//
// # Pods
//
// For each pod whose spec.nodeName is a simulated Node the simulator
//
//   - takes a free address from the pod's ranges (see below) on which none
//     of the pod's ports is taken, and keeps it until the pod is gone;
//   - starts every container: one HTTP server per TCP container port (and
//     the readiness probe's port) on that address; regular init containers
//     complete at once, sidecars (restartPolicy Always) run like containers;
//   - writes the pod Running with podIP(s), hostIP(s), startTime, container
//     statuses and the conditions the kubelet owns: PodScheduled,
//     PodReadyToStartContainers, Initialized, ContainersReady and Ready
//     (computed with e2e/kubelet). Every other condition, readiness gates
//     included, is kept exactly as the server has it: writes are two-way
//     strategic-merge patches of the status subresource carrying the pod
//     UID, built on a fresh read of the pod, as the kubelet's status manager;
//   - runs readiness probes (httpGet, tcpSocket; exec and grpc count as
//     success) with the kubelet's defaults and thresholds, and recomputes
//     Ready at once when a gate condition changes; statuses are checked
//     and resent every StatusResync (10 s);
//   - on deletion runs each container's preStop hook (sleep, httpGet) with
//     the whole grace period as timeout while still serving, then shuts its
//     servers down gracefully (no new connections, in-flight requests
//     finish) within the rest of the grace period (at least 2 s), kills
//     what is left, writes the containers terminated and the phase
//     Succeeded (all exited 0) or Failed, deletes the pod with grace period
//     0 and a UID precondition, and releases the address.
//
// # Pod addresses
//
// Every range must lie in 127.0.0.0/8 (routed to lo on Linux, so no setup
// is needed); the network and broadcast address of a range and 127.0.0.1
// are never handed out. A pod's ranges are, in order: the ranges of the
// network mode named by its annotation nodesim.lbgate.dev/network-mode,
// its node's NodeOptions.PodCIDRs, the ranges of its node's
// NodeOptions.NetworkMode, Options.PodCIDRs (127.100.0.0/16 by default).
// hostNetwork pods use their node's InternalIP.
//
// # What the apps do
//
// Every path answers 200 "pod=NAME version=VERSION\n" with headers
// X-Pod-Name, X-Pod-Version and X-Container-Name, except:
//
//   - the readiness probe's path (on the probe's port) answers with the
//     readiness status (200 by default);
//   - /healthz answers with the healthz status (200 by default), so a pod
//     can pass its readiness probe yet fail a load balancer's /healthz;
//   - a query parameter delay=DURATION makes a request take that long
//     (to test in-flight requests during shutdown).
//
// Behaviour knobs, per container, from environment variables (literal
// values) or from items of the image tag; the environment wins:
//
//	env                      tag item         meaning (default)
//	NODESIM_VERSION          (the tag)        version in answers (image tag, else "latest")
//	NODESIM_STARTUP_DELAY    startup-2s       delay before the servers listen (0)
//	NODESIM_HEALTHZ_STATUS   healthz-500      status code of /healthz (200)
//	NODESIM_READINESS_STATUS readiness-500    status code of the readiness probe path (200)
//	NODESIM_WARMUP           warmup-5s        warm-up period after listening (0)
//	NODESIM_WARMUP_MODE      warmupmode-fail  "slow": requests wait NODESIM_WARMUP_LATENCY;
//	                                          "fail": requests get NODESIM_WARMUP_STATUS (slow)
//	NODESIM_WARMUP_LATENCY   warmuplatency-2s added latency in slow mode (1s)
//	NODESIM_WARMUP_STATUS    warmupstatus-502 status code in fail mode (503)
//	NODESIM_WARMUP_HEALTHZ   warmuphealthz-true  /healthz warms up too (false)
//	NODESIM_WARMUP_CONCURRENCY warmupconcurrency-2 in slow mode, requests served at
//	                                          once while warming up; the others queue (0: no cap)
//
// The image tag is VERSION[--ITEM...], for example
// "example.com/app:v2--healthz-500--startup-2s" is version "v2" with
// /healthz failing and a 2 s start-up. The readiness path never warms up
// (real apps often answer it before they are warm). A bad knob keeps the
// container Waiting with reason CreateContainerConfigError.
// Simulator.SetReadinessStatus and SetHealthzStatus change the status codes
// of a running pod.
//
// # Where it differs from a kubelet
//
// Liveness and startup probes are not run (containers count as started at
// once and never restart); exec and grpc readiness probes and exec preStop
// hooks cannot run and count as success; HTTPS probes fail (the apps speak
// plain HTTP); the first readiness probe runs exactly when the initial delay
// has passed (the kubelet's first probe lands on its worker's ticker or on
// a status-triggered manual run, so up to one period later); a second
// delete with a shorter grace period is not honoured, except a force delete
// (the pod disappears), which cuts preStop short and gives SIGTERM the 2 s
// minimum; volumes, resources and events are not simulated.
package nodesim
