package stack

import (
	"context"
	"fmt"
	"maps"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

// Images of the sample app (e2e/nodesim reads behaviour from the tag).
const (
	// ImageV1 is the first version.
	ImageV1 = "example.com/web:v1"
	// ImageV2 is the next version, which warms up for 5 s after it starts, as
	// real apps do (caches, JIT, connection pools): its readiness endpoint
	// answers at once, but /healthz, the load balancer's check, fails and
	// requests get 503 until it is warm.
	ImageV2 = "example.com/web:v2--warmup-5s--warmupmode-fail--warmuphealthz-true"
	// ImageBroken is a version whose readiness probe passes but whose /healthz fails.
	ImageBroken = "example.com/web:v2--healthz-500"
)

// App describes a sample application: an opted-in Service bound to one
// HAProxy backend and a Deployment of simulated pods.
type App struct {
	Namespace string
	Name      string
	// Backend is the load-balancer target (lbgate.dev/load-balancer): an
	// HAProxy backend, or a CLB id such as lb-1/lbl-1/loc-1 with LB set.
	Backend string
	// LB is the load balancer Backend is on; nil is the stack's HAProxy.
	LB       LoadBalancer
	Replicas int32
	// Image is the pod image; its tag carries the simulated app's behaviour (e2e/nodesim).
	Image string
	// MaxSurge and MaxUnavailable of the rolling update (defaults 25% and 0).
	MaxSurge, MaxUnavailable intstr.IntOrString
	// PreStop is the preStop sleep every container has (default 3 s), so a
	// leaving pod keeps serving while HAProxy drains it.
	PreStop time.Duration
	// NoPreStop gives the containers no preStop hook of their own (PreStop
	// is ignored): a leaving pod then has the one lbgate's webhook adds, if
	// any, and otherwise stops listening as soon as it is deleted.
	NoPreStop bool
	// Annotations are added to the Service's, such as lbgate.dev/prestop-delay.
	Annotations map[string]string
	// MinReadySeconds is the Deployment's: how long a new pod must be Ready
	// before it counts as available and an old pod is let go.
	MinReadySeconds int32
}

func (a *App) defaults() {
	if a.MaxSurge == (intstr.IntOrString{}) {
		a.MaxSurge = intstr.FromString("25%")
	}
	if a.PreStop == 0 {
		a.PreStop = 3 * time.Second
	}
}

// Service returns the app's opted-in Service.
func (a App) Service() *corev1.Service {
	annotations := map[string]string{
		v1alpha1.AnnotationDirectAccess:                  "true",
		v1alpha1.AnnotationLoadBalancer:                  a.Backend,
		v1alpha1.AnnotationHealthCheckInterval:           "1s",
		v1alpha1.AnnotationHealthCheckHealthyThreshold:   "2",
		v1alpha1.AnnotationHealthCheckUnhealthyThreshold: "2",
		v1alpha1.AnnotationDeregistrationDelay:           "5s",
	}
	maps.Copy(annotations, a.Annotations)
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: a.Namespace, Name: a.Name, Annotations: annotations},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": a.Name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
}

// Deployment returns the app's Deployment.
func (a App) Deployment() *appsv1.Deployment {
	a.defaults()
	labels := map[string]string{"app": a.Name}
	grace := int64(15)
	lifecycle := &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
		Sleep: &corev1.SleepAction{Seconds: int64(a.PreStop / time.Second)},
	}}
	if a.NoPreStop {
		lifecycle = nil
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: a.Namespace, Name: a.Name},
		Spec: appsv1.DeploymentSpec{
			Replicas:        &a.Replicas,
			MinReadySeconds: a.MinReadySeconds,
			Selector:        &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxSurge: &a.MaxSurge, MaxUnavailable: &a.MaxUnavailable,
			}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{
						Name:  "app",
						Image: a.Image,
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}},
							PeriodSeconds: 1,
						},
						Lifecycle: lifecycle,
					}},
				},
			},
		},
	}
}

// Deploy creates the app's namespace, Service and Deployment and waits until
// every replica is available and HAProxy has as many servers up.
func (s *Stack) Deploy(ctx context.Context, a App) error {
	a.defaults()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: a.Namespace}}
	if err := s.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	svc := a.Service()
	if s.opts.DeclaredSlots[a.Backend] > 0 {
		// Declared slots take their check settings from haproxy.cfg, and
		// lbgate refuses a group that asks them for others.
		for _, k := range []string{v1alpha1.AnnotationHealthCheckInterval, v1alpha1.AnnotationHealthCheckHealthyThreshold, v1alpha1.AnnotationHealthCheckUnhealthyThreshold} {
			if _, own := a.Annotations[k]; !own {
				delete(svc.Annotations, k)
			}
		}
	}
	if err := s.Client.Create(ctx, svc); err != nil {
		return fmt.Errorf("creating Service %s: %w", a.Name, err)
	}
	if err := s.Client.Create(ctx, a.Deployment()); err != nil {
		return fmt.Errorf("creating Deployment %s: %w", a.Name, err)
	}
	if err := s.WaitRolledOut(ctx, a, 3*time.Minute); err != nil {
		return err
	}
	return waitUp(ctx, s.lbOf(a), a.Backend, int(a.Replicas), time.Minute)
}

// WaitRolledOut waits until the Deployment has every replica updated and available and no old pod left.
func (s *Stack) WaitRolledOut(ctx context.Context, a App, timeout time.Duration) error {
	return poll(ctx, timeout, func() (bool, string) {
		d := &appsv1.Deployment{}
		if err := s.Client.Get(ctx, client.ObjectKey{Namespace: a.Namespace, Name: a.Name}, d); err != nil {
			return false, err.Error()
		}
		st := d.Status
		done := st.ObservedGeneration >= d.Generation && st.UpdatedReplicas == a.Replicas &&
			st.AvailableReplicas == a.Replicas && st.Replicas == a.Replicas
		return done, fmt.Sprintf("deployment %s: updated %d available %d total %d of %d", a.Name, st.UpdatedReplicas, st.AvailableReplicas, st.Replicas, a.Replicas)
	})
}

// SetImage starts a rolling update to image.
func (s *Stack) SetImage(ctx context.Context, a App, image string) error {
	d := &appsv1.Deployment{}
	if err := s.Client.Get(ctx, client.ObjectKey{Namespace: a.Namespace, Name: a.Name}, d); err != nil {
		return err
	}
	before := d.DeepCopy()
	d.Spec.Template.Spec.Containers[0].Image = image
	return s.Client.Patch(ctx, d, client.MergeFrom(before))
}

// Scale sets the Deployment's replicas.
func (s *Stack) Scale(ctx context.Context, a App, replicas int32) error {
	d := &appsv1.Deployment{}
	if err := s.Client.Get(ctx, client.ObjectKey{Namespace: a.Namespace, Name: a.Name}, d); err != nil {
		return err
	}
	before := d.DeepCopy()
	d.Spec.Replicas = &replicas
	return s.Client.Patch(ctx, d, client.MergeFrom(before))
}

// poll calls cond until it reports done, ctx ends, or timeout passes; the error carries cond's last words.
func poll(ctx context.Context, timeout time.Duration, cond func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		done, msg := cond()
		if done {
			return nil
		}
		last = msg
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s: %s", timeout, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s", ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
