package haproxy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// OpState is a server's operational state as `show servers state` reports it
// (srv_op_state).
type OpState int

// Operational states of a server (HAProxy's enum srv_state).
const (
	// OpStopped means the server is down: checks failed or it is in maintenance.
	OpStopped OpState = 0
	// OpStarting means the server is up and warming up (slowstart).
	OpStarting OpState = 1
	// OpRunning means the server is up.
	OpRunning OpState = 2
	// OpStopping means the server is up but soft-stopping (health "stopping", 404 with disable-on-404).
	OpStopping OpState = 3
)

// String names the state the way HAProxy's documentation does.
func (s OpState) String() string {
	switch s {
	case OpStopped:
		return "stopped"
	case OpStarting:
		return "starting"
	case OpRunning:
		return "running"
	case OpStopping:
		return "stopping"
	}
	return "op-" + strconv.Itoa(int(s))
}

// Up reports whether HAProxy considers the server up.
func (s OpState) Up() bool { return s == OpStarting || s == OpRunning }

// AdminState is a server's administrative flags (srv_admin_state).
type AdminState uint

// Administrative flags of a server (HAProxy's enum srv_admin).
const (
	// AdminForcedMaint is "set server ... state maint" (or "disable server").
	AdminForcedMaint AdminState = 0x01
	// AdminInheritedMaint is maintenance inherited from a tracked server.
	AdminInheritedMaint AdminState = 0x02
	// AdminConfigMaint records the "disabled" keyword of the configuration; on
	// its own it does not keep the server in maintenance.
	AdminConfigMaint AdminState = 0x04
	// AdminForcedDrain is "set server ... state drain".
	AdminForcedDrain AdminState = 0x08
	// AdminInheritedDrain is drain inherited from a tracked server.
	AdminInheritedDrain AdminState = 0x10
	// AdminResolutionMaint is maintenance because the address did not resolve.
	AdminResolutionMaint AdminState = 0x20
)

// Maint reports whether the server is in maintenance (no traffic, no checks).
func (a AdminState) Maint() bool {
	return a&(AdminForcedMaint|AdminInheritedMaint|AdminResolutionMaint) != 0
}

// Drain reports whether the server is draining (no new traffic, checks go on).
func (a AdminState) Drain() bool { return a&(AdminForcedDrain|AdminInheritedDrain) != 0 }

// CheckState is a server's health-check flags (srv_check_state).
type CheckState uint

// Health-check flags (HAProxy's CHK_ST_*).
const (
	// CheckInProgress means a check is running right now.
	CheckInProgress CheckState = 0x01
	// CheckConfigured means the server has the "check" keyword.
	CheckConfigured CheckState = 0x02
	// CheckEnabled means checks are enabled ("enable health").
	CheckEnabled CheckState = 0x04
	// CheckPaused means checks are paused because the server is in maintenance.
	CheckPaused CheckState = 0x08
)

// Enabled reports whether HAProxy runs (or, in maintenance, would run) checks.
func (c CheckState) Enabled() bool { return c&CheckEnabled != 0 }

// Configured reports whether the server was created with the "check" keyword.
func (c CheckState) Configured() bool { return c&CheckConfigured != 0 }

// CheckStatus is the result code of a server's last health check (srv_check_status).
type CheckStatus int

// Check results (HAProxy's enum healthcheck_status) the provider tells apart.
const (
	CheckUnknown CheckStatus = 0  // no check has ever been configured
	CheckInit    CheckStatus = 1  // INI: no check has completed yet
	CheckStart   CheckStatus = 2  // a check started
	CheckL4OK    CheckStatus = 6  // L4OK: TCP connect passed
	CheckL6OK    CheckStatus = 9  // L6OK: SSL handshake passed
	CheckL7OK    CheckStatus = 15 // L7OK: HTTP check passed
	CheckL7OKC   CheckStatus = 16 // L7OKC: HTTP check passed conditionally (404 with disable-on-404)
	CheckL7STS   CheckStatus = 17 // L7STS: HTTP check got a bad status
	CheckProcOK  CheckStatus = 20 // PROCOK: external check passed
)

// Passed reports whether the last completed check passed.
func (s CheckStatus) Passed() bool {
	switch s {
	case CheckL4OK, CheckL6OK, CheckL7OK, CheckL7OKC, CheckProcOK:
		return true
	}
	return false
}

