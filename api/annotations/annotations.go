// Package annotations turns the lbgate.dev/* annotations of a Service into the
// BackendGroupSpec they ask for.
//
// Every function here is pure: it reads only its arguments, never panics, and
// reports each bad annotation as an *Error whose message names the annotation,
// the value found and what a valid value looks like, so that callers can put
// it verbatim into a Warning event and a condition message.
package annotations

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

// Limits of the annotation values. They match the validation of the
// BackendGroup CRD, so a spec built by Parse is always accepted by the API
// server.
const (
	// minMaxBackends and maxMaxBackends bound lbgate.dev/max-backends.
	minMaxBackends, maxMaxBackends = 1, 10000
	// minWeight and maxWeight bound lbgate.dev/weight.
	minWeight, maxWeight = 0, 100
	// minHealthCheckInterval and maxHealthCheckInterval bound lbgate.dev/health-check-interval.
	minHealthCheckInterval, maxHealthCheckInterval = 1 * time.Second, 300 * time.Second
	// minHealthCheckTimeout and maxHealthCheckTimeout bound lbgate.dev/health-check-timeout.
	minHealthCheckTimeout, maxHealthCheckTimeout = 1 * time.Second, 60 * time.Second
	// minHealthCheckThreshold and maxHealthCheckThreshold bound both health-check thresholds.
	minHealthCheckThreshold, maxHealthCheckThreshold = 1, 10
	// minDeregistrationDelay and maxDeregistrationDelay bound lbgate.dev/deregistration-delay.
	minDeregistrationDelay, maxDeregistrationDelay = 0 * time.Second, 3600 * time.Second
	// minPreStopDelay and maxPreStopDelay bound lbgate.dev/prestop-delay
	// when it is not "0" (off).
	minPreStopDelay, maxPreStopDelay = 1 * time.Second, 600 * time.Second
	// minReadinessTimeout and maxReadinessTimeout bound lbgate.dev/readiness-timeout.
	minReadinessTimeout, maxReadinessTimeout = 10 * time.Second, time.Hour
	// minSlowStart and maxSlowStart bound lbgate.dev/slow-start.
	minSlowStart, maxSlowStart = 1 * time.Second, 10 * time.Minute
	// maxTargetLength is the longest load-balancer target id, in characters.
	maxTargetLength = 253
	// maxHealthCheckPathLength is the longest HTTP health-check path, in characters.
	maxHealthCheckPathLength = 1024
)

// maxErrorsPerAnnotation caps the problems reported for one annotation (a
// load-balancer list can hold many bad entries); the rest are summed up in one
// last Error so that a huge value cannot flood the Service with events.
const maxErrorsPerAnnotation = 10

// maxShownValue is how many characters of a value (or of a part of one) an
// error message quotes before it cuts the rest off with "...".
const maxShownValue = 128

// Error is one bad annotation: its name, the value found (untrimmed, as the
// user wrote it) and the reason the value is rejected.
type Error struct {
	// Annotation is the full annotation name, such as lbgate.dev/weight.
	Annotation string
	// Value is the annotation's value as found on the Service ("" when absent).
	Value string
	// Reason says what is wrong, such as "must be an integer from 0 to 100".
	Reason string
}

// Error returns the message
//
//	annotation "lbgate.dev/weight" has invalid value "abc": must be an integer from 0 to 100
//
// A value longer than 128 characters is shown cut short, ending in "...".
func (e *Error) Error() string {
	if e == nil {
		return "<nil>"
	}
	return fmt.Sprintf("annotation %q has invalid value %q: %s", e.Annotation, shorten(e.Value), e.Reason)
}

// Errors returns the *Error values inside err, in order, looking through
// errors.Join and %w wrapping, for callers that emit one event per annotation
// problem. It returns nil when err is nil or holds no *Error.
func Errors(err error) []*Error {
	var out []*Error
	collect(err, &out, 0)
	return out
}

func collect(err error, out *[]*Error, depth int) {
	if err == nil || depth > 100 {
		return
	}
	// The walk looks at each node of the tree itself (errors.As would stop
	// at the first *Error), so the assertions below are on purpose.
	if e, ok := err.(*Error); ok { //nolint:errorlint // one node of the walk
		if e != nil {
			*out = append(*out, e)
		}
		return
	}
	switch u := err.(type) { //nolint:errorlint // one node of the walk
	case interface{ Unwrap() []error }:
		for _, inner := range u.Unwrap() {
			collect(inner, out, depth+1)
		}
	case interface{ Unwrap() error }:
		collect(u.Unwrap(), out, depth+1)
	}
}

