// Package haproxy is the lbgate provider for a real HAProxy (2.6, Debian's
// package), driven over its Runtime API (`stats socket ... level admin`).
//
// A target id is an HAProxy backend name; the backend must exist in
// haproxy.cfg. HAProxy's own health checks decide health.
//
// # Slots
//
// The provider never deletes a server: `del server` can crash HAProxy 2.6
// (segfault) when it runs shortly after the server's application stopped
// under traffic. Instead each backend has a pool of server slots named
// <prefix><n> (default prefix "lbgate-"). A slot holds one pod address or is
// free; the pool grows with `add server` when no slot is free, and a slot
// is reused by re-addressing it (`set server B/S addr IP port P`).
// Slots may also come from the configuration
// (`server-template lbgate- 1-N 127.0.0.1:1 disabled check`), which is the
// only way to give backends with a static balance algorithm (static-rr,
// map-based hashing) a pool, since HAProxy refuses `add server` there.
// Such a backend also takes only weight 0 or the slot's configured weight,
// so there a backend's weight is all (any weight above 0) or nothing; give
// the template a weight above 0, or its slots never take traffic.
//
// # State lives in HAProxy
//
// The provider remembers nothing: a slot's address and port say which pod it
// holds, and its flags say where it is:
//
//	maintenance                    free
//	drain, checks on               registering: checked, no new traffic
//	ready                          registered: takes traffic when up
//	drain, checks off              draining (Drain, or Deregister waiting for sessions)
//
// Register puts a pod into a free slot with: addr, weight, `state drain`
// with checks off, `health down`, `enable health`. Drain keeps traffic away
// while HAProxy checks the new address. `health down` is needed because a
// slot leaving maintenance is counted up at once, with the check result of
// its previous address (a reused slot says L7OK for a pod it never
// checked); forced down, it needs rise passing checks on the new address to
// be up again. Checks go on only after `health down`, and the slot leaves
// maintenance with checks off (HAProxy would count it up and keep the old
// result): so every prefix of the pipeline, left behind when the
// connection, a deadline or a reload cuts it, is safe. Once HAProxy reports
// the slot up with a passed check (L4OK/L7OK, never INI), the next List or
// Register sets it `state ready` and reports it Healthy.
//
// A slot whose checks are paused (it entered maintenance with checks on: a
// configured slot at start, or one restored from a server-state-file) runs
// checks again only when it leaves maintenance with checks on, and is then
// up at once. Register first moves such a slot to the parking address
// 127.0.0.1:1 with weight 0, lets it leave maintenance, turns its checks
// off and forces it down, and only then gives it the pod. A slot at the
// parking address holds no pod, whatever its state.
//
// Register with Recheck (the address now belongs to another pod) sends
// `health down` first, so the slot takes no traffic from that moment, then
// turns checks on and moves an active slot back to drain: it is promoted
// again only after passing the check anew.
//
// Drain sets `state drain` and `disable health`. Deregister does the same,
// then parks the slot in maintenance as soon as HAProxy counts no session on
// it (scur 0); until then the slot stays draining and listed as Draining,
// and a later Deregister parks it.
//
// Deregister leaves a slot that still counts sessions draining; the
// caller comes back, and once its deregistration delay is over calls
// ForceDeregister, which parks the slot and shuts its sessions down, so no
// slot stays draining for good.
//
// # Restarts and reloads
//
// After an HAProxy restart or reload, runtime-added slots are gone and
// template slots are back in maintenance, so List returns nothing for the
// target and the caller registers again. WatchStateLoss
// (providers.StateLossWatcher) tells the caller at once: one `show info` +
// `show backend` round trip per Options.WatchInterval (1 s) for the whole
// provider, every 100 ms while HAProxy does not answer; a new process id, an
// uptime that went back, or an answer after none report every backend.
//
// # Declared slots and reloads that lose nothing
//
// Slots declared in haproxy.cfg (names <prefix><n>, no settings suffix) are
// used on any backend before the provider adds slots of its own. With
//
//	global
//	    stats socket /run/haproxy/admin.sock level admin expose-fd listeners
//	    server-state-file /var/lib/haproxy/server-state
//	defaults
//	    load-server-state-from-file global
//	backend web
//	    server-template lbgate- 1-50 lbgate-slot.invalid:1 disabled check init-addr last,127.0.0.1
//
// and `show servers state` saved into the state file just before a reload
// (`haproxy -x <socket> -sf <pid>`), every declared slot comes back with its
// address, weight and state. HAProxy 2.6 restores a server's address from
// the state file only for a server configured by name (hence the host name
// with `init-addr last,127.0.0.1`); 127.0.0.1:1 is the parking address,
// which the provider reads as "no pod". Declared slots keep the check
// settings and slowstart of the configuration (default-server,
// server-template), not the target's.
//
// # Health
//
// A registered slot's health is HAProxy's: Healthy once up after a passed
// check, Unhealthy when down after a failed one (Reason is HAProxy's words,
// such as "L7STS/500 (DOWN)"), Initial while no check has decided, Draining
// for drained slots or soft-stopping servers, Unused when someone turned the
// slot's checks off.
//
// # Health-check settings and slow start
//
// HAProxy 2.6 takes a server's check interval, rise, fall and slowstart
// only at `add server` (no Runtime API command changes them; `set server`
// can change only the check's address, port and agent). The provider
// therefore writes them into slots it adds and into their names
// (<prefix><n>-i<ms>r<rise>f<fall>[s<ms>], s being the slowstart), with
// fastinter and downinter of a quarter of the interval (a down or rising
// slot is checked four times as often, so a re-registered pod serves again
// after about interval/4 × rise, not interval × rise), and reuses a free
// slot for a target only when the settings match, unless the backend
// cannot grow. slowstart starts its ramp when HAProxy counts the slot up,
// which is while it is still in drain: the slot takes traffic from the
// next List or Register on, so the ramp it sees is shorter by that delay.
//
// The check protocol and path (`option httpchk`, `tcp-check`) and `timeout
// check` are per backend in haproxy.cfg, and the Runtime API reports none
// of them. Declared slots keep the check settings and slowstart of the
// configuration; `show stat` reports their rise and fall (check_rise,
// check_fall) while their checks run, never their interval or slowstart.
// Limits says all this per backend (providers.Capabilities, see
// capabilities.go), so the caller refuses a group asking for what the
// backend does not take instead of registering it without.
//
// # Batches
//
// Register, Drain and List are one read and at most one write round trip;
// Deregister reads once more after draining. Each write is one line of
// ';'-separated commands on one connection. Calls on one target are
// serialised inside the process, because the Runtime API has no
// compare-and-set.
package haproxy
