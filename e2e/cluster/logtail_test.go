package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLogTail(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.log")
	var b strings.Builder
	for i := range 30 {
		fmt.Fprintf(&b, "line %d\n\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	got := logTail(path, 3)
	if want := []string{"line 27", "line 28", "line 29"}; !slices.Equal(got, want) {
		t.Errorf("logTail = %q, want %q", got, want)
	}

	// A log larger than tailBytes: the first, probably cut, line is dropped.
	long := strings.Repeat("x", tailBytes) + "\nlast\n"
	if err := os.WriteFile(path, []byte(long), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := logTail(path, 5); !slices.Equal(got, []string{"last"}) {
		t.Errorf("logTail of a long log = %q", got)
	}

	empty := filepath.Join(dir, "empty.log")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := logTail(empty, 5); len(got) != 1 || !strings.Contains(got[0], "empty") {
		t.Errorf("logTail of an empty log = %q", got)
	}
	if got := logTail(filepath.Join(dir, "missing.log"), 5); len(got) != 1 || !strings.Contains(got[0], "unreadable") {
		t.Errorf("logTail of a missing log = %q", got)
	}
}
