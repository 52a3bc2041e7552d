package annotations

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbgate/lbgate/api/v1alpha1"
)

const (
	aLB        = v1alpha1.AnnotationLoadBalancer
	aMode      = v1alpha1.AnnotationNetworkMode
	aMax       = v1alpha1.AnnotationMaxBackends
	aWeight    = v1alpha1.AnnotationWeight
	aHC        = v1alpha1.AnnotationHealthCheck
	aInterval  = v1alpha1.AnnotationHealthCheckInterval
	aTimeout   = v1alpha1.AnnotationHealthCheckTimeout
	aHealthy   = v1alpha1.AnnotationHealthCheckHealthyThreshold
	aUnhealthy = v1alpha1.AnnotationHealthCheckUnhealthyThreshold
	aDereg     = v1alpha1.AnnotationDeregistrationDelay
	aPreStop   = v1alpha1.AnnotationPreStopDelay
	aDirect    = v1alpha1.AnnotationDirectAccess
)

var defaultPorts = []corev1.ServicePort{
	{Name: "http", Port: 80},
	{Name: "metrics", Port: 9090},
}

func service(ann map[string]string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Annotations: ann},
		Spec:       corev1.ServiceSpec{Ports: ports},
	}
}

// parseWith parses a Service on the default ports whose load-balancer is
// "be_web" unless ann says otherwise.
func parseWith(ann map[string]string) (v1alpha1.BackendGroupSpec, error) {
	all := map[string]string{aLB: "be_web"}
	for k, v := range ann {
		all[k] = v
	}
	return Parse(service(all, defaultPorts...))
}

// wantOneError checks that err holds exactly one *Error with these fields.
func wantOneError(t *testing.T, err error, annotation, value, reason string) {
	t.Helper()
	errs := Errors(err)
	if len(errs) != 1 {
		t.Fatalf("want 1 error on %s, got %d: %v", annotation, len(errs), err)
	}
	got := *errs[0]
	want := Error{Annotation: annotation, Value: value, Reason: reason}
	if got != want {
		t.Fatalf("error = %#v\nwant    %#v", got, want)
	}
}

func i32(v int32) *int32 { return &v }

const overflow = "99999999999999999999"

// intCase is one value of an integer annotation: want is the parsed value
// when ok, else the value must be rejected.
type intCase struct {
	value string
	want  int32
	ok    bool
}

func TestErrorMessage(t *testing.T) {
	e := &Error{Annotation: aWeight, Value: "abc", Reason: "must be an integer from 0 to 100"}
	const want = `annotation "lbgate.dev/weight" has invalid value "abc": must be an integer from 0 to 100`
	if got := e.Error(); got != want {
		t.Fatalf("Error() = %s\nwant      %s", got, want)
	}

	_, err := parseWith(map[string]string{aWeight: "abc"})
	if got := err.Error(); got != want {
		t.Fatalf("Parse error = %s\nwant          %s", got, want)
	}

	// Quotes and newlines in the value are escaped, so a message is one line.
	e = &Error{Annotation: aMode, Value: "a\"b\nc", Reason: "r"}
	if got, want := e.Error(), `annotation "lbgate.dev/network-mode" has invalid value "a\"b\nc": r`; got != want {
		t.Fatalf("Error() = %s, want %s", got, want)
	}

	// A huge value is cut short.
	e = &Error{Annotation: aLB, Value: strings.Repeat("x", 10000), Reason: "r"}
	if got, want := e.Error(), `annotation "lbgate.dev/load-balancer" has invalid value "`+strings.Repeat("x", 128)+`...": r`; got != want {
		t.Fatalf("Error() = %s, want %s", got, want)
	}

	var nilErr *Error
	if got := nilErr.Error(); got != "<nil>" {
		t.Fatalf("nil Error() = %q", got)
	}
}

