package stack

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/providers/haproxy"
)

// TogetherResult is what DeployTogether saw.
type TogetherResult struct {
	// EarlyReady lists pods that turned Ready while HAProxy did not yet send them traffic after a passed check.
	EarlyReady []string
	// ReadyPods is how many pods turned Ready.
	ReadyPods int
	// Duration is from the Service's creation until every replica is available and up in HAProxy.
	Duration time.Duration
}

// DeployTogether creates the app's Service and Deployment back to back, with
// no pause, as one manifest applied with kubectl, Helm or Argo CD does, and
// waits until every replica is available and up in HAProxy, recording the
// pods that turned Ready before HAProxy had them up.
func (s *Stack) DeployTogether(ctx context.Context, a App) (*TogetherResult, error) {
	a.defaults()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: a.Namespace}}
	if err := s.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	early, err := s.watchReady(watchCtx, a)
	if err != nil {
		return nil, err
	}
	began := time.Now()
	if err := s.Client.Create(ctx, a.Service()); err != nil {
		return nil, fmt.Errorf("creating Service %s: %w", a.Name, err)
	}
	if err := s.Client.Create(ctx, a.Deployment()); err != nil {
		return nil, fmt.Errorf("creating Deployment %s: %w", a.Name, err)
	}
	if err := s.WaitRolledOut(ctx, a, 3*time.Minute); err != nil {
		return nil, err
	}
	if err := s.WaitServersUp(ctx, a.Backend, int(a.Replicas), time.Minute); err != nil {
		return nil, err
	}
	res := &TogetherResult{Duration: time.Since(began)}
	stopWatch()
	res.EarlyReady, res.ReadyPods = early.result()
	return res, nil
}

// Remove deletes the app's Deployment (and its pods) and Service, and waits
// until its BackendGroup is gone and HAProxy holds none of its servers, so
// the backend can serve another app.
func (s *Stack) Remove(ctx context.Context, a App) error {
	key := client.ObjectKey{Namespace: a.Namespace, Name: a.Name}
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: a.Namespace, Name: a.Name}}
	if err := s.Client.Delete(ctx, deploy, client.PropagationPolicy(metav1.DeletePropagationForeground)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting Deployment %s: %w", a.Name, err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: a.Namespace, Name: a.Name}}
	if err := s.Client.Delete(ctx, svc); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting Service %s: %w", a.Name, err)
	}
	return poll(ctx, 2*time.Minute, func() (bool, string) {
		err := s.Client.Get(ctx, key, &v1alpha1.BackendGroup{})
		if !apierrors.IsNotFound(err) {
			return false, fmt.Sprintf("BackendGroup %s still there (%v)", key, err)
		}
		servers, err := s.lbOf(a).Servers(a.Backend)
		if err != nil {
			return false, err.Error()
		}
		return len(servers) == 0, fmt.Sprintf("%s: %d servers left", a.Backend, len(servers))
	})
}

// HasBackend reports whether HAProxy has a backend of this name (the suite
// declares its backends when it starts HAProxy).
func (s *Stack) HasBackend(name string) (bool, error) {
	out, err := s.HAProxy.Command("show stat")
	if err != nil {
		return false, fmt.Errorf("show stat: %w", err)
	}
	rows, err := haproxy.ParseStat(out)
	if err != nil {
		return false, err
	}
	for _, r := range rows {
		if r.Proxy == name {
			return true, nil
		}
	}
	return false, nil
}
