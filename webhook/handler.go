package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Handler is the admission.Handler for pod CREATE. It looks up the groups of
// the pod's namespace, calls Mutate and answers with a JSON patch. It never
// denies: a request it cannot handle (undecodable pod, failed lookup, even a
// panic) admits the pod unchanged with a warning, so lbgate can never stop
// pod creation. Dry-run requests get exactly the same answer; the handler has
// no side effects of its own.
type Handler struct {
	// Groups looks up the BackendGroups; required.
	Groups GroupLister
	// Options are passed to Mutate.
	Options Options
	// IgnoreNamespaces are never mutated nor looked up (defence in depth
	// behind the webhook configuration's namespace selector).
	IgnoreNamespaces []string
	// Observe, when set, is told the outcome of every request, for logs and
	// metrics. It runs on the request path: keep it fast. Outcomes of dry-run
	// requests are marked; record nothing durable for them.
	Observe func(context.Context, Outcome)
}

var _ admission.Handler = (*Handler)(nil)

// Outcome is what Handler did with one request.
type Outcome struct {
	// Namespace and Name identify the pod (Name is the generateName prefix
	// followed by "*" when the name is not chosen yet).
	Namespace, Name string
	// DryRun is true for dry-run requests.
	DryRun bool
	// Result is Mutate's report; its Skipped may also be a Handler-level reason.
	Result Result
	// Patch is the number of JSON patch operations returned.
	Patch int
	// Err is why the pod was admitted unchanged despite the webhook, or nil.
	Err error
}

// Handle implements admission.Handler.
func (h *Handler) Handle(ctx context.Context, req admission.Request) (resp admission.Response) {
	out := Outcome{Namespace: req.Namespace, Name: req.Name, DryRun: req.DryRun != nil && *req.DryRun}
	defer func() {
		if r := recover(); r != nil {
			out.Err = fmt.Errorf("panic: %v", r)
			resp = admitWithWarning(fmt.Sprintf("lbgate webhook failed (%s); pod admitted without readiness gates", shorten(fmt.Sprint(r))))
		}
		if h.Observe != nil {
			h.Observe(ctx, out)
		}
	}()

	if !isPodCreate(req) {
		out.Result.Skipped = SkipNotPodCreate
		return admission.Allowed("lbgate: not a pod creation")
	}
	if slices.Contains(h.IgnoreNamespaces, req.Namespace) {
		out.Result.Skipped = SkipIgnoredNamespace
		return admission.Allowed("lbgate: namespace ignored")
	}

	pod := &corev1.Pod{}
	if err := json.Unmarshal(req.Object.Raw, pod); err != nil {
		out.Err = fmt.Errorf("decode pod: %w", err)
		return admitWithWarning("lbgate could not decode the pod; admitted without readiness gates")
	}
	if out.Name == "" {
		out.Name = podName(pod)
	}
	namespace := req.Namespace
	if namespace == "" {
		namespace = pod.Namespace
	}

	groups, err := h.Groups.GroupsFor(ctx, namespace, pod.Labels)
	if err != nil {
		out.Err = fmt.Errorf("look up BackendGroups in namespace %q: %w", namespace, err)
		return admitWithWarning(fmt.Sprintf("lbgate could not look up BackendGroups (%s); pod admitted without readiness gates", shorten(err.Error())))
	}

	original := pod.DeepCopy()
	out.Result = Mutate(pod, groups, h.Options)
	if !out.Result.Changed() {
		return admission.Allowed("")
	}
	resp, err = patchResponse(original, pod)
	if err != nil {
		out.Err = err
		return admitWithWarning("lbgate could not build its patch; pod admitted without readiness gates")
	}
	out.Patch = len(resp.Patches)
	return resp
}

// isPodCreate reports whether req creates a pod (not a subresource).
func isPodCreate(req admission.Request) bool {
	return req.Operation == admissionv1.Create && req.Resource.Group == "" &&
		req.Resource.Resource == "pods" && req.SubResource == ""
}

// admitWithWarning admits the object unchanged and tells the client why.
func admitWithWarning(warning string) admission.Response {
	return admission.Allowed("").WithWarnings(warning)
}

func podName(pod *corev1.Pod) string {
	if pod.Name != "" {
		return pod.Name
	}
	return pod.GenerateName + "*"
}

// shorten keeps warnings short: the apiserver shows them to users as they are.
func shorten(s string) string {
	const maxLen = 120
	if r := []rune(s); len(r) > maxLen {
		return string(r[:maxLen-1]) + "…"
	}
	return s
}
