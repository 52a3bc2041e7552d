package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// auditPolicy logs, at Metadata level, the requests of one user only: the
// operator's, so the audit log counts its API requests and nothing else.
func auditPolicy(user string) string {
	return `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
- level: Metadata
  users: ["` + user + `"]
- level: None
`
}

// auditEvent is the part of an audit.k8s.io/v1 Event read here.
type auditEvent struct {
	Verb string `json:"verb"`
	User struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
	} `json:"objectRef"`
	StageTimestamp time.Time `json:"stageTimestamp"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// requests counts one user's API requests by "verb resource[/subresource]".
type requests map[string]int

// countRequests reads an audit log and counts user's requests.
func countRequests(path, user string) (requests, error) {
	r, _, err := readAudit(path, user)
	return r, err
}

// readAudit reads an audit log: user's requests counted, and when each of
// user's successful pod status writes completed, per namespace/name.
func readAudit(path, user string) (requests, map[string][]time.Time, error) {
	writes := map[string][]time.Time{}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = f.Close() }() // read only: nothing is lost
	out := requests{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev auditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, nil, fmt.Errorf("audit log %s: %w", path, err)
		}
		if ev.User.Username != user {
			continue
		}
		res := "(non-resource)"
		if ev.ObjectRef != nil {
			res = ev.ObjectRef.Resource
			if ev.ObjectRef.Subresource != "" {
				res += "/" + ev.ObjectRef.Subresource
			}
		}
		out[ev.Verb+" "+res]++
		if res == "pods/status" && (ev.Verb == "patch" || ev.Verb == "update") && ev.ResponseStatus != nil && ev.ResponseStatus.Code < 300 {
			key := ev.ObjectRef.Namespace + "/" + ev.ObjectRef.Name
			writes[key] = append(writes[key], ev.StageTimestamp)
		}
	}
	return out, writes, sc.Err()
}

// podStatusWrites are the writes to pods' status (patch and update).
func (r requests) podStatusWrites() int {
	return r["patch pods/status"] + r["update pods/status"]
}

// byVerb adds the counts up per verb.
func (r requests) byVerb() map[string]int {
	out := map[string]int{}
	for k, n := range r {
		verb, _, _ := strings.Cut(k, " ")
		out[verb] += n
	}
	return out
}

// String lists the counts, largest first: "patch pods/status 2000, list pods 3, ...".
func (r requests) String() string {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if r[keys[i]] != r[keys[j]] {
			return r[keys[i]] > r[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, r[k])
	}
	return strings.Join(parts, ", ")
}

// verbString renders byVerb: "get 12, list 4, patch 2000, watch 6".
func (r requests) verbString() string {
	v := r.byVerb()
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, v[k])
	}
	return strings.Join(parts, ", ")
}
