package loadgen

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Identity says which backend answered a request, as read from the response
// body by a BodyParser.
type Identity struct {
	// Pod is the name of the pod that served the request.
	Pod string
	// Version is the application version the pod reported.
	Version string
}

// String renders the identity as "pod/version", with "?" for unknown parts.
func (id Identity) String() string {
	pod, version := id.Pod, id.Version
	if pod == "" {
		pod = "?"
	}
	if version == "" {
		version = "?"
	}
	return pod + "/" + version
}

// BodyParser extracts the serving backend's identity from a successful
// response body (at most Options.MaxBodyBytes of it). It must be safe for
// concurrent use.
type BodyParser func(body []byte) Identity

// ParseBody is the default BodyParser. It understands, in this order:
//
//   - a JSON object with "pod" (or "podName", "name", "hostname") and
//     "version" string fields: {"pod":"web-7d4f-abcde","version":"v2"};
//   - key=value or key: value tokens separated by spaces, commas, semicolons
//     or newlines, with the same keys: "pod=web-7d4f-abcde version=v2";
//   - otherwise the first non-empty line read as "<pod> [<version>]".
//
// An empty body gives the zero Identity.
func ParseBody(body []byte) Identity {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return Identity{}
	}
	if id := parseJSON(body); id != (Identity{}) {
		return id
	}
	if id := parsePairs(body); id != (Identity{}) {
		return id
	}
	return parseFirstLine(body)
}

// parseJSON reads a JSON object's identity keys; the zero Identity when body
// is not such an object.
func parseJSON(body []byte) Identity {
	var id Identity
	if body[0] != '{' {
		return id
	}
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return id
	}
	// Keys in order of preference, so the result does not depend on map
	// order when a body has, say, both "pod" and "name".
	for _, k := range []string{"pod", "podName", "pod_name", "name", "hostname", "version"} {
		if s, ok := m[k].(string); ok {
			assign(&id, k, s)
		}
	}
	return id
}

// parsePairs reads "key=value" and "key: value" pairs separated by spaces,
// commas, semicolons or newlines.
func parsePairs(body []byte) Identity {
	var id Identity
	tokens := strings.FieldsFunc(string(body), func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ',' || r == ';'
	})
	for i := 0; i < len(tokens); i++ {
		tok := tokens[i]
		if k, v, ok := strings.Cut(tok, "="); ok {
			assign(&id, k, v)
			continue
		}
		// "key: value" spans two tokens.
		if k, ok := strings.CutSuffix(tok, ":"); ok && i+1 < len(tokens) {
			if assign(&id, k, tokens[i+1]) {
				i++
			}
		}
	}
	return id
}

// parseFirstLine reads the first line as "<pod> [<version>]".
func parseFirstLine(body []byte) Identity {
	line, _, _ := strings.Cut(string(body), "\n")
	fields := strings.Fields(line)
	switch {
	case len(fields) == 1:
		return Identity{Pod: fields[0]}
	case len(fields) >= 2:
		return Identity{Pod: fields[0], Version: fields[1]}
	}
	return Identity{}
}

// assign sets the identity field that key names and reports whether key was
// one of the known names.
func assign(id *Identity, key, value string) bool {
	value = strings.Trim(value, `"'`)
	switch strings.ToLower(key) {
	case "pod", "podname", "pod_name", "name", "hostname":
		if id.Pod == "" {
			id.Pod = value
		}
		return true
	case "version":
		if id.Version == "" {
			id.Version = value
		}
		return true
	}
	return false
}
