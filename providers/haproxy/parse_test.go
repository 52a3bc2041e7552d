package haproxy

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// The testdata files are real HAProxy 2.6.12 output, written by
// TestCaptureTestdata (go test -run TestCaptureTestdata -capture).

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseServersState(t *testing.T) {
	states, err := ParseServersState(readTestdata(t, "servers-state-web.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 6 {
		t.Fatalf("got %d servers, want 6: %+v", len(states), states)
	}
	want := []struct {
		name   string
		addr   string
		op     OpState
		maint  bool
		drain  bool
		check  bool
		status CheckStatus
	}{
		{"lbgate-1-i200r2f2", "127.1.0.2", OpRunning, false, false, true, CheckL7OK},
		{"lbgate-2-i200r2f2", "127.1.0.3", OpStopped, false, true, true, CheckL7STS},
		{"lbgate-3-i200r2f2", "127.1.0.4", OpRunning, false, true, false, CheckL7OK},
		{"lbgate-4-i200r2f2", "127.0.0.1", OpStopped, true, false, false, CheckInit},
		{"lbgate-5-i200r2f2", "127.1.0.6", OpStopped, false, true, true, 8 /* L4CON */},
		{"other", "127.1.0.2", OpRunning, false, false, false, CheckInit},
	}
	for i, w := range want {
		s := states[i]
		if s.Backend != "web" || s.Name != w.name || s.Addr != netip.MustParseAddr(w.addr) ||
			s.Op != w.op || s.Admin.Maint() != w.maint || s.Admin.Drain() != w.drain ||
			s.Check.Enabled() != w.check || s.CheckStatus != w.status {
			t.Errorf("server %d: got %+v, want %+v", i, s, w)
		}
		if s.Weight == 0 || s.Port == 0 || s.ID != i+1 {
			t.Errorf("server %d: weight %d port %d id %d", i, s.Weight, s.Port, s.ID)
		}
	}
	if states[4].Port != 9 {
		t.Errorf("lbgate-5 port = %d, want 9", states[4].Port)
	}
}

func TestParseServersStateAllBackends(t *testing.T) {
	states, err := ParseServersState(readTestdata(t, "servers-state-all.txt"))
	if err != nil {
		t.Fatal(err)
	}
	byBackend := map[string]int{}
	for _, s := range states {
		byBackend[s.Backend]++
		if s.Backend == "fixed" {
			// server-template ... disabled: forced and configured maintenance.
			if !s.Admin.Maint() || s.Admin&AdminConfigMaint == 0 || !s.Check.Configured() {
				t.Errorf("template slot %s: admin %#x check %#x", s.Name, s.Admin, s.Check)
			}
		}
	}
	if byBackend["web"] != 6 || byBackend["fixed"] != 2 {
		t.Errorf("servers per backend: %v", byBackend)
	}
}

func TestParseServersStateRejectsUnknownFormat(t *testing.T) {
	for _, in := range []string{
		"",
		"2\n# be_id be_name\n",
		"1\n# be_id be_name srv_name\n1 web a\n",
		"Can't find backend.\n",
	} {
		if _, err := ParseServersState(in); err == nil {
			t.Errorf("ParseServersState(%q): no error", in)
		}
	}
}

func TestParseStat(t *testing.T) {
	rows, err := ParseStat(readTestdata(t, "stat-web.csv"))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]StatRow{}
	for _, r := range rows {
		byName[r.Name] = r
	}
	for name, want := range map[string]struct{ status, check string }{
		"lbgate-1-i200r2f2": {"UP", "L7OK/200"},
		"lbgate-2-i200r2f2": {"DOWN", "L7STS/500"},
		"lbgate-3-i200r2f2": {"DRAIN", ""},
		"lbgate-4-i200r2f2": {"MAINT", ""},
		"lbgate-5-i200r2f2": {"DOWN", "L4CON"},
		"other":             {"no check", ""},
	} {
		r, ok := byName[name]
		if !ok {
			t.Errorf("no row for %s", name)
			continue
		}
		if r.Type != StatServer || r.Proxy != "web" || r.Status != want.status || r.Check() != want.check {
			t.Errorf("%s: got type %d status %q check %q, want %q %q", name, r.Type, r.Status, r.Check(), want.status, want.check)
		}
	}
	if r := byName["lbgate-1-i200r2f2"]; r.CheckRise != 2 || r.CheckFall != 2 || r.Weight != 10 {
		t.Errorf("lbgate-1: rise %d fall %d weight %d", r.CheckRise, r.CheckFall, r.Weight)
	}
	if r := byName["BACKEND"]; r.Type != StatBackend || r.Algo != "roundrobin" {
		t.Errorf("backend row: %+v", r)
	}
}

func TestParseStatAllProxies(t *testing.T) {
	rows, err := ParseStat(readTestdata(t, "stat-all.csv"))
	if err != nil {
		t.Fatal(err)
	}
	types := map[int]int{}
	for _, r := range rows {
		types[r.Type]++
	}
	if types[StatFrontend] < 2 || types[StatBackend] < 2 || types[StatServer] != 8 {
		t.Errorf("rows per type: %v", types)
	}
}

func TestParseStatCheckInProgress(t *testing.T) {
	// Seen on a live HAProxy while a check runs (the capture cannot time it).
	in := "# pxname,svname,scur,stot,status,weight,type,check_status,check_code,check_rise,check_fall,addr,algo,\n" +
		"web,lbgate-1,3,17,DOWN 1/2,10,2,* L7OK,200,2,2,127.0.0.6:8081,,\n"
	rows, err := ParseStat(in)
	if err != nil {
		t.Fatal(err)
	}
	r := rows[0]
	if !r.CheckRunning || r.CheckStatus != "L7OK" || r.Status != "DOWN 1/2" || r.Sessions != 3 || r.TotalSessions != 17 {
		t.Errorf("got %+v", r)
	}
}