// OptedIn reports whether the Service opts in with lbgate.dev/direct-access.
// "true" and "false" (case-insensitive, surrounding spaces trimmed) are valid,
// and an absent annotation means false; any other value (including "") returns
// false and an *Error. A nil Service is not opted in.
func OptedIn(svc *corev1.Service) (bool, error) {
	if svc == nil {
		return false, nil
	}
	raw, ok := svc.Annotations[v1alpha1.AnnotationDirectAccess]
	if !ok {
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(raw)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, &Error{Annotation: v1alpha1.AnnotationDirectAccess, Value: raw, Reason: `must be "true" or "false"`}
}

// PreStopDelay returns the lbgate.dev/prestop-delay value: 0 (written "0",
// "0s"...), which turns the webhook's preStop sleep off, or whole seconds
// from 1s to 10m0s, written as a Go duration ("20s", "1m") or a bare number
// of seconds ("20"). ok is false when the annotation is absent (the webhook
// then applies v1alpha1.DefaultPreStopDelay), and also when it is invalid,
// in which case err is an *Error and d is 0. So ok with d == 0 means the
// Service turns the sleep off.
func PreStopDelay(annotations map[string]string) (d time.Duration, ok bool, err error) {
	raw, present := annotations[v1alpha1.AnnotationPreStopDelay]
	if !present {
		return 0, false, nil
	}
	d, e := parsePreStopDelay(raw)
	if e != nil {
		return 0, false, e
	}
	return d, true, nil
}

// parsePreStopDelay reads a lbgate.dev/prestop-delay value: 0 or whole
// seconds in [minPreStopDelay, maxPreStopDelay].
func parsePreStopDelay(raw string) (time.Duration, *Error) {
	// Whole seconds from 0 leave nothing between 0 and minPreStopDelay (1s).
	d, e := parseDuration(v1alpha1.AnnotationPreStopDelay, raw, 0, maxPreStopDelay)
	if e != nil {
		e.Reason = fmt.Sprintf(`must be "0" (off) or a duration in whole seconds from %s to %s`, minPreStopDelay, maxPreStopDelay)
		return 0, e
	}
	return d, nil
}

// Parse builds the BackendGroupSpec that the Service's lbgate.dev/*
// annotations ask for, with ServiceName set to svc.Name and every default
// (weight, max-backends, deregistration-delay) written out explicitly, and
// Ports sorted by port number. It does not look at lbgate.dev/direct-access
// (see OptedIn), and ignores unknown lbgate.dev/ annotations. The spec has no
// field for lbgate.dev/prestop-delay (the webhook applies it, see
// PreStopDelay), but Parse checks it like every other annotation, so a bad
// value is reported and does not half-apply.
//
// It returns every problem found, joined with errors.Join, each an *Error (see
// Errors). On any error the returned spec is the zero value and must not be
// used: callers keep the last good one.
func Parse(svc *corev1.Service) (v1alpha1.BackendGroupSpec, error) {
	var (
		ann   map[string]string
		name  string
		ports []corev1.ServicePort
	)
	if svc != nil {
		ann, name, ports = svc.Annotations, svc.Name, svc.Spec.Ports
	}
	p := parser{ann: ann}

	spec := v1alpha1.BackendGroupSpec{ServiceName: name}
	spec.Ports = p.loadBalancer(ports)
	spec.NetworkMode = p.networkMode()
	spec.MaxBackends = ptr(p.integer(v1alpha1.AnnotationMaxBackends, minMaxBackends, maxMaxBackends, v1alpha1.DefaultMaxBackends))
	spec.Weight = ptr(p.integer(v1alpha1.AnnotationWeight, minWeight, maxWeight, v1alpha1.DefaultWeight))
	spec.HealthCheck = p.healthCheck()
	spec.DeregistrationDelay = &metav1.Duration{Duration: p.duration(v1alpha1.AnnotationDeregistrationDelay,
		minDeregistrationDelay, maxDeregistrationDelay, v1alpha1.DefaultDeregistrationDelay)}
	spec.ReadinessTimeout = p.optionalDuration(v1alpha1.AnnotationReadinessTimeout, minReadinessTimeout, maxReadinessTimeout)
	spec.SlowStart = p.optionalDuration(v1alpha1.AnnotationSlowStart, minSlowStart, maxSlowStart)
	if _, _, err := PreStopDelay(p.ann); err != nil { // checked only: see PreStopDelay
		p.errs = append(p.errs, err)
	}

	if len(p.errs) > 0 {
		return v1alpha1.BackendGroupSpec{}, errors.Join(p.errs...)
	}
	return spec, nil
}

// parser collects the problems found while reading one Service's annotations.
type parser struct {
	ann  map[string]string
	errs []error
}

func (p *parser) fail(annotation, raw, reason string) {
	p.errs = append(p.errs, &Error{Annotation: annotation, Value: raw, Reason: reason})
}

// integer reads an integer annotation in [lo, hi]; def when absent.
func (p *parser) integer(annotation string, lo, hi, def int32) int32 {
	raw, ok := p.ann[annotation]
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	if err != nil || n < int64(lo) || n > int64(hi) {
		p.fail(annotation, raw, fmt.Sprintf("must be an integer from %d to %d", lo, hi))
		return def
	}
	return int32(n)
}

// optionalInteger is integer for an annotation without a default: nil when absent or invalid.
func (p *parser) optionalInteger(annotation string, lo, hi int32) *int32 {
	if _, ok := p.ann[annotation]; !ok {
		return nil
	}
	before := len(p.errs)
	n := p.integer(annotation, lo, hi, 0)
	if len(p.errs) > before {
		return nil
	}
	return &n
}

// duration reads a whole-seconds duration annotation in [lo, hi]; def when absent.
func (p *parser) duration(annotation string, lo, hi, def time.Duration) time.Duration {
	raw, ok := p.ann[annotation]
	if !ok {
		return def
	}
	d, err := parseDuration(annotation, raw, lo, hi)
	if err != nil {
		p.errs = append(p.errs, err)
		return def
	}
	return d
}

// optionalDuration is duration for an annotation without a default: nil
// when absent or invalid.
func (p *parser) optionalDuration(annotation string, lo, hi time.Duration) *metav1.Duration {
	if _, ok := p.ann[annotation]; !ok {
		return nil
	}
	before := len(p.errs)
	d := p.duration(annotation, lo, hi, 0)
	if len(p.errs) > before {
		return nil
	}
	return &metav1.Duration{Duration: d}
}

// optionalSeconds is optionalDuration in whole seconds.
func (p *parser) optionalSeconds(annotation string, lo, hi time.Duration) *int32 {
	d := p.optionalDuration(annotation, lo, hi)
	if d == nil {
		return nil
	}
	return ptr(int32(d.Duration / time.Second))
}

// parseDuration reads whole seconds in [lo, hi] written as a Go duration
// ("90s", "1m30s") or a bare number of seconds ("90").
func parseDuration(annotation, raw string, lo, hi time.Duration) (time.Duration, *Error) {
	bad := &Error{Annotation: annotation, Value: raw,
		Reason: fmt.Sprintf("must be a duration in whole seconds from %s to %s", lo, hi)}
	s := strings.TrimSpace(raw)
	var d time.Duration
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		// A bare number of seconds; compare before multiplying so it cannot overflow.
		if n < int64(lo/time.Second) || n > int64(hi/time.Second) {
			return 0, bad
		}
		d = time.Duration(n) * time.Second
	} else {
		var perr error
		d, perr = time.ParseDuration(s)
		if perr != nil || d%time.Second != 0 {
			return 0, bad
		}
	}
	if d < lo || d > hi {
		return 0, bad
	}
	return d, nil
}

