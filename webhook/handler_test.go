package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/lbgate/lbgate/internal/testbuild"
)

// fakeLister serves fixed groups per namespace and records its calls.
type fakeLister struct {
	mu     sync.Mutex
	groups map[string][]Group
	err    error
	panics bool
	calls  []string
}

func (f *fakeLister) GroupsFor(_ context.Context, namespace string, _ map[string]string) ([]Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, namespace)
	if f.panics {
		panic("cache exploded")
	}
	return f.groups[namespace], f.err
}

// recorder collects the outcomes a Handler reports.
type recorder struct{ outcomes []Outcome }

func (r *recorder) observe(_ context.Context, o Outcome) { r.outcomes = append(r.outcomes, o) }

func (r *recorder) last(t *testing.T) Outcome {
	t.Helper()
	if len(r.outcomes) == 0 {
		t.Fatal("no outcome observed")
	}
	return r.outcomes[len(r.outcomes)-1]
}

func newHandler(l GroupLister) (*Handler, *recorder) {
	rec := &recorder{}
	return &Handler{
		Groups:           l,
		Options:          Options{OperatorPodSelector: map[string]string{"app.kubernetes.io/name": "lbgate"}},
		IgnoreNamespaces: []string{"kube-system", "lbgate-system"},
		Observe:          rec.observe,
	}, rec
}

// createRequest is the request the apiserver sends for creating raw in namespace.
func createRequest(namespace string, raw []byte) admission.Request {
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID:       "4b1f-uid",
		Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
		Namespace: namespace,
		Operation: admissionv1.Create,
		Object:    runtime.RawExtension{Raw: raw},
		DryRun:    ptr.To(false),
	}}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// applyPatch applies the response's patch to raw, as the apiserver would,
// and returns the resulting pod.
func applyPatch(t *testing.T, req admission.Request, resp admission.Response, raw []byte) ([]byte, *corev1.Pod) {
	t.Helper()
	if err := resp.Complete(req); err != nil {
		t.Fatal(err)
	}
	out := raw
	if len(resp.Patch) > 0 {
		if resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
			t.Fatalf("patch type %v, want JSONPatch", resp.PatchType)
		}
		p, err := jsonpatch.DecodePatch(resp.Patch)
		if err != nil {
			t.Fatalf("decode patch %s: %v", resp.Patch, err)
		}
		if out, err = p.Apply(raw); err != nil {
			t.Fatalf("apply patch %s: %v", resp.Patch, err)
		}
	}
	pod := &corev1.Pod{}
	if err := json.Unmarshal(out, pod); err != nil {
		t.Fatal(err)
	}
	return out, pod
}

func shopLister() *fakeLister {
	return &fakeLister{groups: map[string][]Group{"shop": {webGroup, withDelay(apiGroup, 8*time.Second)}}}
}

func TestHandlerPatchesMatchingPod(t *testing.T) {
	lister := shopLister()
	h, rec := newHandler(lister)
	raw := mustJSON(t, newPod(testbuild.PostStartExec(1, "warm")))
	req := createRequest("shop", raw)

	resp := h.Handle(context.Background(), req)
	if !resp.Allowed || len(resp.Warnings) != 0 {
		t.Fatalf("response allowed=%v warnings=%v", resp.Allowed, resp.Warnings)
	}
	_, pod := applyPatch(t, req, resp, raw)
	if got := gateTypes(pod); !slices.Equal(got, []string{gateAPI, gateWeb}) {
		t.Errorf("patched gates %v", got)
	}
	for _, c := range pod.Spec.Containers {
		if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds != 8 {
			t.Errorf("container %s: preStop %+v, want sleep 8s", c.Name, c.Lifecycle)
		}
	}
	if pod.Spec.Containers[1].Lifecycle.PostStart == nil {
		t.Error("postStart lost")
	}
	if !slices.Equal(lister.calls, []string{"shop"}) {
		t.Errorf("lister calls %v", lister.calls)
	}
	o := rec.last(t)
	if o.Err != nil || o.DryRun || o.Namespace != "shop" || o.Name != "web-1" || o.Patch != len(resp.Patches) || !o.Result.Changed() {
		t.Errorf("outcome %+v", o)
	}

	// Reinvocation (reinvocationPolicy IfNeeded) on the patched pod: no patch.
	patched, _ := applyPatch(t, req, resp, raw)
	again := h.Handle(context.Background(), createRequest("shop", patched))
	if !again.Allowed || len(again.Patches) != 0 || again.PatchType != nil {
		t.Errorf("second pass patched again: %+v", again.Patches)
	}
}

