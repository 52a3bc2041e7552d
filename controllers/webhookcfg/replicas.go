package webhookcfg

import (
	"context"
	"net"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lbgate/lbgate/certs"
)

// probeTimeout bounds one look at what a replica serves.
const probeTimeout = 2 * time.Second

// servedEverywhere reports whether every replica serves b's certificate. A
// replica that cannot be reached counts as not serving it: the previous CA
// then stays in the caBundle until it expires.
func (r *Reconciler) servedEverywhere(ctx context.Context, b *certs.Bundle) bool {
	log := logf.FromContext(ctx)
	addrs, err := r.replicaAddrs(ctx)
	if err != nil {
		log.Info("cannot list the operator's replicas", "error", err.Error())
		return false
	}
	for _, addr := range addrs {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		served, err := certs.ServedCertificate(pctx, addr, r.Options.dialedName())
		cancel()
		if err != nil || !served.Equal(b.Serving.Cert) {
			log.V(1).Info("replica does not serve the current certificate yet", "address", addr, "error", err)
			return false
		}
	}
	return len(addrs) > 0
}

// replicaAddrs are the webhook addresses of every replica: the local server
// when run out of cluster (URL mode) or when the operator's pods are not
// known by labels, else each running operator pod's IP.
func (r *Reconciler) replicaAddrs(ctx context.Context) ([]string, error) {
	if r.Options.URL != "" || len(r.Options.OperatorPodLabels) == 0 || r.Pods == nil {
		return []string{r.Options.localAddr()}, nil
	}
	pods := &corev1.PodList{}
	if err := r.Pods.List(ctx, pods, client.InNamespace(r.Options.Namespace), client.MatchingLabels(r.Options.OperatorPodLabels)); err != nil {
		return nil, err
	}
	var addrs []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
			continue
		}
		addrs = append(addrs, net.JoinHostPort(p.Status.PodIP, strconv.Itoa(r.Options.Port)))
	}
	return addrs, nil
}
