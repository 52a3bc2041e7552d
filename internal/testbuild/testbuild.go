// Package testbuild builds pods and Services for tests. Only _test.go files
// import it: Pod and Service start from a bare object with its name, and the
// options add what a test needs, so each test says what matters to it.
package testbuild

import (
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// PodOption changes a pod that Pod builds.
type PodOption interface{ applyToPod(*corev1.Pod) }

// ServiceOption changes a Service that Service builds.
type ServiceOption interface{ applyToService(*corev1.Service) }

// MetaOption changes an object's metadata; it is both a PodOption and a ServiceOption.
type MetaOption func(*metav1.ObjectMeta)

func (o MetaOption) applyToPod(p *corev1.Pod)         { o(&p.ObjectMeta) }
func (o MetaOption) applyToService(s *corev1.Service) { o(&s.ObjectMeta) }

// podOption is a PodOption that changes the pod itself.
type podOption func(*corev1.Pod)

func (o podOption) applyToPod(p *corev1.Pod) { o(p) }

// serviceOption is a ServiceOption that changes the Service itself.
type serviceOption func(*corev1.Service)

func (o serviceOption) applyToService(s *corev1.Service) { o(s) }

// Pod is a pod with only its name set, then changed by opts in order.
func Pod(name string, opts ...PodOption) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, o := range opts {
		o.applyToPod(p)
	}
	return p
}

// Service is a Service with only its name set, then changed by opts in order.
func Service(name string, opts ...ServiceOption) *corev1.Service {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, o := range opts {
		o.applyToService(s)
	}
	return s
}

// Namespace sets the namespace.
func Namespace(ns string) MetaOption { return func(m *metav1.ObjectMeta) { m.Namespace = ns } }

// GenerateName sets the prefix the API server completes into a name.
func GenerateName(prefix string) MetaOption {
	return func(m *metav1.ObjectMeta) { m.GenerateName = prefix }
}

// Labels replaces the labels with a copy of l.
func Labels(l map[string]string) MetaOption {
	return func(m *metav1.ObjectMeta) { m.Labels = maps.Clone(l) }
}

// Annotations replaces the annotations with a copy of a.
func Annotations(a map[string]string) MetaOption {
	return func(m *metav1.ObjectMeta) { m.Annotations = maps.Clone(a) }
}

// UID sets the UID.
func UID(uid string) MetaOption { return func(m *metav1.ObjectMeta) { m.UID = types.UID(uid) } }

// Created sets the creation time.
func Created(at time.Time) MetaOption {
	return func(m *metav1.ObjectMeta) { m.CreationTimestamp = metav1.NewTime(at) }
}

// Deleting sets the deletion time and, when grace >= 0, the deletion grace period in seconds.
func Deleting(at time.Time, grace int64) MetaOption {
	return func(m *metav1.ObjectMeta) {
		ts := metav1.NewTime(at)
		m.DeletionTimestamp = &ts
		if grace >= 0 {
			g := grace
			m.DeletionGracePeriodSeconds = &g
		}
	}
}

// NodeName sets the node the pod is bound to.
func NodeName(node string) PodOption {
	return podOption(func(p *corev1.Pod) { p.Spec.NodeName = node })
}

// Containers replaces the containers with a copy of cs.
func Containers(cs ...corev1.Container) PodOption {
	return podOption(func(p *corev1.Pod) { p.Spec.Containers = slices.Clone(cs) })
}

// InitContainers replaces the init containers (sidecars included) with a copy of cs.
func InitContainers(cs ...corev1.Container) PodOption {
	return podOption(func(p *corev1.Pod) { p.Spec.InitContainers = slices.Clone(cs) })
}

// ReadinessGates adds readiness gates of the condition types.
func ReadinessGates(condTypes ...string) PodOption {
	return podOption(func(p *corev1.Pod) {
		for _, t := range condTypes {
			p.Spec.ReadinessGates = append(p.Spec.ReadinessGates, corev1.PodReadinessGate{ConditionType: corev1.PodConditionType(t)})
		}
	})
}

