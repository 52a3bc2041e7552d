package haproxy

import "time"

// CutPipelines makes p send only the prefix of every write pipeline that cut
// returns, as if the connection, the deadline or a reload had cut it there.
func CutPipelines(p *Provider, cut func(cmds []string) []string) { p.cut = cut }

// Replaced exposes replaced for table tests: pid and uptime (seconds) of two readings.
func Replaced(prevPid, prevUptime, pid, uptime int, first bool) bool {
	cur := process{Pid: pid, Uptime: time.Duration(uptime) * time.Second}
	if first {
		return replaced(nil, cur)
	}
	prev := process{Pid: prevPid, Uptime: time.Duration(prevUptime) * time.Second}
	return replaced(&prev, cur)
}
