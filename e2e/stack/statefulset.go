package stack

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbgate/lbgate/e2e/nodesim"
)

// StatefulSet returns the app as a StatefulSet whose pods get the address
// their predecessor of the same name had (nodesim's sticky addresses): as a
// fixed-IP StatefulSet in ENI mode, or a CNI that reuses a freed address.
func (a App) StatefulSet() *appsv1.StatefulSet {
	d := a.Deployment()
	tpl := d.Spec.Template
	tpl.Annotations = map[string]string{nodesim.AnnotationStickyAddress: "true"}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: a.Namespace, Name: a.Name},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            d.Spec.Replicas,
			Selector:            d.Spec.Selector,
			ServiceName:         a.Name,
			PodManagementPolicy: appsv1.ParallelPodManagement,
			UpdateStrategy:      appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
			Template:            tpl,
		},
	}
}

// WaitStatefulSetRolledOut waits until every replica runs the current revision and is ready.
func (s *Stack) WaitStatefulSetRolledOut(ctx context.Context, a App, timeout time.Duration) error {
	return poll(ctx, timeout, func() (bool, string) {
		ss := &appsv1.StatefulSet{}
		if err := s.Client.Get(ctx, client.ObjectKey{Namespace: a.Namespace, Name: a.Name}, ss); err != nil {
			return false, err.Error()
		}
		st := ss.Status
		done := st.ObservedGeneration >= ss.Generation && st.UpdatedReplicas == a.Replicas &&
			st.ReadyReplicas == a.Replicas && st.CurrentRevision == st.UpdateRevision
		return done, fmt.Sprintf("statefulset %s: %d updated, %d ready of %d, revision %s -> %s",
			a.Name, st.UpdatedReplicas, st.ReadyReplicas, a.Replicas, st.CurrentRevision, st.UpdateRevision)
	})
}

// PodsOf lists the app's pods.
func (s *Stack) PodsOf(ctx context.Context, a App) ([]corev1.Pod, error) {
	list := &corev1.PodList{}
	err := s.Client.List(ctx, list, client.InNamespace(a.Namespace), client.MatchingLabels{"app": a.Name})
	return list.Items, err
}
