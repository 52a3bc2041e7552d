package nodesim

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	toolscache "k8s.io/client-go/tools/cache"
)

// watchPods starts an informer on the pods bound to node n (field selector
// spec.nodeName, as the kubelet's apiserver pod source) and returns its
// synced check. The informer stops with ctx.
func (s *Simulator) watchPods(ctx context.Context, n *simNode) toolscache.InformerSynced {
	lw := toolscache.NewListWatchFromClient(s.client.CoreV1().RESTClient(), "pods", metav1.NamespaceAll,
		fields.OneTermEqualSelector("spec.nodeName", n.opts.Name))
	inf := toolscache.NewSharedIndexInformer(lw, &corev1.Pod{}, 0, toolscache.Indexers{})
	_, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.onPod(n, obj) },
		UpdateFunc: func(_, obj any) { s.onPod(n, obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				s.podDeleted(pod)
			}
		},
	})
	if err != nil {
		n.log.Error(err, "Cannot watch pods")
	}
	s.wg.Go(func() { inf.RunWithContext(ctx) })
	return inf.HasSynced
}

func (s *Simulator) onPod(n *simNode, obj any) {
	if pod, ok := obj.(*corev1.Pod); ok {
		s.podEvent(n, pod)
	}
}