func (p *parser) networkMode() v1alpha1.NetworkMode {
	raw, ok := p.ann[v1alpha1.AnnotationNetworkMode]
	if !ok {
		return ""
	}
	switch m := v1alpha1.NetworkMode(strings.ToLower(strings.TrimSpace(raw))); m {
	case v1alpha1.NetworkModeENI, v1alpha1.NetworkModeGlobalRouter:
		return m
	}
	p.fail(v1alpha1.AnnotationNetworkMode, raw,
		fmt.Sprintf("must be %q or %q", v1alpha1.NetworkModeENI, v1alpha1.NetworkModeGlobalRouter))
	return ""
}

// healthCheck reads lbgate.dev/health-check and its four tuning annotations.
// It returns nil when none of the five is present.
func (p *parser) healthCheck() *v1alpha1.HealthCheck {
	var hc v1alpha1.HealthCheck
	set := false
	if raw, ok := p.ann[v1alpha1.AnnotationHealthCheck]; ok {
		set = true
		proto, path, reason := parseHealthCheck(raw)
		if reason != "" {
			p.fail(v1alpha1.AnnotationHealthCheck, raw, reason)
		}
		hc.Protocol, hc.Path = proto, path
	}
	for _, a := range []string{
		v1alpha1.AnnotationHealthCheckInterval,
		v1alpha1.AnnotationHealthCheckTimeout,
		v1alpha1.AnnotationHealthCheckHealthyThreshold,
		v1alpha1.AnnotationHealthCheckUnhealthyThreshold,
	} {
		if _, ok := p.ann[a]; ok {
			set = true
		}
	}
	hc.IntervalSeconds = p.optionalSeconds(v1alpha1.AnnotationHealthCheckInterval, minHealthCheckInterval, maxHealthCheckInterval)
	hc.TimeoutSeconds = p.optionalSeconds(v1alpha1.AnnotationHealthCheckTimeout, minHealthCheckTimeout, maxHealthCheckTimeout)
	if hc.IntervalSeconds != nil && hc.TimeoutSeconds != nil && *hc.TimeoutSeconds >= *hc.IntervalSeconds {
		interval := time.Duration(*hc.IntervalSeconds) * time.Second
		p.fail(v1alpha1.AnnotationHealthCheckTimeout, p.ann[v1alpha1.AnnotationHealthCheckTimeout],
			fmt.Sprintf("must be shorter than %s (%s)", v1alpha1.AnnotationHealthCheckInterval, interval))
	}
	hc.HealthyThreshold = p.optionalInteger(v1alpha1.AnnotationHealthCheckHealthyThreshold, minHealthCheckThreshold, maxHealthCheckThreshold)
	hc.UnhealthyThreshold = p.optionalInteger(v1alpha1.AnnotationHealthCheckUnhealthyThreshold, minHealthCheckThreshold, maxHealthCheckThreshold)
	if !set {
		return nil
	}
	return &hc
}

