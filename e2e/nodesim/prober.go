package nodesim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probeUserAgent is the User-Agent the kubelet's HTTP prober sends.
const probeUserAgent = "kube-probe/1.37"

// maxProbeBody is how much of a probe's response body the kubelet reads.
const maxProbeBody = 10 << 10

// prober runs probes and lifecycle hooks the way the kubelet does, over a
// transport without keep-alives (as the kubelet's), so nothing stays open.
type prober struct {
	transport *http.Transport
}

func newProber() *prober {
	return &prober{transport: &http.Transport{
		Proxy:              nil,
		DisableKeepAlives:  true,
		DisableCompression: true,
		TLSClientConfig:    &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the kubelet does not verify probe certificates either.
	}}
}

// close releases the transport.
func (p *prober) close() { p.transport.CloseIdleConnections() }

// probe runs one readiness probe of container c in a pod with address podIP.
// A non-nil error is a prober error (for example an unknown port name): the
// kubelet throws such results away. exec and grpc probes cannot run here
// and count as success.
func (p *prober) probe(ctx context.Context, pr *corev1.Probe, c *corev1.Container, podIP string) (probeResult, error) {
	timeout := settingsFor(pr).Timeout
	switch {
	case pr.HTTPGet != nil:
		return p.httpGet(ctx, pr.HTTPGet, c, podIP, timeout)
	case pr.TCPSocket != nil:
		port, err := resolvePort(pr.TCPSocket.Port, c)
		if err != nil {
			return 0, err
		}
		host := pr.TCPSocket.Host
		if host == "" {
			host = podIP
		}
		d := net.Dialer{Timeout: timeout}
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return probeFailure, nil
		}
		_ = conn.Close()
		return probeSuccess, nil
	}
	return probeSuccess, nil
}

// httpGet is the kubelet's HTTP probe: GET with User-Agent kube-probe and
// Accept */*, the probe's headers, timeoutSeconds, redirects followed only
// to the same host (a redirect elsewhere counts as success), and success
// for status 200-399.
func (p *prober) httpGet(ctx context.Context, g *corev1.HTTPGetAction, c *corev1.Container, podIP string, timeout time.Duration) (probeResult, error) {
	req, err := httpGetRequest(ctx, g, c, podIP)
	if err != nil {
		return 0, err
	}
	client := &http.Client{Timeout: timeout, Transport: p.transport, CheckRedirect: sameHostRedirects}
	res, err := client.Do(req)
	if err != nil {
		return probeFailure, nil
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxProbeBody))
	if res.StatusCode >= http.StatusOK && res.StatusCode < http.StatusBadRequest {
		return probeSuccess, nil
	}
	return probeFailure, nil
}

// httpGetRequest builds the request of an httpGet probe or hook.
func httpGetRequest(ctx context.Context, g *corev1.HTTPGetAction, c *corev1.Container, podIP string) (*http.Request, error) {
	port, err := resolvePort(g.Port, c)
	if err != nil {
		return nil, err
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	host := g.Host
	if host == "" {
		host = podIP
	}
	u, err := url.Parse(g.Path)
	if err != nil {
		u = &url.URL{Path: g.Path}
	}
	u.Scheme, u.Host = scheme, net.JoinHostPort(host, strconv.Itoa(port))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	for _, h := range g.HTTPHeaders {
		req.Header.Add(h.Name, h.Value)
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header.Set("User-Agent", probeUserAgent)
	}
	if _, ok := req.Header["Accept"]; !ok {
		req.Header.Set("Accept", "*/*")
	} else if req.Header.Get("Accept") == "" {
		req.Header.Del("Accept")
	}
	req.Host = req.Header.Get("Host")
	return req, nil
}

// sameHostRedirects is the kubelet's redirect policy for probes.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if req.URL.Hostname() != via[0].URL.Hostname() {
		return http.ErrUseLastResponse
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

// resolvePort turns a probe's port (number or container port name) into a
// number, as the kubelet's probe.ResolveContainerPort.
func resolvePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	if p.Type == intstr.Int {
		if p.IntVal <= 0 || p.IntVal > 65535 {
			return 0, fmt.Errorf("invalid port number: %d", p.IntVal)
		}
		return int(p.IntVal), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil && n > 0 && n <= 65535 {
		return n, nil
	}
	return 0, fmt.Errorf("couldn't find port %q in container %q", p.StrVal, c.Name)
}

// probePort is the port a readiness probe targets, if it targets one.
func probePort(pr *corev1.Probe, c *corev1.Container) (int, bool) {
	if pr == nil {
		return 0, false
	}
	var p intstr.IntOrString
	switch {
	case pr.HTTPGet != nil:
		p = pr.HTTPGet.Port
	case pr.TCPSocket != nil:
		p = pr.TCPSocket.Port
	default:
		return 0, false
	}
	n, err := resolvePort(p, c)
	return n, err == nil
}

// probePath is the path of an httpGet readiness probe ("" for other kinds).
func probePath(pr *corev1.Probe) string {
	if pr == nil || pr.HTTPGet == nil {
		return ""
	}
	u, err := url.Parse(pr.HTTPGet.Path)
	if err != nil {
		return pr.HTTPGet.Path
	}
	if u.Path == "" {
		return "/"
	}
	return u.Path
}
