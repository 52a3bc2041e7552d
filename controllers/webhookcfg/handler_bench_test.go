package webhookcfg_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	podwebhook "github.com/lbgate/lbgate/webhook"
)

// BenchmarkWebhookServeHTTP is the webhook's own cost for one pod CREATE,
// without TLS and the network: decode the AdmissionReview, look up five
// groups, mutate, build the patch, encode the answer.
func BenchmarkWebhookServeHTTP(b *testing.B) {
	groups := []podwebhook.Group{}
	for _, app := range []string{"web", "api", "db", "cache", "queue"} {
		groups = append(groups, podwebhook.Group{Name: app, Selector: map[string]string{"app": app}})
	}
	hook := &admission.Webhook{Handler: &podwebhook.Handler{
		Groups: podwebhook.GroupListerFunc(func(context.Context, string, map[string]string) ([]podwebhook.Group, error) { return groups, nil }),
	}}
	pod, err := json.Marshal(newPod("bench", map[string]string{"app": "web"}))
	if err != nil {
		b.Fatal(err)
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
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodPost, "/mutate-v1-pod", bytes.NewReader(review))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		hook.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"patch"`)) {
			b.Fatalf("answer %d: %s", rec.Code, rec.Body.String())
		}
	}
}
