package stack

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/lbgate/lbgate/providers/tencent"
	"github.com/lbgate/lbgate/providers/tencent/clbsim"
)

// CLB is a local Tencent Cloud CLB (clbsim) as a LoadBalancer: targets are
// the provider's ids, lb-x/lbl-y for a layer-4 listener and lb-x/lbl-y/loc-z
// for a layer-7 rule.
type CLB struct {
	Sim *clbsim.Server
}

// Frontend is the URL of the target's listener (it carries the traffic).
func (c CLB) Frontend(target string) (string, error) {
	lb, lbl, _, err := splitCLBTarget(target)
	if err != nil {
		return "", err
	}
	addr, err := c.Sim.Frontend(lb, lbl)
	if err != nil {
		return "", err
	}
	return "http://" + addr, nil
}

// Servers is the CLB's view of the target's bound backends: a backend is
// up when its health is Alive and its weight above 0 (the CLB sends it
// new connections).
func (c CLB) Servers(target string) (map[string]ServerState, error) {
	lb, lbl, loc, err := splitCLBTarget(target)
	if err != nil {
		return nil, err
	}
	out := map[string]ServerState{}
	for _, b := range c.Sim.Backends(lb, lbl, loc) {
		addr := fmt.Sprintf("%s:%d", b.IP, b.Port)
		out[addr] = ServerState{Addr: addr, Status: b.Health, CheckStatus: fmt.Sprintf("w=%d", b.Weight),
			up: b.Health == tencent.HealthAlive && b.Weight > 0}
	}
	return out, nil
}

func splitCLBTarget(target string) (lb, listener, location string, err error) {
	parts := strings.Split(target, "/")
	switch len(parts) {
	case 2:
		return parts[0], parts[1], "", nil
	case 3:
		return parts[0], parts[1], parts[2], nil
	}
	return "", "", "", fmt.Errorf("%q is not a CLB target (lb-x/lbl-y or lb-x/lbl-y/loc-z)", target)
}

// CLBCredentialsSecret is the Secret UseCLB keeps the local CLB's API key
// in (the name the install's Role allows).
const CLBCredentialsSecret = "lbgate-tencentcloud-credentials"

// UseCLB restarts lbgate with the tencentclb provider pointed at the local
// CLB sim, its API key read from a Secret in the operator namespace, with
// or without its webhook. UseHAProxy goes back.
func (s *Stack) UseCLB(ctx context.Context, sim *clbsim.Server, region, secretID, secretKey string, webhook bool) error {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: OperatorNamespace, Name: CLBCredentialsSecret}}
	if _, err := controllerutil.CreateOrUpdate(ctx, s.Client, secret, func() error {
		secret.Data = map[string][]byte{"secretId": []byte(secretID), "secretKey": []byte(secretKey)}
		return nil
	}); err != nil {
		return fmt.Errorf("writing the CLB key Secret: %w", err)
	}
	s.providerArgs = []string{
		"--provider=tencentclb",
		"--tencentcloud-region=" + region,
		"--tencentcloud-endpoint=http://" + sim.Endpoint(),
		"--tencentcloud-credentials-secret=" + CLBCredentialsSecret,
		"--tencentcloud-task-poll-interval=100ms",
	}
	return s.RestartOperator(ctx, webhook)
}

// UseHAProxy restarts lbgate with the stack's HAProxy, as it started.
func (s *Stack) UseHAProxy(ctx context.Context, webhook bool) error {
	s.providerArgs = nil
	return s.RestartOperator(ctx, webhook)
}
