package stack

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// Replicas are lbgate processes run as the install runs them: several
// replicas with leader election, their webhooks behind one address as
// behind the webhook Service (Front forwards each connection to the first
// replica that accepts it, as kube-proxy does to a ready endpoint).
type Replicas struct {
	Ops   []*Operator
	front *front
}

// StartReplicas stops the stack's lbgate and starts n replicas with
// leader election in the operator namespace (and the extra flags), each
// with its own log (logs/lbgate-replica-<i>.log), and waits until each is
// ready (its caches synced) and one leads. Stop them with StopReplicas.
func (s *Stack) StartReplicas(ctx context.Context, n int, extra ...string) (*Replicas, error) {
	s.Operator.Stop()
	f, err := startFront()
	if err != nil {
		return nil, err
	}
	r := &Replicas{front: f}
	flags := append([]string{"--leader-elect", "--leader-election-namespace=" + OperatorNamespace}, extra...)
	for i := range n {
		op, port, err := s.newOperatorSpec(ctx, operatorSpec{webhook: true, name: fmt.Sprintf("lbgate-replica-%d", i),
			webhookURL: "https://" + f.addr + "/mutate-v1-pod", extra: flags})
		if err != nil {
			r.stop()
			return nil, err
		}
		f.add(hostPort(port))
		r.Ops = append(r.Ops, op)
		if err := op.Start(ctx); err != nil {
			r.stop()
			return nil, err
		}
	}
	if _, _, err := r.WaitLeader(ctx, -1, time.Minute); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

// StopReplicas stops the replicas and starts the stack's own lbgate again.
func (s *Stack) StopReplicas(ctx context.Context, r *Replicas) error {
	r.stop()
	op, err := s.newOperator(ctx, true)
	if err != nil {
		return err
	}
	s.Operator = op
	return s.startOperator(ctx, op)
}

func (r *Replicas) stop() {
	for _, op := range r.Ops {
		op.Stop()
	}
	r.front.close()
}

// acquired is what client-go's leader elector logs when it takes the
// lease ("Successfully acquired lease"), matched in lower case.
const acquired = "successfully acquired lease"

// Leader is the index of the replica that leads now: the running one whose
// log, since it last started, says it took the lease (-1: none).
func (r *Replicas) Leader() int {
	for i, op := range r.Ops {
		if op.Running() && strings.Contains(strings.ToLower(op.logSinceStart()), acquired) {
			return i
		}
	}
	return -1
}

// WaitLeader waits until a replica other than not leads, and returns it
// and when it was first seen leading.
func (r *Replicas) WaitLeader(ctx context.Context, not int, timeout time.Duration) (int, time.Time, error) {
	leader := -1
	err := poll(ctx, timeout, func() (bool, string) {
		leader = r.Leader()
		return leader >= 0 && leader != not, fmt.Sprintf("no replica but %d leads", not)
	})
	return leader, time.Now(), err
}

// Running reports whether the process runs.
func (o *Operator) Running() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cmd != nil
}

// logSinceStart is the process's log since its last start.
func (o *Operator) logSinceStart() string {
	b, err := os.ReadFile(o.logPath)
	if err != nil {
		return ""
	}
	s := string(b)
	if i := strings.LastIndex(s, "---- start "); i >= 0 {
		s = s[i:]
	}
	return s
}

// front is a TCP forwarder on 127.0.0.1: each connection goes to the first
// backend that accepts it.
type front struct {
	addr string
	ln   net.Listener

	mu       sync.Mutex
	backends []string
}

func startFront() (*front, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &front{addr: ln.Addr().String(), ln: ln}
	go f.serve()
	return f, nil
}

func (f *front) add(backend string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.backends = append(f.backends, backend)
}

func (f *front) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		go f.forward(c)
	}
}

func (f *front) forward(c net.Conn) {
	defer c.Close()
	f.mu.Lock()
	backends := append([]string(nil), f.backends...)
	f.mu.Unlock()
	var b net.Conn
	for _, addr := range backends {
		var err error
		if b, err = net.DialTimeout("tcp", addr, time.Second); err == nil {
			break
		}
	}
	if b == nil {
		return
	}
	defer b.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(b, c)
		close(done)
	}()
	_, _ = io.Copy(c, b)
	_ = c.Close()
	<-done
}

func (f *front) close() { _ = f.ln.Close() }