// parseHealthCheck reads "http", "http:/path" or "tcp" (protocol
// case-insensitive, path kept as written). reason is "" when raw is valid.
func parseHealthCheck(raw string) (proto v1alpha1.HealthCheckProtocol, path, reason string) {
	const want = `must be "http", "http:/PATH" or "tcp"`
	s := strings.TrimSpace(raw)
	kind, path, hasPath := strings.Cut(s, ":")
	switch v1alpha1.HealthCheckProtocol(strings.ToLower(kind)) {
	case v1alpha1.HealthCheckTCP:
		if hasPath {
			return "", "", `"tcp" takes no path`
		}
		return v1alpha1.HealthCheckTCP, "", ""
	case v1alpha1.HealthCheckHTTP:
		if !hasPath {
			return v1alpha1.HealthCheckHTTP, "/", ""
		}
		switch {
		case !strings.HasPrefix(path, "/"):
			return "", "", `path must start with "/"`
		case !utf8.ValidString(path):
			return "", "", "path must be valid UTF-8"
		case strings.IndexFunc(path, isSpaceOrUnprintable) >= 0:
			return "", "", "path must not contain spaces or unprintable characters"
		case utf8.RuneCountInString(path) > maxHealthCheckPathLength:
			return "", "", fmt.Sprintf("path must be at most %d characters", maxHealthCheckPathLength)
		}
		return v1alpha1.HealthCheckHTTP, path, ""
	}
	return "", "", want
}

// loadBalancer reads lbgate.dev/load-balancer against the Service's ports and
// returns the bindings sorted by port number.
func (p *parser) loadBalancer(svcPorts []corev1.ServicePort) []v1alpha1.PortBinding {
	const a = v1alpha1.AnnotationLoadBalancer
	raw, ok := p.ann[a]
	s := strings.TrimSpace(raw)
	if !ok || s == "" {
		p.fail(a, raw, "is required")
		return nil
	}

	// Only ports the API server would accept count; a Service may list the
	// same number twice (53/TCP and 53/UDP), which binds one target port.
	var ports []corev1.ServicePort
	for _, sp := range svcPorts {
		if sp.Port >= 1 && sp.Port <= 65535 {
			ports = append(ports, sp)
		}
	}

	var errs []string
	var out []v1alpha1.PortBinding
	if !strings.ContainsAny(s, "=,") {
		// One id for every Service port.
		if reason := checkTarget(s); reason != "" {
			errs = append(errs, "id "+reason)
		} else if len(ports) == 0 {
			errs = append(errs, "the Service has no ports")
		}
		if len(errs) == 0 {
			for _, sp := range ports {
				out = append(out, v1alpha1.PortBinding{Port: sp.Port, Target: s})
			}
		}
	} else {
		out, errs = bindPorts(s, ports)
	}
	if len(errs) > 0 {
		if len(errs) > maxErrorsPerAnnotation {
			more := len(errs) - maxErrorsPerAnnotation
			errs = append(errs[:maxErrorsPerAnnotation], fmt.Sprintf("%d more problems not listed", more))
		}
		for _, reason := range errs {
			p.fail(a, raw, reason)
		}
		return nil
	}
	slices.SortFunc(out, func(x, y v1alpha1.PortBinding) int { return int(x.Port) - int(y.Port) })
	out = slices.CompactFunc(out, func(x, y v1alpha1.PortBinding) bool { return x.Port == y.Port })
	return out
}