// HostNetwork puts the pod on its node's network.
func HostNetwork() PodOption { return podOption(func(p *corev1.Pod) { p.Spec.HostNetwork = true }) }

// TerminationGrace sets the pod's termination grace period in seconds.
func TerminationGrace(seconds int64) PodOption {
	return podOption(func(p *corev1.Pod) {
		s := seconds
		p.Spec.TerminationGracePeriodSeconds = &s
	})
}

// PreStopExec gives the i-th container a preStop hook running cmd; its other hook stays.
func PreStopExec(i int, cmd ...string) PodOption {
	return podOption(func(p *corev1.Pod) { lifecycle(&p.Spec.Containers[i]).PreStop = execHandler(cmd) })
}

// PostStartExec gives the i-th container a postStart hook running cmd; its other hook stays.
func PostStartExec(i int, cmd ...string) PodOption {
	return podOption(func(p *corev1.Pod) { lifecycle(&p.Spec.Containers[i]).PostStart = execHandler(cmd) })
}

// lifecycle is c's lifecycle, made when c has none.
func lifecycle(c *corev1.Container) *corev1.Lifecycle {
	if c.Lifecycle == nil {
		c.Lifecycle = &corev1.Lifecycle{}
	}
	return c.Lifecycle
}

// execHandler is a hook that runs cmd.
func execHandler(cmd []string) *corev1.LifecycleHandler {
	return &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: cmd}}
}

// Phase sets the pod's phase.
func Phase(ph corev1.PodPhase) PodOption {
	return podOption(func(p *corev1.Pod) { p.Status.Phase = ph })
}

// IPs sets the pod IP to the first of ips and the pod IPs to all of them.
func IPs(ips ...string) PodOption {
	return podOption(func(p *corev1.Pod) {
		p.Status.PodIP, p.Status.PodIPs = "", nil
		for _, ip := range ips {
			p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: ip})
		}
		if len(ips) > 0 {
			p.Status.PodIP = ips[0]
		}
	})
}

// Condition sets the status of the pod condition of type t, adding the condition when absent.
func Condition(t corev1.PodConditionType, status corev1.ConditionStatus) PodOption {
	return podOption(func(p *corev1.Pod) {
		for i := range p.Status.Conditions {
			if p.Status.Conditions[i].Type == t {
				p.Status.Conditions[i].Status = status
				return
			}
		}
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: status})
	})
}

// NoConditions removes every pod condition.
func NoConditions() PodOption { return podOption(func(p *corev1.Pod) { p.Status.Conditions = nil }) }

// Container is a container with an image (may be empty) and ports.
func Container(name, image string, ports ...corev1.ContainerPort) corev1.Container {
	return corev1.Container{Name: name, Image: image, Ports: ports}
}

// Sidecar makes c a sidecar: an init container that is restarted always and runs beside the others.
func Sidecar(c corev1.Container) corev1.Container {
	always := corev1.ContainerRestartPolicyAlways
	c.RestartPolicy = &always
	return c
}

// ContainerPort is a named container port; proto may be empty (the API server reads TCP).
func ContainerPort(name string, port int32, proto corev1.Protocol) corev1.ContainerPort {
	return corev1.ContainerPort{Name: name, ContainerPort: port, Protocol: proto}
}

// Selector replaces the Service's selector with a copy of sel.
func Selector(sel map[string]string) ServiceOption {
	return serviceOption(func(s *corev1.Service) { s.Spec.Selector = maps.Clone(sel) })
}

// Ports replaces the Service's ports with a copy of ps.
func Ports(ps ...corev1.ServicePort) ServiceOption {
	return serviceOption(func(s *corev1.Service) { s.Spec.Ports = slices.Clone(ps) })
}

// ServicePort is a Service port to a target port; proto may be empty (the API server reads TCP).
func ServicePort(name string, port int32, target intstr.IntOrString, proto corev1.Protocol) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, TargetPort: target, Protocol: proto}
}