func TestErrors(t *testing.T) {
	a := &Error{Annotation: aWeight, Value: "x", Reason: "r1"}
	b := &Error{Annotation: aMax, Value: "y", Reason: "r2"}
	c := &Error{Annotation: aMode, Value: "z", Reason: "r3"}
	tests := []struct {
		name string
		err  error
		want []*Error
	}{
		{"nil", nil, nil},
		{"plain", errors.New("x"), nil},
		{"single", a, []*Error{a}},
		{"joined", errors.Join(a, b), []*Error{a, b}},
		{"wrapped join", fmt.Errorf("service shop/web: %w", errors.Join(a, b)), []*Error{a, b}},
		{"nested", errors.Join(a, errors.Join(errors.New("other"), fmt.Errorf("w: %w", b)), c), []*Error{a, b, c}},
		{"typed nil", (*Error)(nil), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Errors(tt.err); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Errors() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOptedIn(t *testing.T) {
	const reason = `must be "true" or "false"`
	tests := []struct {
		name    string
		ann     map[string]string
		want    bool
		wantErr bool
	}{
		{"absent", nil, false, false},
		{"other annotations only", map[string]string{aLB: "x"}, false, false},
		{"true", map[string]string{aDirect: "true"}, true, false},
		{"TRUE", map[string]string{aDirect: "TRUE"}, true, false},
		{"True with spaces", map[string]string{aDirect: "  True \t"}, true, false},
		{"false", map[string]string{aDirect: "false"}, false, false},
		{"FALSE", map[string]string{aDirect: " FALSE "}, false, false},
		{"empty", map[string]string{aDirect: ""}, false, true},
		{"spaces", map[string]string{aDirect: "   "}, false, true},
		{"yes", map[string]string{aDirect: "yes"}, false, true},
		{"1", map[string]string{aDirect: "1"}, false, true},
		{"0", map[string]string{aDirect: "0"}, false, true},
		{"truee", map[string]string{aDirect: "truee"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := OptedIn(service(tt.ann))
			if got != tt.want {
				t.Errorf("OptedIn() = %v, want %v", got, tt.want)
			}
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			wantOneError(t, err, aDirect, tt.ann[aDirect], reason)
		})
	}
	if got, err := OptedIn(nil); got || err != nil {
		t.Fatalf("OptedIn(nil) = %v, %v", got, err)
	}
}

func TestParseDefaults(t *testing.T) {
	got, err := Parse(service(map[string]string{
		aDirect:                  "true",
		aLB:                      "be_web",
		"lbgate.dev/unknown":     "whatever",
		"lbgate.dev/max-backend": "not a number", // misspelt: ignored, not an error
		"example.com/weight":     "abc",
	}, defaultPorts...))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := v1alpha1.BackendGroupSpec{
		ServiceName: "web",
		Ports: []v1alpha1.PortBinding{
			{Port: 80, Target: "be_web"},
			{Port: 9090, Target: "be_web"},
		},
		Weight:              i32(10),
		MaxBackends:         i32(200),
		DeregistrationDelay: &metav1.Duration{Duration: 15 * time.Second},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse() =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseEverything(t *testing.T) {
	got, err := Parse(service(map[string]string{
		aLB:        " metrics = be_metrics , http=be_web ",
		aMode:      " Global-Router ",
		aMax:       " 50 ",
		aWeight:    "0",
		aHC:        "HTTP:/healthz?full=1",
		aInterval:  "1m",
		aTimeout:   "5",
		aHealthy:   "2",
		aUnhealthy: "3",
		aDereg:     "0s",
		aPreStop:   "20s",
	}, defaultPorts...))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := v1alpha1.BackendGroupSpec{
		ServiceName: "web",
		Ports: []v1alpha1.PortBinding{
			{Port: 80, Target: "be_web"},
			{Port: 9090, Target: "be_metrics"},
		},
		NetworkMode: v1alpha1.NetworkModeGlobalRouter,
		HealthCheck: &v1alpha1.HealthCheck{
			Protocol:           v1alpha1.HealthCheckHTTP,
			Path:               "/healthz?full=1",
			IntervalSeconds:    i32(60),
			TimeoutSeconds:     i32(5),
			HealthyThreshold:   i32(2),
			UnhealthyThreshold: i32(3),
		},
		Weight:              i32(0),
		MaxBackends:         i32(50),
		DeregistrationDelay: &metav1.Duration{},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse() =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseNilService(t *testing.T) {
	spec, err := Parse(nil)
	wantOneError(t, err, aLB, "", "is required")
	if !reflect.DeepEqual(spec, v1alpha1.BackendGroupSpec{}) {
		t.Fatalf("spec on error = %+v, want zero", spec)
	}
}

func TestLoadBalancer(t *testing.T) {
	long := strings.Repeat("b", 253)
	tests := []struct {
		name   string
		value  *string // nil: annotation absent
		ports  []corev1.ServicePort
		want   []v1alpha1.PortBinding
		reason []string // one per expected error
	}{
		{name: "one id, every port", value: s("be_web"),
			want: []v1alpha1.PortBinding{{Port: 80, Target: "be_web"}, {Port: 9090, Target: "be_web"}}},
		{name: "one id, trimmed", value: s("  be_web\t"),
			want: []v1alpha1.PortBinding{{Port: 80, Target: "be_web"}, {Port: 9090, Target: "be_web"}}},
		{name: "one id, 253 characters", value: s(long),
			want: []v1alpha1.PortBinding{{Port: 80, Target: long}, {Port: 9090, Target: long}}},
		{name: "one id, ports sorted", value: s("x"),
			ports: []corev1.ServicePort{{Name: "b", Port: 9000}, {Name: "a", Port: 443}, {Port: 8080}},
			want:  []v1alpha1.PortBinding{{Port: 443, Target: "x"}, {Port: 8080, Target: "x"}, {Port: 9000, Target: "x"}}},
		{name: "one id, same number TCP and UDP bound once", value: s("dns"),
			ports: []corev1.ServicePort{{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP}, {Name: "dns-udp", Port: 53, Protocol: corev1.ProtocolUDP}},
			want:  []v1alpha1.PortBinding{{Port: 53, Target: "dns"}}},
		{name: "by name", value: s("http=be_web,metrics=be_metrics"),
			want: []v1alpha1.PortBinding{{Port: 80, Target: "be_web"}, {Port: 9090, Target: "be_metrics"}}},
		{name: "by number, sorted, spaces", value: s(" 9090 = be_metrics ,  80=be_web "),
			want: []v1alpha1.PortBinding{{Port: 80, Target: "be_web"}, {Port: 9090, Target: "be_metrics"}}},
		{name: "mixed name and number", value: s("metrics=m,80=w"),
			want: []v1alpha1.PortBinding{{Port: 80, Target: "w"}, {Port: 9090, Target: "m"}}},
		{name: "some ports only", value: s("metrics=m"),
			want: []v1alpha1.PortBinding{{Port: 9090, Target: "m"}}},
		{name: "single entry by number", value: s("80=be_web"),
			want: []v1alpha1.PortBinding{{Port: 80, Target: "be_web"}}},
		{name: "numeric port name", value: s("8080=x"),
			ports: []corev1.ServicePort{{Name: "8080", Port: 80}},
			want:  []v1alpha1.PortBinding{{Port: 80, Target: "x"}}},
		{name: "unnamed port by number", value: s("8080=x"),
			ports: []corev1.ServicePort{{Port: 8080}},
			want:  []v1alpha1.PortBinding{{Port: 8080, Target: "x"}}},
		{name: "253 characters per port", value: s("80=" + long),
			want: []v1alpha1.PortBinding{{Port: 80, Target: long}}},

		{name: "absent", value: nil, reason: []string{"is required"}},
		{name: "empty", value: s(""), reason: []string{"is required"}},
		{name: "spaces", value: s("   "), reason: []string{"is required"}},
		{name: "unknown port name", value: s("grpc=be_grpc"),
			reason: []string{`port "grpc" is not a port of the Service (ports: http/80, metrics/9090)`}},
		{name: "unknown port number", value: s("8080=x"),
			reason: []string{`port "8080" is not a port of the Service (ports: http/80, metrics/9090)`}},
		{name: "unnamed ports listed by number", value: s("http=x"),
			ports:  []corev1.ServicePort{{Port: 80}, {Name: "admin", Port: 81}},
			reason: []string{`port "http" is not a port of the Service (ports: 80, admin/81)`}},
		{name: "port overflow", value: s(overflow + "=x"),
			reason: []string{`port "` + overflow + `" is not a port of the Service (ports: http/80, metrics/9090)`}},
		{name: "negative port", value: s("-80=x"),
			reason: []string{`port "-80" is not a port of the Service (ports: http/80, metrics/9090)`}},
		{name: "port zero", value: s("0=x"),
			reason: []string{`port "0" is not a port of the Service (ports: http/80, metrics/9090)`}},
		{name: "duplicate port, name and number", value: s("http=a,80=b"),
			reason: []string{`port "80" is listed more than once (as "http" and "80")`}},
		{name: "duplicate port, same key", value: s("http=a, http=a"),
			reason: []string{`port "http" is listed more than once`}},
		{name: "empty id", value: s("http="),
			reason: []string{`port "http" has an empty id`}},
		{name: "empty id with spaces", value: s("http=  ,metrics=m"),
			reason: []string{`port "http" has an empty id`}},
		{name: "no port", value: s("=be_web"),
			reason: []string{`entry "=be_web" has no port before "="`}},
		{name: "entry without =", value: s("be_web,80=x"),
			reason: []string{`entry "be_web" must be PORT=ID`}},
		{name: "list of ids", value: s("a,b"),
			reason: []string{`entry "a" must be PORT=ID`, `entry "b" must be PORT=ID`}},
		{name: "trailing comma", value: s("80=a,"),
			reason: []string{`entry 2 is empty (want PORT=ID,PORT=ID)`}},
		{name: "lone comma", value: s(","),
			reason: []string{`entry 1 is empty (want PORT=ID,PORT=ID)`, `entry 2 is empty (want PORT=ID,PORT=ID)`}},
		{name: "= inside id", value: s("80=a=b"),
			reason: []string{`id for port "80" must not contain "," or "="`}},
		{name: "space inside id", value: s("be web"),
			reason: []string{`id must not contain whitespace or unprintable characters`}},
		{name: "tab inside id per port", value: s("80=be\tweb"),
			reason: []string{`id for port "80" must not contain whitespace or unprintable characters`}},
		{name: "control character", value: s("be\x00web"),
			reason: []string{`id must not contain whitespace or unprintable characters`}},
		{name: "invalid UTF-8", value: s("be\xffweb"),
			reason: []string{`id must be valid UTF-8`}},
		{name: "id too long", value: s(long + "b"),
			reason: []string{`id must be at most 253 characters`}},
		{name: "id too long per port", value: s("http=" + long + "b"),
			reason: []string{`id for port "http" must be at most 253 characters`}},
		{name: "no ports, one id", value: s("be_web"), ports: []corev1.ServicePort{},
			reason: []string{"the Service has no ports"}},
		{name: "no ports, per port", value: s("80=be_web"), ports: []corev1.ServicePort{},
			reason: []string{"the Service has no ports"}},
		{name: "several problems", value: s("grpc=a,http=,80=b,80=c"),
			reason: []string{
				`port "grpc" is not a port of the Service (ports: http/80, metrics/9090)`,
				`port "http" has an empty id`,
				`port "80" is listed more than once`,
			}},
		{name: "many problems are capped", value: s(strings.Repeat(",", 14)),
			reason: append(func() []string {
				var r []string
				for i := 1; i <= 10; i++ {
					r = append(r, fmt.Sprintf("entry %d is empty (want PORT=ID,PORT=ID)", i))
				}
				return r
			}(), "5 more problems not listed")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ann := map[string]string{}
			if tt.value != nil {
				ann[aLB] = *tt.value
			}
			ports := tt.ports
			if ports == nil {
				ports = defaultPorts
			}
			spec, err := Parse(service(ann, ports...))
			if len(tt.reason) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if !reflect.DeepEqual(spec.Ports, tt.want) {
					t.Fatalf("Ports = %v, want %v", spec.Ports, tt.want)
				}
				return
			}
			errs := Errors(err)
			var got []string
			for _, e := range errs {
				if e.Annotation != aLB || e.Value != ann[aLB] {
					t.Errorf("error %#v: wrong annotation or value", e)
				}
				got = append(got, e.Reason)
			}
			if !reflect.DeepEqual(got, tt.reason) {
				t.Fatalf("reasons =\n%q\nwant\n%q", got, tt.reason)
			}
			if !reflect.DeepEqual(spec, v1alpha1.BackendGroupSpec{}) {
				t.Fatalf("spec on error = %+v, want zero", spec)
			}
		})
	}
}

func s(v string) *string { return &v }

func TestNetworkMode(t *testing.T) {
	const reason = `must be "eni" or "global-router"`
	tests := []struct {
		value string
		want  v1alpha1.NetworkMode
		ok    bool
	}{
		{"eni", v1alpha1.NetworkModeENI, true},
		{"ENI", v1alpha1.NetworkModeENI, true},
		{" Eni ", v1alpha1.NetworkModeENI, true},
		{"global-router", v1alpha1.NetworkModeGlobalRouter, true},
		{"GLOBAL-ROUTER", v1alpha1.NetworkModeGlobalRouter, true},
		{"", "", false},
		{"  ", "", false},
		{"global_router", "", false},
		{"globalrouter", "", false},
		{"vpc", "", false},
		{"eni,global-router", "", false},
		{"0", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			spec, err := parseWith(map[string]string{aMode: tt.value})
			if !tt.ok {
				wantOneError(t, err, aMode, tt.value, reason)
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if spec.NetworkMode != tt.want {
				t.Fatalf("NetworkMode = %q, want %q", spec.NetworkMode, tt.want)
			}
		})
	}
	spec, err := parseWith(nil)
	if err != nil || spec.NetworkMode != "" {
		t.Fatalf("absent: NetworkMode = %q, err = %v; want empty", spec.NetworkMode, err)
	}
}

func TestMaxBackends(t *testing.T) {
	testInteger(t, aMax, "must be an integer from 1 to 10000", 200,
		func(s v1alpha1.BackendGroupSpec) *int32 { return s.MaxBackends },
		[]intCase{
			{"1", 1, true}, {"200", 200, true}, {"10000", 10000, true}, {" 42 ", 42, true}, {"+7", 7, true}, {"007", 7, true},
			{"0", 0, false}, {"10001", 0, false}, {"-1", 0, false}, {"abc", 0, false}, {overflow, 0, false},
			{"-" + overflow, 0, false}, {"", 0, false}, {"   ", 0, false}, {"1.5", 0, false}, {"1e3", 0, false},
			{"0x10", 0, false}, {"1_000", 0, false}, {"10 0", 0, false}, {"2147483648", 0, false},
		})
}

func TestWeight(t *testing.T) {
	testInteger(t, aWeight, "must be an integer from 0 to 100", 10,
		func(s v1alpha1.BackendGroupSpec) *int32 { return s.Weight },
		[]intCase{
			{"0", 0, true}, {"1", 1, true}, {"10", 10, true}, {"100", 100, true}, {"\t50\n", 50, true}, {"-0", 0, true},
			{"101", 0, false}, {"-1", 0, false}, {"abc", 0, false}, {overflow, 0, false}, {"", 0, false},
			{" ", 0, false}, {"50%", 0, false}, {"5.0", 0, false},
		})
}

func TestHealthCheckThresholds(t *testing.T) {
	cases := []intCase{
		{"1", 1, true}, {"3", 3, true}, {"10", 10, true}, {" 5 ", 5, true},
		{"0", 0, false}, {"11", 0, false}, {"-1", 0, false}, {"abc", 0, false}, {overflow, 0, false},
		{"", 0, false}, {"  ", 0, false}, {"2.5", 0, false},
	}
	for _, tc := range []struct {
		annotation string
		field      func(v1alpha1.BackendGroupSpec) *int32
	}{
		{aHealthy, func(s v1alpha1.BackendGroupSpec) *int32 { return s.HealthCheck.HealthyThreshold }},
		{aUnhealthy, func(s v1alpha1.BackendGroupSpec) *int32 { return s.HealthCheck.UnhealthyThreshold }},
	} {
		t.Run(tc.annotation, func(t *testing.T) {
			testInteger(t, tc.annotation, "must be an integer from 1 to 10", -1, tc.field, cases)
		})
	}
}

// testInteger runs the cases of an integer annotation. def is the value the
// spec holds when the annotation is absent; -1 means the field is not set then.
func testInteger(t *testing.T, annotation, reason string, def int32, field func(v1alpha1.BackendGroupSpec) *int32, cases []intCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(fmt.Sprintf("%q", tt.value), func(t *testing.T) {
			spec, err := parseWith(map[string]string{annotation: tt.value})
			if !tt.ok {
				wantOneError(t, err, annotation, tt.value, reason)
				if !reflect.DeepEqual(spec, v1alpha1.BackendGroupSpec{}) {
					t.Fatalf("spec on error = %+v, want zero", spec)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got := field(spec); got == nil || *got != tt.want {
				t.Fatalf("%s = %v, want %d", annotation, got, tt.want)
			}
		})
	}
	t.Run("absent", func(t *testing.T) {
		spec, err := parseWith(nil)
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		if def < 0 {
			if spec.HealthCheck != nil {
				t.Fatalf("HealthCheck = %+v, want nil", spec.HealthCheck)
			}
			return
		}
		if got := field(spec); got == nil || *got != def {
			t.Fatalf("%s absent = %v, want %d", annotation, got, def)
		}
	})
}

// durationCase is one value of a duration annotation: want is the parsed
// value when ok, else the value must be rejected.
type durationCase struct {
	value string
	want  time.Duration
	ok    bool
}

// commonBadDurations are rejected by every duration annotation.
var commonBadDurations = []durationCase{
	{"abc", 0, false}, {"", 0, false}, {"   ", 0, false}, {overflow, 0, false}, {overflow + "s", 0, false},
	{"-" + overflow, 0, false}, {"9999999999999h", 0, false}, {"1.5s", 0, false}, {"1500ms", 0, false},
	{"2.5", 0, false}, {"-1s", 0, false}, {"-1", 0, false}, {"5 s", 0, false}, {"s", 0, false},
	{"1d", 0, false}, {"0x10", 0, false}, {"1e3", 0, false},
}

func TestHealthCheckInterval(t *testing.T) {
	testDuration(t, aInterval, "must be a duration in whole seconds from 1s to 5m0s",
		func(s v1alpha1.BackendGroupSpec) (time.Duration, bool) {
			if s.HealthCheck == nil || s.HealthCheck.IntervalSeconds == nil {
				return 0, false
			}
			return time.Duration(*s.HealthCheck.IntervalSeconds) * time.Second, true
		},
		append([]durationCase{
			{"1", time.Second, true}, {"1s", time.Second, true}, {"5s", 5 * time.Second, true},
			{"1m", time.Minute, true}, {"2000ms", 2 * time.Second, true}, {"300", 300 * time.Second, true},
			{"5m", 300 * time.Second, true}, {" 10s ", 10 * time.Second, true}, {"1m30s", 90 * time.Second, true},
			{"0", 0, false}, {"0s", 0, false}, {"301", 0, false}, {"301s", 0, false}, {"5m1s", 0, false},
			{"1h", 0, false}, {"500ms", 0, false},
		}, commonBadDurations...))
}

func TestHealthCheckTimeout(t *testing.T) {
	testDuration(t, aTimeout, "must be a duration in whole seconds from 1s to 1m0s",
		func(s v1alpha1.BackendGroupSpec) (time.Duration, bool) {
			if s.HealthCheck == nil || s.HealthCheck.TimeoutSeconds == nil {
				return 0, false
			}
			return time.Duration(*s.HealthCheck.TimeoutSeconds) * time.Second, true
		},
		append([]durationCase{
			{"1", time.Second, true}, {"1s", time.Second, true}, {"60", time.Minute, true}, {"1m", time.Minute, true},
			{" 2s ", 2 * time.Second, true},
			{"0", 0, false}, {"0s", 0, false}, {"61", 0, false}, {"61s", 0, false}, {"1m1s", 0, false},
		}, commonBadDurations...))
}

func TestDeregistrationDelay(t *testing.T) {
	testDuration(t, aDereg, "must be a duration in whole seconds from 0s to 1h0m0s",
		func(s v1alpha1.BackendGroupSpec) (time.Duration, bool) {
			if s.DeregistrationDelay == nil {
				return 0, false
			}
			return s.DeregistrationDelay.Duration, true
		},
		append([]durationCase{
			{"0", 0, true}, {"0s", 0, true}, {"1", time.Second, true}, {"15s", 15 * time.Second, true},
			{"3600", time.Hour, true}, {"1h", time.Hour, true}, {"60m", time.Hour, true}, {" 30s\t", 30 * time.Second, true},
			{"3601", 0, false}, {"1h0m1s", 0, false}, {"2h", 0, false},
		}, commonBadDurations...))
	spec, err := parseWith(nil)
	if err != nil || spec.DeregistrationDelay == nil || spec.DeregistrationDelay.Duration != 15*time.Second {
		t.Fatalf("absent: DeregistrationDelay = %v, err = %v; want 15s", spec.DeregistrationDelay, err)
	}
}

func TestReadinessTimeout(t *testing.T) {
	testDuration(t, v1alpha1.AnnotationReadinessTimeout, "must be a duration in whole seconds from 10s to 1h0m0s",
		func(s v1alpha1.BackendGroupSpec) (time.Duration, bool) {
			if s.ReadinessTimeout == nil {
				return 0, false
			}
			return s.ReadinessTimeout.Duration, true
		},
		append([]durationCase{
			{"10", 10 * time.Second, true}, {"10s", 10 * time.Second, true}, {"5m", 5 * time.Minute, true},
			{"1h", time.Hour, true}, {"3600", time.Hour, true},
			{"0", 0, false}, {"9s", 0, false}, {"1h0m1s", 0, false}, {"2h", 0, false},
		}, commonBadDurations...))
	if spec, err := parseWith(nil); err != nil || spec.ReadinessTimeout != nil {
		t.Fatalf("absent: ReadinessTimeout = %v, err = %v; want nil (off)", spec.ReadinessTimeout, err)
	}
}

func TestSlowStart(t *testing.T) {
	testDuration(t, v1alpha1.AnnotationSlowStart, "must be a duration in whole seconds from 1s to 10m0s",
		func(s v1alpha1.BackendGroupSpec) (time.Duration, bool) {
			if s.SlowStart == nil {
				return 0, false
			}
			return s.SlowStart.Duration, true
		},
		append([]durationCase{
			{"1", time.Second, true}, {"30s", 30 * time.Second, true}, {"10m", 10 * time.Minute, true},
			{"0", 0, false}, {"0s", 0, false}, {"10m1s", 0, false}, {"1h", 0, false},
		}, commonBadDurations...))
	if spec, err := parseWith(nil); err != nil || spec.SlowStart != nil {
		t.Fatalf("absent: SlowStart = %v, err = %v; want nil (off)", spec.SlowStart, err)
	}
}

func testDuration(t *testing.T, annotation, reason string, field func(v1alpha1.BackendGroupSpec) (time.Duration, bool), cases []durationCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(fmt.Sprintf("%q", tt.value), func(t *testing.T) {
			spec, err := parseWith(map[string]string{annotation: tt.value})
			if !tt.ok {
				wantOneError(t, err, annotation, tt.value, reason)
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got, set := field(spec); !set || got != tt.want {
				t.Fatalf("%s = %v (set %v), want %v", annotation, got, set, tt.want)
			}
		})
	}
}

// preStopReason is the reason of every bad lbgate.dev/prestop-delay.
const preStopReason = `must be "0" (off) or a duration in whole seconds from 1s to 10m0s`

func TestPreStopDelay(t *testing.T) {
	const reason = preStopReason
	cases := append([]durationCase{
		{"1", time.Second, true}, {"1s", time.Second, true}, {"20", 20 * time.Second, true}, {"20s", 20 * time.Second, true},
		{"600", 10 * time.Minute, true}, {"10m", 10 * time.Minute, true}, {" 5s ", 5 * time.Second, true},
		// Issue 10, item 7: "0" turns the default preStop sleep off; ok
		// with 0 is how a caller tells it from an absent annotation.
		{"0", 0, true}, {"0s", 0, true}, {" 0 ", 0, true}, {"0m", 0, true},
		{"0.5s", 0, false}, {"500ms", 0, false}, {"601", 0, false}, {"10m1s", 0, false}, {"1h", 0, false},
	}, commonBadDurations...)
	for _, tt := range cases {
		t.Run(fmt.Sprintf("%q", tt.value), func(t *testing.T) {
			d, ok, err := PreStopDelay(map[string]string{aPreStop: tt.value, aLB: "x"})
			if !tt.ok {
				wantOneError(t, err, aPreStop, tt.value, reason)
				if ok || d != 0 {
					t.Fatalf("on error: d = %v, ok = %v; want 0, false", d, ok)
				}
				return
			}
			if err != nil || !ok || d != tt.want {
				t.Fatalf("PreStopDelay = %v, %v, %v; want %v, true, nil", d, ok, err, tt.want)
			}
		})
	}
	for _, ann := range []map[string]string{nil, {}, {aLB: "x"}} {
		if d, ok, err := PreStopDelay(ann); d != 0 || ok || err != nil {
			t.Fatalf("absent: PreStopDelay(%v) = %v, %v, %v", ann, d, ok, err)
		}
	}
}

// TestParseReportsPreStopDelay: a malformed lbgate.dev/prestop-delay is an
// annotation problem like any other (issue 8, item 7): Parse reports it, so
// the Service gets an InvalidAnnotation event and its group Accepted=False,
// and the spec (which has no field for it) is not touched.
func TestParseReportsPreStopDelay(t *testing.T) {
	const reason = preStopReason
	tests := []struct {
		value string
		ok    bool
	}{
		{"20s", true}, {"20", true}, {"10m", true}, {" 1s ", true}, {"0", true}, {"0s", true},
		{"nonsense", false}, {"", false}, {"0.5s", false}, {"601", false}, {"1.5s", false}, {"-5s", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.value), func(t *testing.T) {
			spec, err := parseWith(map[string]string{aPreStop: tt.value})
			if tt.ok {
				want, _ := parseWith(nil)
				if err != nil || !reflect.DeepEqual(spec, want) {
					t.Fatalf("Parse = %+v, %v; want the spec without prestop-delay and no error", spec, err)
				}
				return
			}
			wantOneError(t, err, aPreStop, tt.value, reason)
			if !reflect.DeepEqual(spec, v1alpha1.BackendGroupSpec{}) {
				t.Fatalf("spec on error = %+v, want zero", spec)
			}
		})
	}
}

func TestHealthCheck(t *testing.T) {
	const want = `must be "http", "http:/PATH" or "tcp"`
	tests := []struct {
		value  string
		proto  v1alpha1.HealthCheckProtocol
		path   string
		reason string
	}{
		{"http", v1alpha1.HealthCheckHTTP, "/", ""},
		{"HTTP", v1alpha1.HealthCheckHTTP, "/", ""},
		{" http ", v1alpha1.HealthCheckHTTP, "/", ""},
		{"http:/", v1alpha1.HealthCheckHTTP, "/", ""},
		{"http:/healthz", v1alpha1.HealthCheckHTTP, "/healthz", ""},
		{"Http:/Healthz/Deep?x=1&y=a:b", v1alpha1.HealthCheckHTTP, "/Healthz/Deep?x=1&y=a:b", ""},
		{"http:/" + strings.Repeat("p", 1023), v1alpha1.HealthCheckHTTP, "/" + strings.Repeat("p", 1023), ""},
		{"tcp", v1alpha1.HealthCheckTCP, "", ""},
		{" TCP\t", v1alpha1.HealthCheckTCP, "", ""},

		{"", "", "", want},
		{"   ", "", "", want},
		{"https", "", "", want},
		{"https:/x", "", "", want},
		{"udp", "", "", want},
		{"/healthz", "", "", want},
		{"http/healthz", "", "", want},
		{"http :/x", "", "", want},
		{"http:", "", "", `path must start with "/"`},
		{"http:healthz", "", "", `path must start with "/"`},
		{"http: /healthz", "", "", `path must start with "/"`},
		{"http:/health z", "", "", "path must not contain spaces or unprintable characters"},
		{"http:/health\tz", "", "", "path must not contain spaces or unprintable characters"},
		{"http:/health\x7f", "", "", "path must not contain spaces or unprintable characters"},
		{"http:/\xff", "", "", "path must be valid UTF-8"},
		{"http:/" + strings.Repeat("p", 1024), "", "", "path must be at most 1024 characters"},
		{"tcp:/x", "", "", `"tcp" takes no path`},
		{"tcp:", "", "", `"tcp" takes no path`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.40q", tt.value), func(t *testing.T) {
			spec, err := parseWith(map[string]string{aHC: tt.value})
			if tt.reason != "" {
				wantOneError(t, err, aHC, tt.value, tt.reason)
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			want := &v1alpha1.HealthCheck{Protocol: tt.proto, Path: tt.path}
			if !reflect.DeepEqual(spec.HealthCheck, want) {
				t.Fatalf("HealthCheck = %+v, want %+v", spec.HealthCheck, want)
			}
		})
	}
}

func TestHealthCheckPresence(t *testing.T) {
	tests := []struct {
		name string
		ann  map[string]string
		want *v1alpha1.HealthCheck
	}{
		{"none", nil, nil},
		{"interval only", map[string]string{aInterval: "10s"}, &v1alpha1.HealthCheck{IntervalSeconds: i32(10)}},
		{"timeout only", map[string]string{aTimeout: "60"}, &v1alpha1.HealthCheck{TimeoutSeconds: i32(60)}},
		{"healthy only", map[string]string{aHealthy: "2"}, &v1alpha1.HealthCheck{HealthyThreshold: i32(2)}},
		{"unhealthy only", map[string]string{aUnhealthy: "4"}, &v1alpha1.HealthCheck{UnhealthyThreshold: i32(4)}},
		{"tcp and thresholds", map[string]string{aHC: "tcp", aHealthy: "1", aUnhealthy: "10"},
			&v1alpha1.HealthCheck{Protocol: v1alpha1.HealthCheckTCP, HealthyThreshold: i32(1), UnhealthyThreshold: i32(10)}},
		{"timeout just below interval", map[string]string{aInterval: "5s", aTimeout: "4s"},
			&v1alpha1.HealthCheck{IntervalSeconds: i32(5), TimeoutSeconds: i32(4)}},
		{"other annotations do not count", map[string]string{aWeight: "5", "lbgate.dev/health-check-path": "/x"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := parseWith(tt.ann)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(spec.HealthCheck, tt.want) {
				t.Fatalf("HealthCheck = %+v, want %+v", spec.HealthCheck, tt.want)
			}
		})
	}
}

func TestHealthCheckTimeoutBelowInterval(t *testing.T) {
	tests := []struct{ interval, timeout, reason string }{
		{"5s", "5s", "must be shorter than lbgate.dev/health-check-interval (5s)"},
		{"5", "6", "must be shorter than lbgate.dev/health-check-interval (5s)"},
		{"1s", "1s", "must be shorter than lbgate.dev/health-check-interval (1s)"},
		{"1m", "60", "must be shorter than lbgate.dev/health-check-interval (1m0s)"},
	}
	for _, tt := range tests {
		t.Run(tt.interval+"/"+tt.timeout, func(t *testing.T) {
			_, err := parseWith(map[string]string{aInterval: tt.interval, aTimeout: tt.timeout})
			wantOneError(t, err, aTimeout, tt.timeout, tt.reason)
		})
	}
	// An invalid interval is reported alone: no comparison against it.
	_, err := parseWith(map[string]string{aInterval: "0", aTimeout: "5"})
	wantOneError(t, err, aInterval, "0", "must be a duration in whole seconds from 1s to 5m0s")
}

func TestParseMultipleErrors(t *testing.T) {
	svc := service(map[string]string{
		aDirect:    "true",
		aLB:        "grpc=be_grpc",
		aMode:      "vpc",
		aMax:       "0",
		aWeight:    "abc",
		aHC:        "https",
		aInterval:  "1.5s",
		aTimeout:   "",
		aHealthy:   "11",
		aUnhealthy: "-1",
		aDereg:     "2h",
		aPreStop:   "soon",
	}, defaultPorts...)
	spec, err := Parse(svc)
	if err == nil {
		t.Fatal("want errors")
	}
	if !reflect.DeepEqual(spec, v1alpha1.BackendGroupSpec{}) {
		t.Fatalf("spec on error = %+v, want zero", spec)
	}
	want := []string{
		`annotation "lbgate.dev/load-balancer" has invalid value "grpc=be_grpc": port "grpc" is not a port of the Service (ports: http/80, metrics/9090)`,
		`annotation "lbgate.dev/network-mode" has invalid value "vpc": must be "eni" or "global-router"`,
		`annotation "lbgate.dev/max-backends" has invalid value "0": must be an integer from 1 to 10000`,
		`annotation "lbgate.dev/weight" has invalid value "abc": must be an integer from 0 to 100`,
		`annotation "lbgate.dev/health-check" has invalid value "https": must be "http", "http:/PATH" or "tcp"`,
		`annotation "lbgate.dev/health-check-interval" has invalid value "1.5s": must be a duration in whole seconds from 1s to 5m0s`,
		`annotation "lbgate.dev/health-check-timeout" has invalid value "": must be a duration in whole seconds from 1s to 1m0s`,
		`annotation "lbgate.dev/health-check-healthy-threshold" has invalid value "11": must be an integer from 1 to 10`,
		`annotation "lbgate.dev/health-check-unhealthy-threshold" has invalid value "-1": must be an integer from 1 to 10`,
		`annotation "lbgate.dev/deregistration-delay" has invalid value "2h": must be a duration in whole seconds from 0s to 1h0m0s`,
		`annotation "lbgate.dev/prestop-delay" has invalid value "soon": must be "0" (off) or a duration in whole seconds from 1s to 10m0s`,
	}
	var got []string
	for _, e := range Errors(err) {
		got = append(got, e.Error())
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("errors =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err.Error() != strings.Join(want, "\n") {
		t.Fatalf("err.Error() =\n%s", err.Error())
	}
	// The error is still an *Error for errors.As.
	var e *Error
	if !errors.As(err, &e) || e.Annotation != aLB {
		t.Fatalf("errors.As = %v", e)
	}
	// Parse is deterministic.
	_, err2 := Parse(svc)
	if err2.Error() != err.Error() {
		t.Fatalf("second Parse differs:\n%s", err2)
	}
}

// FuzzParse builds a Service from fuzzed annotation values and ports and checks
// that nothing panics, that a successful Parse yields a spec within every
// limit, and that a failed one explains itself with lbgate.dev/ annotations.
func FuzzParse(f *testing.F) {
	type seed struct {
		present                                                                            uint16
		lb, mode, maxB, weight, hc, interval, timeout, healthy, unhealthy, dereg, pre, dir string
		name1                                                                              string
		port1                                                                              int32
		name2                                                                              string
		port2                                                                              int32
	}
	all := uint16(0xfff)
	seeds := []seed{
		{1, "be_web", "", "", "", "", "", "", "", "", "", "", "", "http", 80, "metrics", 9090},
		{all, "http=a,metrics=b", "eni", "200", "10", "http:/healthz", "5s", "2", "3", "3", "15s", "20s", "true", "http", 80, "metrics", 9090},
		{all, " 9090 = b , 80=a ", "GLOBAL-ROUTER", "1", "0", "tcp", "300", "60", "1", "10", "0", "600", "FALSE", "http", 80, "", 9090},
		{all, "grpc=x", "vpc", "0", "abc", "https", "1.5s", "", "11", "-1", "2h", "0", "yes", "http", 80, "metrics", 9090},
		{all, "http=a,80=b", "", overflow, overflow, "http:", overflow, overflow + "s", overflow, "", "-1s", "9999999999999h", "", "http", 80, "http", 80},
		{1, ",,=,a=,=b", "", "", "", "", "", "", "", "", "", "", "", "", 0, "", -1},
		{1, "dns", "", "", "", "", "", "", "", "", "", "", "", "dns-tcp", 53, "dns-udp", 53},
		{1, "80=a=b", "", "", "", "", "", "", "", "", "", "", "", "80", 8080, "8080", 80},
		{0x7f, "be web", "eni", "10001", "101", "http:/a b", "5", "5", "0", "0", "3601", "", "", "http", 65535, "x", 65536},
		{1, strings.Repeat("b", 254), "", "", "", "", "", "", "", "", "", "", "", "a", 1, "b", 2},
		{1, "\xff", "", "", "", "", "", "", "", "", "", "", "", "\xff", 1, "", 0},
	}
	for _, s := range seeds {
		f.Add(s.present, s.lb, s.mode, s.maxB, s.weight, s.hc, s.interval, s.timeout, s.healthy, s.unhealthy,
			s.dereg, s.pre, s.dir, s.name1, s.port1, s.name2, s.port2)
	}
	f.Fuzz(func(t *testing.T, present uint16, lb, mode, maxB, weight, hc, interval, timeout, healthy, unhealthy,
		dereg, pre, dir, name1 string, port1 int32, name2 string, port2 int32) {
		names := []string{aLB, aMode, aMax, aWeight, aHC, aInterval, aTimeout, aHealthy, aUnhealthy, aDereg, aPreStop, aDirect}
		values := []string{lb, mode, maxB, weight, hc, interval, timeout, healthy, unhealthy, dereg, pre, dir}
		ann := map[string]string{"lbgate.dev/unknown": lb, "other.example/weight": weight}
		for i, n := range names {
			if present&(1<<i) != 0 {
				ann[n] = values[i]
			}
		}
		var ports []corev1.ServicePort
		if name1 != "" || port1 != 0 {
			ports = append(ports, corev1.ServicePort{Name: name1, Port: port1})
		}
		if name2 != "" || port2 != 0 {
			ports = append(ports, corev1.ServicePort{Name: name2, Port: port2})
		}
		svc := service(ann, ports...)

		spec, err := Parse(svc)
		if err != nil {
			checkFailure(t, err, ann)
			if !reflect.DeepEqual(spec, v1alpha1.BackendGroupSpec{}) {
				t.Fatalf("spec on error = %+v, want zero", spec)
			}
		} else {
			checkSpec(t, spec, svc)
		}
		spec2, err2 := Parse(svc)
		if !reflect.DeepEqual(spec, spec2) || (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
			t.Fatalf("Parse is not deterministic")
		}

		in, err := OptedIn(svc)
		if err != nil {
			checkFailure(t, err, ann)
			if in {
				t.Fatal("OptedIn true with error")
			}
		} else if v := strings.ToLower(strings.TrimSpace(ann[aDirect])); in != (v == "true") {
			t.Fatalf("OptedIn(%q) = %v", ann[aDirect], in)
		}

		d, ok, err := PreStopDelay(ann)
		if err != nil {
			checkFailure(t, err, ann)
		}
		if ok && (err != nil || d < 0 || (d > 0 && d < time.Second) || d > 600*time.Second || d%time.Second != 0) {
			t.Fatalf("PreStopDelay = %v, %v, %v", d, ok, err)
		}
		if !ok && d != 0 {
			t.Fatalf("PreStopDelay not ok but d = %v", d)
		}
	})
}

func checkFailure(t *testing.T, err error, ann map[string]string) {
	t.Helper()
	errs := Errors(err)
	if len(errs) == 0 {
		t.Fatalf("error without *Error: %v", err)
	}
	for _, e := range errs {
		if !strings.HasPrefix(e.Annotation, v1alpha1.AnnotationPrefix) || e.Reason == "" {
			t.Fatalf("bad Error %#v", e)
		}
		if e.Value != ann[e.Annotation] {
			t.Fatalf("Error value %q, annotation holds %q", e.Value, ann[e.Annotation])
		}
		if msg := e.Error(); !strings.HasPrefix(msg, `annotation "lbgate.dev/`) || strings.Contains(msg, "\n") {
			t.Fatalf("bad message %q", msg)
		}
	}
}

func checkSpec(t *testing.T, spec v1alpha1.BackendGroupSpec, svc *corev1.Service) {
	t.Helper()
	ann := svc.Annotations
	inRange := func(name string, p *int32, lo, hi int32) {
		t.Helper()
		if p != nil && (*p < lo || *p > hi) {
			t.Fatalf("%s = %d, outside %d..%d", name, *p, lo, hi)
		}
	}
	if spec.ServiceName != svc.Name {
		t.Fatalf("ServiceName = %q", spec.ServiceName)
	}
	if len(spec.Ports) == 0 {
		t.Fatal("no ports")
	}
	for i, pb := range spec.Ports {
		if pb.Port < 1 || pb.Port > 65535 {
			t.Fatalf("port %d out of range", pb.Port)
		}
		if i > 0 && pb.Port <= spec.Ports[i-1].Port {
			t.Fatalf("ports not sorted and unique: %v", spec.Ports)
		}
		found := false
		for _, sp := range svc.Spec.Ports {
			found = found || sp.Port == pb.Port
		}
		if !found {
			t.Fatalf("port %d is not a Service port", pb.Port)
		}
		if pb.Target == "" || utf8.RuneCountInString(pb.Target) > 253 || !utf8.ValidString(pb.Target) ||
			strings.ContainsAny(pb.Target, ",=") || strings.IndexFunc(pb.Target, unicode.IsSpace) >= 0 {
			t.Fatalf("bad target %q", pb.Target)
		}
	}
	switch spec.NetworkMode {
	case "", v1alpha1.NetworkModeENI, v1alpha1.NetworkModeGlobalRouter:
	default:
		t.Fatalf("NetworkMode = %q", spec.NetworkMode)
	}
	if _, ok := ann[aMode]; ok != (spec.NetworkMode != "") {
		t.Fatalf("NetworkMode %q with annotation present %v", spec.NetworkMode, ok)
	}
	if spec.Weight == nil || spec.MaxBackends == nil || spec.DeregistrationDelay == nil {
		t.Fatalf("defaults not written: %+v", spec)
	}
	inRange("weight", spec.Weight, 0, 100)
	inRange("max-backends", spec.MaxBackends, 1, 10000)
	if d := spec.DeregistrationDelay.Duration; d < 0 || d > time.Hour || d%time.Second != 0 {
		t.Fatalf("deregistration delay %v", d)
	}
	_, h1 := ann[aHC]
	_, h2 := ann[aInterval]
	_, h3 := ann[aTimeout]
	_, h4 := ann[aHealthy]
	_, h5 := ann[aUnhealthy]
	hc := spec.HealthCheck
	if (hc != nil) != (h1 || h2 || h3 || h4 || h5) {
		t.Fatalf("HealthCheck %+v with annotations present %v %v %v %v %v", hc, h1, h2, h3, h4, h5)
	}
	if hc == nil {
		return
	}
	switch hc.Protocol {
	case "":
		if h1 || hc.Path != "" {
			t.Fatalf("HealthCheck %+v", hc)
		}
	case v1alpha1.HealthCheckTCP:
		if hc.Path != "" {
			t.Fatalf("tcp with path %q", hc.Path)
		}
	case v1alpha1.HealthCheckHTTP:
		if !strings.HasPrefix(hc.Path, "/") || strings.IndexFunc(hc.Path, unicode.IsSpace) >= 0 || !utf8.ValidString(hc.Path) {
			t.Fatalf("bad path %q", hc.Path)
		}
	default:
		t.Fatalf("protocol %q", hc.Protocol)
	}
	inRange("interval", hc.IntervalSeconds, 1, 300)
	inRange("timeout", hc.TimeoutSeconds, 1, 60)
	inRange("healthy", hc.HealthyThreshold, 1, 10)
	inRange("unhealthy", hc.UnhealthyThreshold, 1, 10)
	if hc.IntervalSeconds != nil && hc.TimeoutSeconds != nil && *hc.TimeoutSeconds >= *hc.IntervalSeconds {
		t.Fatalf("timeout %d not below interval %d", *hc.TimeoutSeconds, *hc.IntervalSeconds)
	}
	if (hc.IntervalSeconds != nil) != h2 || (hc.TimeoutSeconds != nil) != h3 ||
		(hc.HealthyThreshold != nil) != h4 || (hc.UnhealthyThreshold != nil) != h5 {
		t.Fatalf("HealthCheck fields %+v do not match annotations", hc)
	}
}
