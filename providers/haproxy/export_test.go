package haproxy

// CutPipelines makes p send only the prefix of every write pipeline that cut
// returns, as if the connection, the deadline or a reload had cut it there.
func CutPipelines(p *Provider, cut func(cmds []string) []string) { p.cut = cut }
