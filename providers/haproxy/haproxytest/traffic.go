package haproxytest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// LoopbackIP returns the n-th test address in 127.1.0.0/16 (n from 0 to
// 63999), so tests can take many distinct backend addresses without setup:
// Linux routes all of 127.0.0.0/8 to lo.
func LoopbackIP(n int) netip.Addr {
	if n < 0 || n >= 64000 {
		panic(fmt.Sprintf("haproxytest: LoopbackIP(%d) out of range", n))
	}
	return netip.AddrFrom4([4]byte{127, 1, byte(n / 250), byte(n%250 + 1)})
}

// client sends test traffic: short timeouts, no proxy from the environment.
var client = &http.Client{
	Timeout:   5 * time.Second,
	Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64},
}

// Get sends one GET to url and returns the status and body.
func Get(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// Sample sends n GETs to url one after the other and counts the answers:
// the body of each 200 answer (a Server's name), or "status <code>", or
// "error" when the request failed.
func Sample(ctx context.Context, url string, n int) map[string]int {
	got := map[string]int{}
	for range n {
		code, body, err := Get(ctx, url)
		switch {
		case err != nil:
			got["error"]++
		case code != http.StatusOK:
			got[fmt.Sprintf("status %d", code)]++
		default:
			got[body]++
		}
	}
	return got
}

// Load sends requests to a URL from several goroutines until stopped.
type Load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	counts map[string]int
}

// StartLoad starts workers goroutines that GET url in a loop.
func StartLoad(url string, workers int) *Load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Load{cancel: cancel, counts: map[string]int{}}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				got := Sample(ctx, url, 1)
				if ctx.Err() != nil {
					return
				}
				l.mu.Lock()
				for k, v := range got {
					l.counts[k] += v
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// Counts returns the answers so far, keyed as in Sample.
func (l *Load) Counts() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.counts))
	for k, v := range l.counts {
		out[k] = v
	}
	return out
}

// Stop stops the workers and returns the final counts.
func (l *Load) Stop() map[string]int {
	l.cancel()
	l.wg.Wait()
	return l.Counts()
}
