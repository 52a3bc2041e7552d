package nodesim

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Environment variables a container sets to choose how its simulated app
// behaves. Each has an image-tag item too (see the package documentation);
// the environment variable wins.
const (
	// EnvVersion is the version string the app answers with (default: the image tag).
	EnvVersion = "NODESIM_VERSION"
	// EnvStartupDelay is how long after the container starts the app begins
	// to listen (Go duration, default 0).
	EnvStartupDelay = "NODESIM_STARTUP_DELAY"
	// EnvHealthzStatus is the status code of /healthz (default 200).
	EnvHealthzStatus = "NODESIM_HEALTHZ_STATUS"
	// EnvReadinessStatus is the status code of the readiness probe's path (default 200).
	EnvReadinessStatus = "NODESIM_READINESS_STATUS"
	// EnvWarmup is how long after it starts listening the app warms up (Go duration, default 0).
	EnvWarmup = "NODESIM_WARMUP"
	// EnvWarmupMode is what warming up does to requests: "slow" (default) or "fail".
	EnvWarmupMode = "NODESIM_WARMUP_MODE"
	// EnvWarmupLatency is the delay added to each request while warming up in slow mode (default 1s).
	EnvWarmupLatency = "NODESIM_WARMUP_LATENCY"
	// EnvWarmupStatus is the status code of requests while warming up in fail mode (default 503).
	EnvWarmupStatus = "NODESIM_WARMUP_STATUS"
	// EnvWarmupHealthz makes /healthz warm up too when "true" (default false:
	// /healthz and the readiness path answer at once, as in many real apps).
	EnvWarmupHealthz = "NODESIM_WARMUP_HEALTHZ"
	// EnvWarmupConcurrency caps how many requests a warming app serves at
	// once in slow mode; the others wait for a turn (default 0: no cap). A
	// cold app so serves at most this many per NODESIM_WARMUP_LATENCY, and
	// its latency grows with the load it gets, as a cold JIT or cache does.
	EnvWarmupConcurrency = "NODESIM_WARMUP_CONCURRENCY"
)

// Warm-up modes.
const (
	// WarmupSlow delays requests while the app warms up.
	WarmupSlow = "slow"
	// WarmupFail fails requests while the app warms up.
	WarmupFail = "fail"
)

// tagItems maps image-tag item keys to the environment variable they stand for.
var tagItems = map[string]string{
	"startup":           EnvStartupDelay,
	"healthz":           EnvHealthzStatus,
	"readiness":         EnvReadinessStatus,
	"warmup":            EnvWarmup,
	"warmupmode":        EnvWarmupMode,
	"warmuplatency":     EnvWarmupLatency,
	"warmupstatus":      EnvWarmupStatus,
	"warmuphealthz":     EnvWarmupHealthz,
	"warmupconcurrency": EnvWarmupConcurrency,
}

// behaviour is how one container's simulated app behaves.
type behaviour struct {
	Version         string
	StartupDelay    time.Duration
	HealthzStatus   int
	ReadinessStatus int
	Warmup          time.Duration
	WarmupMode      string
	WarmupLatency   time.Duration
	WarmupStatus    int
	WarmupHealthz   bool
	// WarmupConcurrency caps the requests served at once while warming up in slow mode (0: no cap).
	WarmupConcurrency int
}

// defaultBehaviour is an app that listens at once and is healthy.
func defaultBehaviour() behaviour {
	return behaviour{
		Version:         "latest",
		HealthzStatus:   http.StatusOK,
		ReadinessStatus: http.StatusOK,
		WarmupMode:      WarmupSlow,
		WarmupLatency:   time.Second,
		WarmupStatus:    http.StatusServiceUnavailable,
	}
}

// parseBehaviour reads a container's knobs from its image tag and its
// environment (literal values only; valueFrom cannot be resolved here).
// A bad value is an error: the container then does not start, as the
// kubelet's CreateContainerConfigError.
func parseBehaviour(c *corev1.Container) (behaviour, error) {
	b := defaultBehaviour()
	version, items := splitImageTag(c.Image)
	if version != "" {
		b.Version = version
	}
	settings := map[string]string{}
	for _, item := range items {
		key, value, ok := strings.Cut(item, "-")
		env, known := tagItems[key]
		if !ok || !known {
			return b, fmt.Errorf("image %q: unknown tag item %q (want one of startup, healthz, readiness, warmup, warmupmode, warmuplatency, warmupstatus, warmuphealthz, warmupconcurrency followed by -VALUE)", c.Image, item)
		}
		settings[env] = value
	}
	for _, e := range c.Env {
		if strings.HasPrefix(e.Name, "NODESIM_") {
			settings[e.Name] = e.Value
		}
	}
	var errs []error
	for name, value := range settings {
		if err := b.set(name, value); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", name, value, err))
		}
	}
	return b, errors.Join(errs...)
}

// set applies one knob.
func (b *behaviour) set(name, value string) error {
	var err error
	switch name {
	case EnvVersion:
		if value == "" {
			return errors.New("empty version")
		}
		b.Version = value
	case EnvStartupDelay:
		b.StartupDelay, err = parseDuration(value)
	case EnvHealthzStatus:
		b.HealthzStatus, err = parseStatus(value)
	case EnvReadinessStatus:
		b.ReadinessStatus, err = parseStatus(value)
	case EnvWarmup:
		b.Warmup, err = parseDuration(value)
	case EnvWarmupMode:
		b.WarmupMode, err = parseWarmupMode(value)
	case EnvWarmupLatency:
		b.WarmupLatency, err = parseDuration(value)
	case EnvWarmupStatus:
		b.WarmupStatus, err = parseStatus(value)
	case EnvWarmupHealthz:
		b.WarmupHealthz, err = strconv.ParseBool(value)
	case EnvWarmupConcurrency:
		b.WarmupConcurrency, err = parseConcurrency(value)
	default:
		return errors.New("unknown nodesim setting")
	}
	return err
}

func parseWarmupMode(s string) (string, error) {
	if s != WarmupSlow && s != WarmupFail {
		return "", fmt.Errorf("want %q or %q", WarmupSlow, WarmupFail)
	}
	return s, nil
}

func parseConcurrency(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err == nil && n < 0 {
		err = errors.New("negative concurrency")
	}
	return n, err
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err == nil && d < 0 {
		err = errors.New("negative duration")
	}
	return d, err
}

func parseStatus(s string) (int, error) {
	code, err := strconv.Atoi(s)
	if err == nil && (code < 100 || code > 599) {
		err = errors.New("not an HTTP status code")
	}
	return code, err
}

// splitImageTag returns the version (the tag's part before the first "--")
// and the knob items after it from an image reference such as
// "registry:5000/app:v2--healthz-500--startup-2s". An image without a tag
// has version "".
func splitImageTag(image string) (string, []string) {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	colon := strings.LastIndex(image, ":")
	if colon < 0 || colon < strings.LastIndex(image, "/") {
		return "", nil
	}
	parts := strings.Split(image[colon+1:], "--")
	return parts[0], parts[1:]
}
