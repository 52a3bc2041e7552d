package haproxy

import (
	"fmt"
	"strings"
)

// Row types of `show stat` (the "type" column).
const (
	StatFrontend = 0
	StatBackend  = 1
	StatServer   = 2
	StatListener = 3
)

// StatRow is one line of `show stat` CSV, reduced to what the provider uses.
type StatRow struct {
	// Proxy is the frontend or backend name (pxname).
	Proxy string
	// Name is the server name, or FRONTEND / BACKEND (svname).
	Name string
	// Type is one of StatFrontend, StatBackend, StatServer, StatListener.
	Type int
	// Status is HAProxy's words for the state: "UP", "DOWN 1/2", "DRAIN", "MAINT", "no check"...
	Status string
	// Weight is the effective weight.
	Weight int
	// Sessions is the number of current sessions (scur).
	Sessions int
	// TotalSessions is the number of sessions so far (stot).
	TotalSessions int
	// CheckStatus is the last check result ("L7OK", "L4CON", "INI"...),
	// empty when checks are disabled.
	CheckStatus string
	// CheckRunning is true while a check is in progress (HAProxy prefixes "* ").
	CheckRunning bool
	// CheckCode is the HTTP status (or agent code) of the last check, if any.
	CheckCode string
	// CheckRise and CheckFall are the server's rise and fall thresholds.
	CheckRise, CheckFall int
	// Addr is "ip:port" for servers.
	Addr string
	// Algo is the load-balancing algorithm for backends.
	Algo string
}

// Check renders the last check as HAProxy's status and code, e.g. "L7STS/500".
func (r StatRow) Check() string {
	if r.CheckCode == "" {
		return r.CheckStatus
	}
	return r.CheckStatus + "/" + r.CheckCode
}

// statColumns are the columns the provider needs.
var statColumns = []string{
	"pxname", "svname", "scur", "stot", "status", "weight", "type",
	"check_status", "check_code", "check_rise", "check_fall", "addr", "algo",
}

// ParseStat parses the CSV output of `show stat`: a "# " header naming the
// columns, then one line per frontend, backend, server and listener. Columns
// are found by name. HAProxy does not quote fields; names cannot hold commas.
func ParseStat(out string) ([]StatRow, error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) < 1 || !strings.HasPrefix(lines[0], "# ") {
		return nil, fmt.Errorf("show stat: want a CSV header, got %q", firstLines(out, 1))
	}
	col := map[string]int{}
	for i, name := range strings.Split(lines[0][2:], ",") {
		if name != "" {
			col[name] = i
		}
	}
	for _, name := range statColumns {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("show stat: no column %q in header", name)
		}
	}
	var rows []StatRow
	for n, line := range lines[1:] {
		if line == "" {
			continue
		}
		p := fieldParser{fields: strings.Split(line, ","), col: col}
		r := StatRow{
			Proxy:         p.str("pxname"),
			Name:          p.str("svname"),
			Type:          p.int("type"),
			Status:        p.str("status"),
			Weight:        p.int("weight"),
			Sessions:      p.int("scur"),
			TotalSessions: p.int("stot"),
			CheckStatus:   p.str("check_status"),
			CheckCode:     p.str("check_code"),
			CheckRise:     p.int("check_rise"),
			CheckFall:     p.int("check_fall"),
			Addr:          p.str("addr"),
			Algo:          p.str("algo"),
		}
		if s, ok := strings.CutPrefix(r.CheckStatus, "* "); ok {
			r.CheckStatus, r.CheckRunning = s, true
		}
		if p.err != nil {
			return nil, fmt.Errorf("show stat line %d: %w: %q", n+2, p.err, line)
		}
		rows = append(rows, r)
	}
	return rows, nil
}