// Ran reports whether any check has completed since the server was created.
func (s CheckStatus) Ran() bool { return s > CheckStart }

// ServerState is one server line of `show servers state`.
type ServerState struct {
	// Backend is the backend name.
	Backend string
	// Name is the server name.
	Name string
	// ID is the server's numeric id in its backend.
	ID int
	// Addr is the server address; invalid when HAProxy has none (FQDN not resolved).
	Addr netip.Addr
	// Port is the server port (0 when unset).
	Port uint16
	// Op is the operational state.
	Op OpState
	// Admin is the administrative flags.
	Admin AdminState
	// Weight is the user-set weight.
	Weight int
	// InitialWeight is the weight the server was configured or added with.
	InitialWeight int
	// SinceChange is the time since the last state change (one-second resolution).
	SinceChange time.Duration
	// CheckStatus is the last health-check result.
	CheckStatus CheckStatus
	// CheckHealth is the check counter: up once it reaches rise, down below it.
	CheckHealth int
	// Check is the health-check flags.
	Check CheckState
}

// AddrPort returns the server's address and port.
func (s ServerState) AddrPort() netip.AddrPort { return netip.AddrPortFrom(s.Addr, s.Port) }

// serversStateColumns are the columns the provider needs; HAProxy 1.8 to 3.x
// print them all under these names.
var serversStateColumns = []string{
	"be_name", "srv_id", "srv_name", "srv_addr", "srv_op_state", "srv_admin_state",
	"srv_uweight", "srv_iweight", "srv_time_since_last_change", "srv_check_status",
	"srv_check_health", "srv_check_state", "srv_port",
}

// ParseServersState parses the output of `show servers state [backend]`:
// a format version line ("1"), a "# " header naming the columns, then one
// space-separated line per server. Columns are found by name, so added
// columns in later HAProxy versions do not break it.
func ParseServersState(out string) ([]ServerState, error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) < 2 || strings.TrimSpace(lines[0]) != "1" || !strings.HasPrefix(lines[1], "# ") {
		return nil, fmt.Errorf("show servers state: want format version 1 and a header, got %q", firstLines(out, 2))
	}
	col := map[string]int{}
	for i, name := range strings.Fields(lines[1][2:]) {
		col[name] = i
	}
	for _, name := range serversStateColumns {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("show servers state: no column %q in header %q", name, lines[1])
		}
	}
	var states []ServerState
	for n, line := range lines[2:] {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < len(col) {
			return nil, fmt.Errorf("show servers state line %d: %d fields, header has %d: %q", n+3, len(f), len(col), line)
		}
		p := fieldParser{fields: f, col: col}
		s := ServerState{
			Backend:       p.str("be_name"),
			Name:          p.str("srv_name"),
			ID:            p.int("srv_id"),
			Op:            OpState(p.int("srv_op_state")),
			Admin:         AdminState(p.int("srv_admin_state")),
			Weight:        p.int("srv_uweight"),
			InitialWeight: p.int("srv_iweight"),
			SinceChange:   time.Duration(p.int("srv_time_since_last_change")) * time.Second,
			CheckStatus:   CheckStatus(p.int("srv_check_status")),
			CheckHealth:   p.int("srv_check_health"),
			Check:         CheckState(p.int("srv_check_state")),
			Port:          uint16(p.int("srv_port")),
		}
		if a, err := netip.ParseAddr(p.str("srv_addr")); err == nil {
			s.Addr = a.Unmap()
		}
		if p.err != nil {
			return nil, fmt.Errorf("show servers state line %d: %w: %q", n+3, p.err, line)
		}
		states = append(states, s)
	}
	return states, nil
}

// fieldParser reads named columns of one line and keeps the first error.
type fieldParser struct {
	fields []string
	col    map[string]int
	err    error
}

func (p *fieldParser) str(name string) string {
	i, ok := p.col[name]
	if !ok || i >= len(p.fields) {
		return ""
	}
	return p.fields[i]
}

// int parses a numeric column; an empty value (show stat leaves columns that
// do not apply empty) is zero.
func (p *fieldParser) int(name string) int {
	s := p.str(name)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("column %s: %w", name, err)
	}
	return int(n)
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
