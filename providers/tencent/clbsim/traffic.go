package clbsim

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lbgate/lbgate/providers/tencent"
)

// Frontend makes a listener carry traffic on a free port of 127.0.0.1 and
// returns that address (the same one on later calls). A layer-4 listener
// forwards each TCP connection, a layer-7 listener each HTTP request (to
// the rule whose URL is the longest prefix of the path, see SetRuleURL),
// to one of the targets that take traffic, chosen at random by weight:
// Alive (or Close, with the check off) and weight above 0. A connection
// or request with no such target is closed, or answered 503.
func (s *Server) Frontend(lb, listenerID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lbs[lb].listeners[listenerID]
	if l.frontend != "" {
		return l.frontend, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	if l.layer7 {
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.forwardHTTP(l, w, r) }), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		s.frontends = append(s.frontends, srv)
	} else {
		go s.acceptTCP(l, ln)
		s.frontends = append(s.frontends, ln)
	}
	l.frontend = ln.Addr().String()
	return l.frontend, nil
}

// SetRuleURL sets the URL path prefix a layer-7 rule serves; "/" by
// default. Of rules with the same prefix, the lowest location id serves.
func (s *Server) SetRuleURL(lb, listenerID, location, prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lbs[lb].listeners[listenerID].rules[location].url = prefix
}

// pick chooses a target of r that takes traffic, at random by weight;
// "" when there is none. Called with s.mu held.
func pick(r *rule) string {
	var total int64
	var live []*target
	for _, t := range r.targets {
		if t.weight > 0 && (t.detail == tencent.HealthAlive || t.detail == tencent.HealthClose) {
			live = append(live, t)
			total += t.weight
		}
	}
	if total == 0 {
		return ""
	}
	n := rand.Int64N(total)
	for _, t := range live {
		if n < t.weight {
			return key(t.ip, t.port)
		}
		n -= t.weight
	}
	return ""
}

func (s *Server) acceptTCP(l *listener, ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			s.mu.Lock()
			addr := pick(l.rules[""])
			s.mu.Unlock()
			if addr == "" {
				return
			}
			b, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				return
			}
			defer b.Close()
			var wg sync.WaitGroup
			wg.Go(func() {
				_, _ = io.Copy(b, c)
				if tc, ok := b.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
			})
			_, _ = io.Copy(c, b)
			_ = c.Close()
			wg.Wait()
		}()
	}
}

func (s *Server) forwardHTTP(l *listener, w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var best *rule
	bestLen := -1
	for _, ru := range l.rules {
		prefix := ru.url
		if prefix == "" {
			prefix = "/"
		}
		// Two rules of one URL (the CLB's rules also differ by domain,
		// which the simulator does not model): the lower location id.
		longer := len(prefix) > bestLen || len(prefix) == bestLen && ru.id < best.id
		if strings.HasPrefix(r.URL.Path, prefix) && longer {
			best, bestLen = ru, len(prefix)
		}
	}
	addr := ""
	if best != nil {
		addr = pick(best)
	}
	s.mu.Unlock()
	if addr == "" {
		http.Error(w, fmt.Sprintf("no healthy target for %s on listener %s", r.URL.Path, l.id), http.StatusServiceUnavailable)
		return
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(&url.URL{Scheme: "http", Host: addr})
		pr.Out.Host = pr.In.Host
	}}
	proxy.ServeHTTP(w, r)
}
