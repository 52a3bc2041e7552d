package webhook

import (
	"context"
	"reflect"
	"testing"
	"time"

	jsonpatch "gomodules.xyz/jsonpatch/v2"

	"github.com/lbgate/lbgate/internal/testbuild"
)

func TestObjectPrefix(t *testing.T) {
	tests := map[string]string{
		"/spec/readinessGates":           "/spec/readinessGates",
		"/spec/readinessGates/3":         "/spec/readinessGates",
		"/spec/containers/0/lifecycle":   "/spec/containers",
		"/spec/containers/12/lifecycle":  "/spec/containers",
		"/metadata/labels/app":           "/metadata/labels/app",
		"/metadata/annotations/x~1y":     "/metadata/annotations/x~1y",
		"/spec/containers/0/ports/1/foo": "/spec/containers",
		"":                               "",
	}
	for path, want := range tests {
		if got := objectPrefix(path); got != want {
			t.Errorf("objectPrefix(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestSortPatchKeepsArrayOrder(t *testing.T) {
	op := func(path string) jsonpatch.JsonPatchOperation {
		return jsonpatch.JsonPatchOperation{Operation: "add", Path: path}
	}
	ops := []jsonpatch.JsonPatchOperation{
		op("/spec/readinessGates/1"), op("/spec/readinessGates/2"),
		op("/spec/containers/1/lifecycle"), op("/spec/containers/0/lifecycle/preStop"),
		op("/metadata/labels/a"),
	}
	sortPatch(ops)
	want := []string{"/metadata/labels/a", "/spec/containers/1/lifecycle", "/spec/containers/0/lifecycle/preStop",
		"/spec/readinessGates/1", "/spec/readinessGates/2"}
	for i, o := range ops {
		if o.Path != want[i] {
			t.Fatalf("order %v, want %v", ops, want)
		}
	}
}

func TestHandlerPatchIsDeterministic(t *testing.T) {
	lister := &fakeLister{groups: map[string][]Group{"shop": {webGroup, withDelay(apiGroup, 8*time.Second)}}}
	h, _ := newHandler(lister)
	raw := mustJSON(t, newPod(testbuild.ReadinessGates("example.com/warm")))
	first := h.Handle(context.Background(), createRequest("shop", raw)).Patches
	if len(first) < 2 {
		t.Fatalf("want several operations, got %v", first)
	}
	for range 50 {
		if got := h.Handle(context.Background(), createRequest("shop", raw)).Patches; !reflect.DeepEqual(got, first) {
			t.Fatalf("patch changed between calls:\n%v\n%v", first, got)
		}
	}
}