// bindPorts reads the PORT=ID,PORT=ID form. It returns one reason per problem.
func bindPorts(s string, ports []corev1.ServicePort) ([]v1alpha1.PortBinding, []string) {
	var (
		errs []string
		out  []v1alpha1.PortBinding
		seen = map[int32]string{} // port number -> the PORT that bound it
	)
	if len(ports) == 0 {
		errs = append(errs, "the Service has no ports")
	}
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			errs = append(errs, fmt.Sprintf("entry %d is empty (want PORT=ID,PORT=ID)", i+1))
			continue
		}
		key, id, found := strings.Cut(entry, "=")
		key, id = strings.TrimSpace(key), strings.TrimSpace(id)
		switch {
		case !found:
			errs = append(errs, fmt.Sprintf("entry %s must be PORT=ID", quote(entry)))
			continue
		case key == "":
			errs = append(errs, fmt.Sprintf("entry %s has no port before \"=\"", quote(entry)))
			continue
		case id == "":
			errs = append(errs, fmt.Sprintf("port %s has an empty id", quote(key)))
			continue
		}
		if reason := checkTarget(id); reason != "" {
			errs = append(errs, fmt.Sprintf("id for port %s %s", quote(key), reason))
			continue
		}
		if len(ports) == 0 {
			continue // already reported
		}
		port, ok := resolvePort(key, ports)
		if !ok {
			errs = append(errs, fmt.Sprintf("port %s is not a port of the Service (ports: %s)", quote(key), listPorts(ports)))
			continue
		}
		if prev, dup := seen[port]; dup {
			if prev == key {
				errs = append(errs, fmt.Sprintf("port %s is listed more than once", quote(key)))
			} else {
				errs = append(errs, fmt.Sprintf("port %s is listed more than once (as %s and %s)", quote(key), quote(prev), quote(key)))
			}
			continue
		}
		seen[port] = key
		out = append(out, v1alpha1.PortBinding{Port: port, Target: id})
	}
	return out, errs
}

// resolvePort finds the Service port a PORT key names: by number when the key
// is a number that matches, else by name.
func resolvePort(key string, ports []corev1.ServicePort) (int32, bool) {
	if n, err := strconv.ParseInt(key, 10, 32); err == nil {
		for _, sp := range ports {
			if int64(sp.Port) == n {
				return sp.Port, true
			}
		}
	}
	for _, sp := range ports {
		if sp.Name != "" && sp.Name == key {
			return sp.Port, true
		}
	}
	return 0, false
}

// listPorts renders the Service's ports as "http/80, metrics/9090" (a port
// without a name shows only its number).
func listPorts(ports []corev1.ServicePort) string {
	parts := make([]string, 0, len(ports))
	for _, sp := range ports {
		if sp.Name == "" {
			parts = append(parts, strconv.Itoa(int(sp.Port)))
		} else {
			parts = append(parts, shorten(sp.Name)+"/"+strconv.Itoa(int(sp.Port)))
		}
	}
	return strings.Join(parts, ", ")
}

// checkTarget validates a trimmed, non-empty target id; it returns "" when
// the id is good, else the reason (to follow "id ...").
func checkTarget(id string) string {
	switch {
	case !utf8.ValidString(id):
		return "must be valid UTF-8"
	case utf8.RuneCountInString(id) > maxTargetLength:
		return fmt.Sprintf("must be at most %d characters", maxTargetLength)
	case strings.IndexFunc(id, isSpaceOrUnprintable) >= 0:
		return "must not contain whitespace or unprintable characters"
	case strings.ContainsAny(id, ",="):
		return `must not contain "," or "="`
	}
	return ""
}

func isSpaceOrUnprintable(r rune) bool {
	return unicode.IsSpace(r) || !unicode.IsPrint(r)
}

// shorten cuts s to maxShownValue characters, marking the cut with "...".
func shorten(s string) string {
	if len(s) <= maxShownValue {
		return s
	}
	n := 0
	for i := range s {
		if n == maxShownValue {
			return s[:i] + "..."
		}
		n++
	}
	return s
}

// quote is %q of a user-supplied fragment, cut short when long.
func quote(s string) string { return strconv.Quote(shorten(s)) }

func ptr[T any](v T) *T { return &v }