func TestHandlerPatchTouchesOnlyWhatItAdds(t *testing.T) {
	h, rec := newHandler(shopLister())
	// A field this build's k8s.io/api does not know, as a newer apiserver
	// may send: the patch must not remove it, nor add encoding defaults.
	raw := []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"web-","labels":{"app":"web"}},` +
		`"spec":{"futureField":{"x":1},"containers":[{"name":"app","image":"app:1","futureContainerField":true}]}}`)
	req := createRequest("shop", raw)
	resp := h.Handle(context.Background(), req)
	out, pod := applyPatch(t, req, resp, raw)

	for _, p := range resp.Patches {
		if !strings.HasPrefix(p.Path, "/spec/readinessGates") && !strings.HasPrefix(p.Path, "/spec/containers/0/lifecycle") {
			t.Errorf("unexpected patch operation %s %s", p.Operation, p.Path)
		}
	}
	for _, keep := range []string{`"futureField":{"x":1}`, `"futureContainerField":true`} {
		if !bytes.Contains(out, []byte(keep)) {
			t.Errorf("patched object lost %s: %s", keep, out)
		}
	}
	if bytes.Contains(out, []byte("creationTimestamp")) {
		t.Errorf("patch added encoding defaults: %s", out)
	}
	if got := gateTypes(pod); !slices.Equal(got, []string{gateWeb}) {
		t.Errorf("gates %v, want [%s]", got, gateWeb)
	}
	// The web Service sets no prestop-delay: the default sleep (issue 10, item 7).
	if c := pod.Spec.Containers[0]; c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds != 5 {
		t.Errorf("container app: lifecycle %+v, want the default preStop sleep of 5s", c.Lifecycle)
	}
	if o := rec.last(t); o.Result.PreStopSource != PreStopDefault {
		t.Errorf("outcome preStop source %q, want %q", o.Result.PreStopSource, PreStopDefault)
	}
}

func TestHandlerAdmitsWithoutPatch(t *testing.T) {
	podRaw := func(opts ...testbuild.PodOption) []byte { return mustJSON(t, newPod(opts...)) }
	update := createRequest("shop", podRaw())
	update.Operation = admissionv1.Update
	status := createRequest("shop", podRaw())
	status.SubResource = "status"
	otherKind := createRequest("shop", []byte(`{"kind":"Service"}`))
	otherKind.Resource = metav1.GroupVersionResource{Version: "v1", Resource: "services"}

	tests := []struct {
		name       string
		req        admission.Request
		lister     *fakeLister
		skipped    SkipReason
		lookedUp   bool
		warning    string // substring of the one warning, "" for none
		outcomeErr string
	}{
		{name: "no group matches", req: createRequest("shop", podRaw(testbuild.Labels(map[string]string{"app": "other"}))), lookedUp: true},
		{name: "no groups in namespace", req: createRequest("empty", podRaw()), lookedUp: true},
		{name: "hostNetwork pod", req: createRequest("shop", podRaw(testbuild.HostNetwork())), lookedUp: true, skipped: SkipHostNetwork},
		{name: "mirror pod", req: createRequest("shop", podRaw(mirror)), lookedUp: true, skipped: SkipMirrorPod},
		{name: "operator pod", req: createRequest("shop", podRaw(testbuild.Labels(map[string]string{"app": "web", "app.kubernetes.io/name": "lbgate"}))), lookedUp: true, skipped: SkipOperatorPod},
		{name: "ignored namespace", req: createRequest("kube-system", podRaw()), skipped: SkipIgnoredNamespace},
		{name: "operator namespace", req: createRequest("lbgate-system", podRaw()), skipped: SkipIgnoredNamespace},
		{name: "update", req: update, skipped: SkipNotPodCreate},
		{name: "status subresource", req: status, skipped: SkipNotPodCreate},
		{name: "not a pod", req: otherKind, skipped: SkipNotPodCreate},
		{name: "lookup error", req: createRequest("shop", podRaw()), lister: &fakeLister{err: errors.New("informer cache not synced")},
			lookedUp: true, warning: "could not look up BackendGroups (informer cache not synced)", outcomeErr: "informer cache not synced"},
		{name: "lister panics", req: createRequest("shop", podRaw()), lister: &fakeLister{panics: true},
			lookedUp: true, warning: "cache exploded", outcomeErr: "panic: cache exploded"},
		{name: "undecodable object", req: createRequest("shop", []byte(`{"spec":`)), warning: "could not decode", outcomeErr: "decode pod"},
		{name: "empty object", req: createRequest("shop", nil), warning: "could not decode", outcomeErr: "decode pod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lister := tt.lister
			if lister == nil {
				lister = shopLister()
			}
			h, rec := newHandler(lister)
			resp := h.Handle(context.Background(), tt.req)
			if !resp.Allowed {
				t.Fatalf("denied: %+v", resp.Result)
			}
			if len(resp.Patches) != 0 || resp.PatchType != nil || len(resp.Patch) != 0 {
				t.Errorf("patched: %+v", resp.Patches)
			}
			if tt.warning == "" && len(resp.Warnings) != 0 {
				t.Errorf("warnings %v, want none", resp.Warnings)
			}
			if tt.warning != "" && (len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], tt.warning)) {
				t.Errorf("warnings %v, want one containing %q", resp.Warnings, tt.warning)
			}
			if got := len(lister.calls) > 0; got != tt.lookedUp {
				t.Errorf("looked up groups: %v, want %v", got, tt.lookedUp)
			}
			o := rec.last(t)
			if o.Result.Skipped != tt.skipped {
				t.Errorf("outcome skipped %q, want %q", o.Result.Skipped, tt.skipped)
			}
			if (o.Err == nil) != (tt.outcomeErr == "") || (o.Err != nil && !strings.Contains(o.Err.Error(), tt.outcomeErr)) {
				t.Errorf("outcome error %v, want %q", o.Err, tt.outcomeErr)
			}
		})
	}
}

func TestHandlerDryRunSameAnswer(t *testing.T) {
	for _, name := range []string{"matching", "lookup error"} {
		t.Run(name, func(t *testing.T) {
			lister := shopLister()
			if name == "lookup error" {
				lister.err = errors.New("boom")
			}
			h, rec := newHandler(lister)
			raw := mustJSON(t, newPod())
			wet := createRequest("shop", raw)
			dry := createRequest("shop", raw)
			dry.DryRun = ptr.To(true)

			wetResp := h.Handle(context.Background(), wet)
			dryResp := h.Handle(context.Background(), dry)
			if !reflect.DeepEqual(wetResp, dryResp) {
				t.Errorf("dry-run answer differs:\n%+v\n%+v", wetResp, dryResp)
			}
			if len(rec.outcomes) != 2 || rec.outcomes[0].DryRun || !rec.outcomes[1].DryRun {
				t.Errorf("outcomes do not mark the dry run: %+v", rec.outcomes)
			}
		})
	}
}

func TestHandlerUsesRequestNamespaceAndGenerateName(t *testing.T) {
	lister := shopLister()
	h, rec := newHandler(lister)
	pod := newPod()
	pod.Name, pod.GenerateName, pod.Namespace = "", "web-7d9f-", ""
	resp := h.Handle(context.Background(), createRequest("shop", mustJSON(t, pod)))
	if !resp.Allowed || len(resp.Patches) == 0 {
		t.Fatalf("want a patch, got %+v", resp)
	}
	if o := rec.last(t); o.Name != "web-7d9f-*" || o.Namespace != "shop" {
		t.Errorf("outcome names %s/%s", o.Namespace, o.Name)
	}
	if !slices.Equal(lister.calls, []string{"shop"}) {
		t.Errorf("looked up %v", lister.calls)
	}
}

func TestHandlerWithoutObserver(t *testing.T) {
	h := &Handler{Groups: GroupListerFunc(func(context.Context, string, map[string]string) ([]Group, error) { return []Group{webGroup}, nil })}
	resp := h.Handle(context.Background(), createRequest("shop", mustJSON(t, newPod())))
	if !resp.Allowed || len(resp.Patches) == 0 {
		t.Errorf("want an allowed patch, got %+v", resp)
	}
	noLister := &Handler{}
	if resp := noLister.Handle(context.Background(), createRequest("shop", mustJSON(t, newPod()))); !resp.Allowed || len(resp.Warnings) != 1 {
		t.Errorf("a handler without lister must admit with a warning, got %+v", resp)
	}
}

func TestShortenWarning(t *testing.T) {
	long := strings.Repeat("é", 300)
	if got := []rune(shorten(long)); len(got) != 120 || got[119] != '…' {
		t.Errorf("shorten gave %d runes", len(got))
	}
	if shorten("short") != "short" {
		t.Error("short strings must stay")
	}
}

// TestHandlerOverHTTP sends an AdmissionReview through controller-runtime's
// webhook plumbing, as the apiserver does, and reads the review back.
func TestHandlerOverHTTP(t *testing.T) {
	h, _ := newHandler(shopLister())
	wh := &admission.Webhook{Handler: h}
	raw := mustJSON(t, newPod())
	req := createRequest("shop", raw)
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request:  &req.AdmissionRequest,
	}
	httpReq := httptest.NewRequest(http.MethodPost, "/mutate-pods", bytes.NewReader(mustJSON(t, review)))
	httpReq.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	wh.ServeHTTP(w, httpReq)

	var got admissionv1.AdmissionReview
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("response %d %s: %v", w.Code, w.Body, err)
	}
	r := got.Response
	if r == nil || r.UID != req.UID || !r.Allowed || r.PatchType == nil || len(r.Patch) == 0 {
		t.Fatalf("review response %+v", r)
	}
	p, err := jsonpatch.DecodePatch(r.Patch)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Apply(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"readinessGates":[{"conditionType":"backend.lbgate.dev/api"},{"conditionType":"backend.lbgate.dev/web"}]`)) {
		t.Errorf("patched pod: %s", out)
	}
}
