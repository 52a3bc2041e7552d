package haproxy

import (
	"bufio"
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lbgate/lbgate/providers"
)

// fakeSocket serves one canned answer per connection on a unix socket, after
// reading the request line, and records the request.
func fakeSocket(t *testing.T, answer func(req string) string) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	reqs := make(chan string, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				reqs <- line
				if a := answer(line); a != "" {
					_, _ = c.Write([]byte(a))
				} else {
					// Never answer; wait for the client to give up.
					_, _ = c.Read(make([]byte, 1))
				}
			}()
		}
	}()
	return "unix://" + path, reqs
}

func TestNewClientAddresses(t *testing.T) {
	for _, c := range []struct {
		in, network, address string
	}{
		{"unix:///run/haproxy/admin.sock", "unix", "/run/haproxy/admin.sock"},
		{"tcp://127.0.0.1:9999", "tcp", "127.0.0.1:9999"},
		{"tcp://[::1]:9999", "tcp", "[::1]:9999"},
	} {
		cl, err := NewClient(c.in, 0)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if cl.network != c.network || cl.address != c.address || cl.String() != c.in || cl.timeout != DefaultTimeout {
			t.Errorf("%s: got %s %s %s", c.in, cl.network, cl.address, cl.timeout)
		}
	}
	for _, bad := range []string{"", "/run/haproxy.sock", "http://x:1", "tcp://127.0.0.1", "unix://", "tcp://:"} {
		if _, err := NewClient(bad, 0); err == nil && bad != "tcp://:" {
			t.Errorf("NewClient(%q): no error", bad)
		}
	}
}

func TestRunPipelinesOneLineAndSplitsAnswers(t *testing.T) {
	captured := readTestdata(t, "pipeline-errors.txt")
	addr, reqs := fakeSocket(t, func(string) string { return captured })
	c, err := NewClient(addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cmds := pipelineErrorCommands
	reply, err := c.Run(context.Background(), cmds...)
	if err != nil {
		t.Fatal(err)
	}
	if req := <-reqs; req != pipeline(cmds) || !strings.HasPrefix(req, "set severity-output number;show cli level;set server web/nope") {
		t.Errorf("request line %q", req)
	}
	if reply.Level != "admin" {
		t.Errorf("level %q", reply.Level)
	}
	want := []struct {
		sev  int
		text string
	}{
		{3, "No such server."},
		{3, "No such backend."},
		{3, "Can't find backend."},
		{3, "No such proxy."},
		// HAProxy 2.6 ends this one without the usual blank line.
		{3, "Backend must use a dynamic load balancing to support dynamic servers."},
		{-1, ""},
		{3, "'server' expects <name> and <addr>[:<port>] as arguments."},
		{-1, ""},
	}
	for i, w := range want {
		r := reply.Responses[i]
		if r.Command != cmds[i] || r.Severity != w.sev || r.Text != w.text {
			t.Errorf("answer %d: %+v, want %+v", i, r, w)
		}
		if (r.Err() != nil) != (w.sev == 3) {
			t.Errorf("answer %d: Err() = %v", i, r.Err())
		}
	}
	last := reply.Responses[len(cmds)-1]
	if _, err := ParseServersState(last.Text); err != nil || last.Severity != -1 {
		t.Errorf("table answer: %v %+v", err, last)
	}
	var ce *CommandError
	if err := reply.Err(); !errors.As(err, &ce) || ce.Message != "No such server." {
		t.Errorf("Reply.Err() = %v", err)
	}
}

func TestRunTypedTransportErrors(t *testing.T) {
	t.Run("no socket", func(t *testing.T) {
		c, _ := NewClient("unix://"+filepath.Join(t.TempDir(), "missing.sock"), time.Second)
		_, err := c.Run(context.Background(), "show info")
		if !providers.IsUnavailable(err) {
			t.Fatalf("got %v, want UnavailableError", err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		c, _ := NewClient("tcp://"+addr, time.Second)
		_, err = c.Run(context.Background(), "show info")
		if !providers.IsUnavailable(err) || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("got %v, want UnavailableError saying refused", err)
		}
	})
	t.Run("no answer times out", func(t *testing.T) {
		addr, _ := fakeSocket(t, func(string) string { return "" })
		c, _ := NewClient(addr, 200*time.Millisecond)
		start := time.Now()
		_, err := c.Run(context.Background(), "show info")
		if !providers.IsUnavailable(err) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want UnavailableError wrapping DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %s", d)
		}
	})
	t.Run("context deadline wins", func(t *testing.T) {
		addr, _ := fakeSocket(t, func(string) string { return "" })
		c, _ := NewClient(addr, time.Minute)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, err := c.Run(ctx, "show info"); !providers.IsUnavailable(err) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("truncated answer", func(t *testing.T) {
		addr, _ := fakeSocket(t, func(string) string { return "\n[6]: admin\n\n\n[6]: admin\n\n1\n# be_id" })
		c, _ := NewClient(addr, time.Second)
		_, err := c.Run(context.Background(), "set server a/b weight 1", "show servers state web")
		if !providers.IsUnavailable(err) || !strings.Contains(err.Error(), "1 answers to 2 commands") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestRunRejectsCommandsThatBreakFraming(t *testing.T) {
	c, _ := NewClient("unix:///nonexistent", time.Second)
	for _, cmd := range []string{"", "show info;show stat", "show info\nshow stat", strings.Repeat("x", maxCommandLen+1)} {
		if _, err := c.Run(context.Background(), cmd); err == nil || providers.IsUnavailable(err) {
			t.Errorf("Run(%q): %v, want a validation error", cmd, err)
		}
	}
}

func TestSplitAnswers(t *testing.T) {
	level, got := splitAnswers("\n[6]: user\n\n[3]: x\n\n[6]: user\n\n\n[6]: user\n\n[3]: quirk\n[6]: user\n\n1\n# h\nrow\n\n[6]: user\n\n")
	want := []string{"[3]: x", "", "[3]: quirk", "1\n# h\nrow"}
	if level != "user" || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q %q, want %q", level, got, want)
	}
}
