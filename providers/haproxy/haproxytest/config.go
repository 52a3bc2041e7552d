package haproxytest

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Config describes the HAProxy a test starts. Every backend gets its own
// frontend on a free 127.0.0.1 port.
type Config struct {
	// Backends are backends with a dynamic balance algorithm (roundrobin), an
	// HTTP check of CheckPath, and no servers: the provider adds them.
	Backends []string
	// StaticBackends maps a backend name to a number of slots: a static-rr
	// backend (HAProxy cannot add servers to it) with
	// `server-template <SlotPrefix> 1-N 127.0.0.1:1 disabled check`.
	StaticBackends map[string]int
	// SlotPrefix names the server-template slots (default "lbgate-").
	SlotPrefix string
	// CheckPath is the HTTP check path (default "/healthz").
	CheckPath string
	// CheckInterval is the default-server check interval (default 200ms).
	// Like Rise and Fall, it applies to configured slots only: servers
	// added at run time do not inherit default-server settings.
	CheckInterval time.Duration
	// Rise is the default-server rise (default 2).
	Rise int
	// Fall is the default-server fall (default 2).
	Fall int
	// UserSocket adds a second Runtime API socket at level user.
	UserSocket bool
	// TCPSocket adds a Runtime API on a free 127.0.0.1 TCP port at level admin.
	TCPSocket bool
	// DeclaredSlots maps a dynamic (roundrobin) backend to a number of slots
	// declared in the configuration, in the reload-safe form the provider's
	// documentation gives: `server-template <SlotPrefix> 1-N
	// lbgate-slot.invalid:1 disabled check init-addr last,127.0.0.1`. The
	// provider uses them before it adds slots of its own.
	DeclaredSlots map[string]int
	// ServerState keeps servers across a reload: `server-state-file` in
	// global, `load-server-state-from-file global` in defaults, and the
	// admin socket hands its listeners over (`expose-fd listeners`), so
	// ReloadGracefully(true) loses neither servers nor connections.
	ServerState bool
	// TLS adds an admin Runtime API over TLS with client certificates on
	// a free 127.0.0.1 port (HAProxy.TLSRuntimeAPI).
	TLS *TLSRuntimeAPI
}

func (c *Config) defaults() {
	if c.SlotPrefix == "" {
		c.SlotPrefix = "lbgate-"
	}
	if c.CheckPath == "" {
		c.CheckPath = "/healthz"
	}
	if c.CheckInterval == 0 {
		c.CheckInterval = 200 * time.Millisecond
	}
	if c.Rise == 0 {
		c.Rise = 2
	}
	if c.Fall == 0 {
		c.Fall = 2
	}
}

// serverStateFile is the name of the state file in the HAProxy's directory.
const serverStateFile = "server-state"

// render writes haproxy.cfg for the given sockets and frontend ports.
func (c *Config) render(dir string, tcpPort, tlsPort int, frontends map[string]int) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	c.renderGlobal(p, dir, tcpPort, tlsPort)
	c.renderDefaults(p)
	if c.TLS != nil && !c.TLS.OnStatsSocket {
		p("listen runtime_api")
		p("    mode tcp")
		p("    bind 127.0.0.1:%d ssl crt %s ca-file %s verify required", tlsPort, c.TLS.ServerPEM, c.TLS.CAFile)
		p("    server admin unix@%s/admin.sock", dir)
		p("")
	}
	names := append([]string(nil), c.Backends...)
	for name := range c.StaticBackends {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c.renderBackend(p, name, frontends[name])
	}
	return b.String()
}

// printf writes one line of the configuration.
type printf func(format string, args ...any)

// renderGlobal writes the global section: the Runtime API sockets and the log.
func (c *Config) renderGlobal(p printf, dir string, tcpPort, tlsPort int) {
	p("global")
	p("    maxconn 4096")
	if c.ServerState {
		p("    stats socket %s/admin.sock level admin mode 600 expose-fd listeners", dir)
		p("    server-state-file %s/%s", dir, serverStateFile)
	} else {
		p("    stats socket %s/admin.sock level admin mode 600", dir)
	}
	if c.UserSocket {
		p("    stats socket %s/user.sock level user mode 600", dir)
	}
	if c.TCPSocket {
		p("    stats socket ipv4@127.0.0.1:%d level admin", tcpPort)
	}
	if c.TLS != nil && c.TLS.OnStatsSocket {
		p("    stats socket ipv4@127.0.0.1:%d level admin ssl crt %s ca-file %s verify required", tlsPort, c.TLS.ServerPEM, c.TLS.CAFile)
	}
	p("    stats timeout 30s")
	p("    log stderr format raw local0 info")
	p("")
}

// renderDefaults writes the defaults section.
func (c *Config) renderDefaults(p printf) {
	p("defaults")
	p("    mode http")
	p("    log global")
	p("    option dontlog-normal")
	p("    timeout connect 1s")
	p("    timeout client 10s")
	p("    timeout server 10s")
	p("    timeout check 1s")
	if c.ServerState {
		p("    load-server-state-from-file global")
	}
	p("")
}

// renderBackend writes backend name and the frontend on port that feeds it.
func (c *Config) renderBackend(p printf, name string, port int) {
	p("frontend fe_%s", name)
	p("    bind 127.0.0.1:%d", port)
	p("    default_backend %s", name)
	p("")
	p("backend %s", name)
	slots, static := c.StaticBackends[name]
	if static {
		p("    balance static-rr")
	} else {
		p("    balance roundrobin")
	}
	p("    option httpchk GET %s", c.CheckPath)
	p("    default-server inter %dms rise %d fall %d", c.CheckInterval.Milliseconds(), c.Rise, c.Fall)
	if static && slots > 0 {
		p("    server-template %s 1-%d 127.0.0.1:1 disabled check", c.SlotPrefix, slots)
	}
	if n := c.DeclaredSlots[name]; n > 0 && !static {
		p("    server-template %s 1-%d lbgate-slot.invalid:1 disabled check init-addr last,127.0.0.1", c.SlotPrefix, n)
	}
	p("")
}
