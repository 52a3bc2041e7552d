package cluster

import (
	"slices"
	"testing"
)

func TestMergeFlags(t *testing.T) {
	defaults := []flag{{name: "a", value: "1"}, {name: "b", value: "2"}, {name: "c", value: "x,y"}}
	got, err := mergeFlags(defaults, []string{"--b=20", "--d", "--e=", "--c=z", "--c=w"})
	if err != nil {
		t.Fatal(err)
	}
	// --b replaced in place, --c replaced then appended (stringArray flags),
	// --d bare (boolean), --e kept with its explicit empty value.
	want := []string{"--a=1", "--b=20", "--c=z", "--d", "--e=", "--c=w"}
	if !slices.Equal(got, want) {
		t.Errorf("mergeFlags = %q, want %q", got, want)
	}
	for _, bad := range []string{"-v=2", "--", "--=x", "v"} {
		if _, err := mergeFlags(defaults, []string{bad}); err == nil {
			t.Errorf("mergeFlags(%q): no error", bad)
		}
	}
}

func TestControllersFlag(t *testing.T) {
	got := controllersFlag([]string{"node-lifecycle-controller", "-endpoints-controller"})
	want := "*,-endpoints-controller,-endpointslice-controller,-endpointslice-mirroring-controller,-node-lifecycle-controller"
	if got != want {
		t.Errorf("controllersFlag = %q, want %q", got, want)
	}
}
