package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// httpsClient returns a client that trusts only the cluster CA and presents
// the given client certificate.
func httpsClient(caPEM []byte, client keyPair) (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("health client: no CA certificate")
	}
	cert, err := tls.X509KeyPair(client.certPEM, client.keyPEM)
	if err != nil {
		return nil, fmt.Errorf("health client: %w", err)
	}
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
			DisableKeepAlives: true,
		},
	}, nil
}

// waitHealthy polls url until it answers 200 OK. It gives up, with a
// ComponentError naming the component and its log, when the process exits
// or when ctx ends.
func waitHealthy(ctx context.Context, p *process, client *http.Client, url string) error {
	op := "wait for " + url
	interval := 50 * time.Millisecond
	var last error
	for {
		err := probe(ctx, client, url)
		if err == nil {
			return nil
		}
		last = err
		timer := time.NewTimer(interval)
		select {
		case <-p.done:
			timer.Stop()
			return componentError(p, op, p.exitError())
		case <-ctx.Done():
			timer.Stop()
			return componentError(p, op, fmt.Errorf("%w (last answer: %w)", ctx.Err(), last))
		case <-timer.C:
		}
		interval = min(interval*2, 500*time.Millisecond)
	}
}

// probe makes one GET and returns nil on 200, else an error carrying the
// status and the start of the body (a failing /readyz lists its failing
// checks there).
func probe(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// isPortConflict reports whether err is a component that exited because one
// of its ports was taken between freePorts and its bind.
func isPortConflict(err error) bool {
	var ce *ComponentError
	if !errors.As(err, &ce) {
		return false
	}
	for _, l := range ce.LogTail {
		if strings.Contains(l, "address already in use") {
			return true
		}
	}
	return false
}
