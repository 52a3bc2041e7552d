package cluster

import (
	"fmt"
	"strings"
)

// flag is one command-line flag; a bare flag renders as "--name" (booleans).
type flag struct {
	name, value string
	bare        bool
}

// mergeFlags renders defaults followed by extra. An extra flag whose name the
// defaults also hold replaces the default's value in place; further extras of
// the same name (stringArray flags) are appended.
func mergeFlags(defaults []flag, extra []string) ([]string, error) {
	out := append([]flag(nil), defaults...)
	replaced := map[string]bool{}
	for _, raw := range extra {
		f, err := parseFlag(raw)
		if err != nil {
			return nil, err
		}
		idx := -1
		if !replaced[f.name] {
			for i := range out {
				if out[i].name == f.name {
					idx = i
					break
				}
			}
		}
		replaced[f.name] = true
		if idx >= 0 {
			out[idx] = f
			continue
		}
		out = append(out, f)
	}
	args := make([]string, 0, len(out))
	for _, f := range out {
		if f.bare {
			args = append(args, "--"+f.name)
			continue
		}
		args = append(args, "--"+f.name+"="+f.value)
	}
	return args, nil
}

// parseFlag parses "--name=value" or "--name".
func parseFlag(raw string) (flag, error) {
	if !strings.HasPrefix(raw, "--") || len(raw) < 3 {
		return flag{}, fmt.Errorf("extra flag %q: want --name=value or --name", raw)
	}
	name, value, found := strings.Cut(raw[2:], "=")
	if name == "" {
		return flag{}, fmt.Errorf("extra flag %q: empty name", raw)
	}
	return flag{name: name, value: value, bare: !found}, nil
}
