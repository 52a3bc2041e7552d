package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/lbgate/lbgate/e2e/stack"
	podwebhook "github.com/lbgate/lbgate/webhook"
)

// creatorLevels are the concurrent creators of the webhook scenario.
var creatorLevels = []int{1, 5, 20}

// podsPerLevel are the pods created, in all, at each level.
const podsPerLevel = 120

// admissionResult are the create latencies at each level.
type admissionResult map[int]durations

// admission creates pods that an opted-in Service selects, from 1, 5 and
// 20 goroutines at once, and times each Create. The pods are bound to a
// node that does not exist, so nothing runs them.
func (b *bench) admission(ctx context.Context, ns string, webhook bool) (admissionResult, error) {
	if webhook {
		if err := b.hookService(ctx, ns); err != nil {
			return nil, err
		}
	}
	if err := b.waitAdmissionPath(ctx, ns, webhook); err != nil {
		return nil, err
	}
	res := admissionResult{}
	for _, c := range creatorLevels {
		lat, err := b.timeCreates(ctx, ns, c, webhook)
		if err != nil {
			return nil, err
		}
		res[c] = lat
	}
	return res, nil
}

// hookService creates the namespace ns and in it an opted-in Service that
// selects the scenario's pods, unless they are there already.
func (b *bench) hookService(ctx context.Context, ns string) error {
	app := stack.App{Namespace: ns, Name: "hk", Backend: beHook}
	if err := b.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	if err := b.client.Create(ctx, app.Service()); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// waitAdmissionPath waits until the webhook gives pods the gate (or,
// without it, until it no longer does), so every timed pod takes the same
// path.
func (b *bench) waitAdmissionPath(ctx context.Context, ns string, webhook bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		pod := hookPod(ns, fmt.Sprintf("probe-%t-%d", webhook, i))
		if err := b.client.Create(ctx, pod); err != nil {
			return err
		}
		if (len(pod.Spec.ReadinessGates) > 0) == webhook {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("webhook=%t: pods still created with %d gates after 30 s", webhook, len(pod.Spec.ReadinessGates))
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// timeCreates creates podsPerLevel pods from c goroutines at once, timing
// each Create, then deletes them.
func (b *bench) timeCreates(ctx context.Context, ns string, c int, webhook bool) (durations, error) {
	lat := make([]time.Duration, podsPerLevel)
	err := parallel(ctx, podsPerLevel, c, func(ctx context.Context, i int) error {
		pod := hookPod(ns, fmt.Sprintf("c%d-%t-%d", c, webhook, i))
		began := time.Now()
		if err := b.client.Create(ctx, pod); err != nil {
			return err
		}
		lat[i] = time.Since(began)
		if webhook && len(pod.Spec.ReadinessGates) == 0 {
			return fmt.Errorf("pod %s created without the gate", pod.Name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := b.client.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(ns), client.MatchingLabels{"app": "hk"}, client.GracePeriodSeconds(0)); err != nil {
		return nil, err
	}
	return lat, nil
}

func hookPod(ns, name string) *corev1.Pod {
	pod := podSpec(ns, name, "hk", "")
	pod.Spec.NodeName = "bench-nowhere" // never runs
	return pod
}

func (b *bench) reportAdmission(sc *Scenario, with, without admissionResult) {
	for _, c := range creatorLevels {
		w, wo := with[c], without[c]
		sc.row(fmt.Sprintf("pod CREATE p50 / p99, %d creator(s)", c),
			fmt.Sprintf("%s / %s", fmtDur(w.quantile(0.5)), fmtDur(w.quantile(0.99))),
			fmt.Sprintf("%s / %s", fmtDur(wo.quantile(0.5)), fmtDur(wo.quantile(0.99))))
		sc.Data[fmt.Sprintf("c%dP50Ms", c)], sc.Data[fmt.Sprintf("c%dP99Ms", c)] = ms(w.quantile(0.5)), ms(w.quantile(0.99))
		sc.Data[fmt.Sprintf("c%dBaselineP50Ms", c)], sc.Data[fmt.Sprintf("c%dBaselineP99Ms", c)] = ms(wo.quantile(0.5)), ms(wo.quantile(0.99))
	}
	cost, err := handlerCost()
	if err != nil {
		sc.note("handler cost: %v", err)
		return
	}
	sc.row("handler's own cost per call (decode, lookup, mutate, patch, encode)", fmt.Sprintf("%s, %d allocs", cost.per, cost.allocs), "")
	sc.Data["handlerMicros"] = float64(cost.per.Nanoseconds()) / 1000
	sc.Data["handlerAllocs"] = float64(cost.allocs)
	added := with[1].quantile(0.5) - without[1].quantile(0.5)
	sc.note("one creator: the webhook adds %s at p50, of which the handler is %s; the rest is the apiserver calling out (AdmissionReview encode/decode, HTTPS on loopback) and the JSON patch applied", fmtDur(added), cost.per)
	sc.note("baseline column: the same creates with the webhook configuration removed (lbgate restarted with --webhook=false)")
}

type cost struct {
	per    time.Duration
	allocs int64
}

// handlerCost is the webhook's own cost for one pod CREATE, without TLS and
// the network: decode the AdmissionReview, look up the groups (one
// matches), mutate, build the patch, encode the answer.
func handlerCost() (cost, error) {
	hook := &admission.Webhook{Handler: &podwebhook.Handler{
		Groups: podwebhook.GroupListerFunc(func(context.Context, string, map[string]string) ([]podwebhook.Group, error) {
			return []podwebhook.Group{{Name: "hk", Selector: map[string]string{"app": "hk"}}}, nil
		}),
	}}
	pod, err := json.Marshal(hookPod("bench", "p"))
	if err != nil {
		return cost{}, err
	}
	review, err := json.Marshal(&admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "1", Operation: admissionv1.Create, Namespace: "bench",
			Kind:     metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Object:   runtime.RawExtension{Raw: pod},
		},
	})
	if err != nil {
		return cost{}, err
	}
	var failed error
	r := testing.Benchmark(func(tb *testing.B) {
		tb.ReportAllocs()
		for i := 0; i < tb.N; i++ {
			req := httptest.NewRequest(http.MethodPost, "/mutate-v1-pod", bytes.NewReader(review))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			hook.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"patch"`)) {
				failed = fmt.Errorf("answer %d: %s", rec.Code, rec.Body.String())
				return
			}
		}
	})
	if failed != nil {
		return cost{}, failed
	}
	return cost{per: time.Duration(r.NsPerOp()), allocs: r.AllocsPerOp()}, nil
}
