package stack

import (
	"slices"
	"sync"
)

// declared are the HAProxy backends scenario files ask for with
// DeclareBackends; Start creates them with those of Options.Backends.
var declared struct {
	sync.Mutex
	names []string
}

// DeclareBackends makes every stack started afterwards create these HAProxy
// backends too, for a scenario file that binds backends of its own without
// touching the suite's list: call it at package initialisation, as in
// `var _ = stack.DeclareBackends("be_x")`. It returns the names.
func DeclareBackends(names ...string) []string {
	declared.Lock()
	defer declared.Unlock()
	for _, n := range names {
		if !slices.Contains(declared.names, n) {
			declared.names = append(declared.names, n)
		}
	}
	return names
}

// withDeclared returns backends followed by the declared ones it lacks.
func withDeclared(backends []string) []string {
	declared.Lock()
	defer declared.Unlock()
	out := slices.Clone(backends)
	for _, n := range declared.names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
