package haproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/lbgate/lbgate/providers"
)

// DefaultTimeout bounds one Runtime API round trip when the caller's context
// has no earlier deadline.
const DefaultTimeout = 5 * time.Second

// maxCommandLen keeps every command well inside HAProxy's CLI line buffer
// (tune.bufsize, 16 kB by default). A pipeline may be far longer: the CLI
// consumes it one ';'-separated command at a time.
const maxCommandLen = 4096

// Client sends commands to one HAProxy Runtime API socket ("stats socket").
// It holds no connection: every Run dials, sends one pipelined line, reads
// every answer and closes, so a restarted HAProxy is picked up by the next call.
type Client struct {
	network string
	address string
	timeout time.Duration
	// tls is set for tls:// addresses.
	tls *tlsLoader
	// log takes the warning about an unauthenticated address, once.
	log      logr.Logger
	warnOnce sync.Once
}

// NewClient returns a client for a Runtime API address, either
// unix:///path/to/admin.sock or tcp://host:port. A zero timeout means
// DefaultTimeout. A tls:// address needs the TLS files: see New and
// Options.TLS.
func NewClient(runtimeAPI string, timeout time.Duration) (*Client, error) {
	return newClient(runtimeAPI, timeout, nil, logr.Discard())
}

// newClient is NewClient with TLS files for a tls://host:port address
// (nil for the other schemes), and a logger for the warning a plain TCP
// address off loopback gets at the first connection.
func newClient(runtimeAPI string, timeout time.Duration, files *TLSFiles, log logr.Logger) (*Client, error) {
	u, err := url.Parse(runtimeAPI)
	if err != nil {
		return nil, fmt.Errorf("haproxy runtime API address %q: %w", runtimeAPI, err)
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c := &Client{timeout: timeout, log: log}
	switch u.Scheme {
	case "unix":
		c.network, c.address = "unix", u.Path
		if c.address == "" {
			c.address = u.Opaque
		}
	case "tcp", "tls":
		c.network, c.address = u.Scheme, u.Host
		if _, _, err := net.SplitHostPort(u.Host); err != nil {
			return nil, fmt.Errorf("haproxy runtime API address %q: want %s://host:port: %w", runtimeAPI, u.Scheme, err)
		}
	default:
		return nil, fmt.Errorf("haproxy runtime API address %q: want unix:///path, tls://host:port or tcp://host:port", runtimeAPI)
	}
	if c.address == "" {
		return nil, fmt.Errorf("haproxy runtime API address %q: empty path", runtimeAPI)
	}
	switch {
	case c.network == "tls" && files == nil:
		return nil, fmt.Errorf("haproxy runtime API address %q: tls:// needs a client certificate, its key and a CA", runtimeAPI)
	case c.network == "tls":
		if c.tls, err = newTLSLoader(*files); err != nil {
			return nil, err
		}
	case files != nil && *files != (TLSFiles{}):
		return nil, fmt.Errorf("haproxy runtime API address %q: TLS files are given but the address is not tls://host:port", runtimeAPI)
	}
	return c, nil
}

// String returns the address in the form NewClient accepts.
func (c *Client) String() string {
	if c.network == "unix" {
		return "unix://" + c.address
	}
	return c.network + "://" + c.address
}

// Response is HAProxy's answer to one command of a pipeline.
type Response struct {
	// Command is the command this answers.
	Command string
	// Severity is the syslog severity HAProxy tagged a message with
	// (3 error, 4 warning, 6 info), or -1 for plain output such as a table.
	Severity int
	// Text is the answer without the severity tag and the blank line that ends it.
	Text string
}

// Err returns a *CommandError when HAProxy reported an error for the command.
func (r Response) Err() error {
	if r.Severity >= 0 && r.Severity <= 3 {
		return &CommandError{Command: r.Command, Message: r.Text}
	}
	return nil
}

// CommandError is an error message HAProxy answered one command with.
type CommandError struct {
	Command string
	Message string
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("haproxy %q: %s", e.Command, e.Message)
}

// Reply is HAProxy's answer to one pipeline.
type Reply struct {
	// Level is the socket's CLI level: "admin", "operator" or "user".
	Level string
	// Responses holds one answer per command, in order.
	Responses []Response
}

// Err returns the first command error of the reply, or nil.
func (r *Reply) Err() error {
	for _, resp := range r.Responses {
		if err := resp.Err(); err != nil {
			return err
		}
	}
	return nil
}

// Run sends cmds on one connection as one line of ';'-separated commands and
// returns one Response per command, in order. HAProxy runs them one after the
// other and keeps going after a failed one, so callers check each Response.
// Transport failures (refused, reset, timeout) are *providers.UnavailableError;
// over tls://, a certificate either side refuses, or an answer without TLS,
// is a *providers.PermissionError.
//
// Each command is followed by `show cli level`, whose one-line answer marks
// where the next answer starts. HAProxy ends most answers with a blank line,
// but not all: 2.6 omits it after some errors (`add server` on a backend with
// a static algorithm), so blank lines alone cannot frame a pipeline.
func (c *Client) Run(ctx context.Context, cmds ...string) (*Reply, error) {
	if len(cmds) == 0 {
		return &Reply{}, nil
	}
	for _, cmd := range cmds {
		if cmd == "" || len(cmd) > maxCommandLen || strings.ContainsAny(cmd, ";\n\r\\") {
			return nil, fmt.Errorf("haproxy: invalid runtime API command %q", cmd)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	conn, err := c.dial(ctx)
	if err != nil {
		return nil, c.unavailable(ctx, "cannot connect", err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	line := pipeline(cmds)
	// Write while reading: a long pipeline produces output before HAProxy has
	// read all of it, and neither side may block the other.
	werr := make(chan error, 1)
	go func() {
		_, err := io.WriteString(conn, line)
		werr <- err
	}()
	out, rerr := io.ReadAll(conn)
	if err := <-werr; err != nil && rerr == nil {
		rerr = err
	}
	if rerr != nil {
		return nil, c.unavailable(ctx, "no complete answer", rerr)
	}
	level, answers := splitAnswers(string(out))
	if len(answers) != len(cmds) {
		return nil, c.unavailable(ctx, fmt.Sprintf("got %d answers to %d commands (HAProxy stopped or closed the connection)", len(answers), len(cmds)), io.ErrUnexpectedEOF)
	}
	reply := &Reply{Level: level, Responses: make([]Response, len(cmds))}
	for i, a := range answers {
		reply.Responses[i] = parseAnswer(cmds[i], a)
	}
	return reply, nil
}

// pipeline renders cmds as one line: severity tags on (so errors are told
// apart from output without knowing each command's wording), then each
// command followed by the marker.
func pipeline(cmds []string) string {
	var line strings.Builder
	line.WriteString("set severity-output number;" + marker)
	for _, cmd := range cmds {
		line.WriteString(";" + cmd + ";" + marker)
	}
	line.WriteString("\n")
	return line.String()
}

// marker is the command that follows every command of a pipeline.
const marker = "show cli level"

// markerLine matches the marker's answer: one tagged line naming the level.
var markerLine = regexp.MustCompile(`^\[6\]: (admin|operator|user)$`)

// splitAnswers cuts a pipelined output at the marker answers. It returns
// the level the first marker reported and the text between consecutive
// markers: one answer per command. A trailing unterminated answer (HAProxy
// stopped mid-way) is dropped, so the caller sees a short count.
func splitAnswers(out string) (string, []string) {
	lines := strings.Split(out, "\n")
	level := ""
	var answers []string
	var cur []string
	seen := false
	for i := 0; i < len(lines); i++ {
		m := markerLine.FindStringSubmatch(lines[i])
		if m == nil {
			cur = append(cur, lines[i])
			continue
		}
		if i+1 < len(lines) && lines[i+1] == "" {
			i++ // the marker's own blank line
		}
		if !seen {
			seen, level = true, m[1]
		} else {
			for len(cur) > 0 && cur[len(cur)-1] == "" {
				cur = cur[:len(cur)-1]
			}
			answers = append(answers, strings.Join(cur, "\n"))
		}
		cur = nil
	}
	return level, answers
}

// unavailable wraps a transport error; a context error wins over the
// low-level one so callers can tell a timeout.
func (c *Client) unavailable(ctx context.Context, what string, err error) error {
	if refused := c.tlsRefusal(err); refused != nil {
		return refused
	}
	var fe *TLSFileError
	if errors.As(err, &fe) {
		return &providers.PermissionError{Detail: fmt.Sprintf("HAProxy runtime API %s: %v", c, fe)}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = fmt.Errorf("%w (%w)", ctxErr, err)
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		// The connection deadline is the context's: report it as such even
		// when the socket noticed first.
		err = fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
	}
	return &providers.UnavailableError{
		Detail: fmt.Sprintf("HAProxy runtime API %s: %s; is HAProxy running with `stats socket` at that address?", c, what),
		Err:    err,
	}
}

// parseAnswer strips the "[N]: " severity tag HAProxy puts before messages.
func parseAnswer(cmd, text string) Response {
	r := Response{Command: cmd, Severity: -1, Text: text}
	if len(r.Text) >= 5 && r.Text[0] == '[' && r.Text[2] == ']' && r.Text[3] == ':' && r.Text[4] == ' ' {
		if n, err := strconv.Atoi(r.Text[1:2]); err == nil {
			r.Severity, r.Text = n, r.Text[5:]
		}
	}
	return r
}
