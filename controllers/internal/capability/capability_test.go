package capability

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbgate/lbgate/api/v1alpha1"
	"github.com/lbgate/lbgate/providers"
)

func i32(n int32) *int32 { return &n }

// caps imitate the HAProxy provider: "added" takes the per-server
// settings, "declared" reports its thresholds (rise 3 known so far).
var (
	perServer = providers.SettingCheckInterval | providers.SettingCheckHealthyThreshold | providers.SettingCheckUnhealthyThreshold | providers.SettingSlowStart
	where     = map[providers.Setting]string{
		providers.SettingCheckProtocol: "option httpchk in haproxy.cfg",
		providers.SettingCheckPath:     "option httpchk in haproxy.cfg",
		providers.SettingCheckTimeout:  "timeout check in haproxy.cfg",
		providers.SettingCheckInterval: "inter on the server-template line",
		providers.SettingSlowStart:     "slowstart on the server-template line",
	}
	caps = map[string]providers.Capabilities{
		"added": {Applied: perServer, Where: where,
			InForce: providers.Settings{HealthCheck: providers.HealthCheck{Interval: 2 * time.Second, HealthyThreshold: 2, UnhealthyThreshold: 3}}},
		"declared": {Reported: providers.SettingCheckHealthyThreshold | providers.SettingCheckUnhealthyThreshold, Where: where,
			InForce: providers.Settings{HealthCheck: providers.HealthCheck{HealthyThreshold: 3}}},
	}
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		spec    v1alpha1.BackendGroupSpec
		targets []string
		naming  Naming
		want    []string // "target name=value inForce"
	}{
		{"nothing asked", v1alpha1.BackendGroupSpec{}, []string{"added", "declared"}, Annotations, nil},
		{"per-server settings on slots the provider adds", v1alpha1.BackendGroupSpec{
			HealthCheck: &v1alpha1.HealthCheck{IntervalSeconds: i32(5), HealthyThreshold: i32(3)},
			SlowStart:   &metav1.Duration{Duration: 30 * time.Second},
		}, []string{"added"}, Annotations, nil},
		{"protocol and path are one annotation, refused once per target", v1alpha1.BackendGroupSpec{
			HealthCheck: &v1alpha1.HealthCheck{Protocol: v1alpha1.HealthCheckHTTP, Path: "/healthz"},
		}, []string{"added", "declared"}, Annotations, []string{
			`added lbgate.dev/health-check=http:/healthz `, `declared lbgate.dev/health-check=http:/healthz `,
		}},
		{"protocol and path are two fields of a hand-made group", v1alpha1.BackendGroupSpec{
			HealthCheck: &v1alpha1.HealthCheck{Protocol: v1alpha1.HealthCheckHTTP, Path: "/healthz"},
		}, []string{"added"}, Fields, []string{
			`added spec.healthCheck.protocol=http `, `added spec.healthCheck.path=/healthz `,
		}},
		{"declared slots: thresholds compared, interval and slow start refused", v1alpha1.BackendGroupSpec{
			HealthCheck: &v1alpha1.HealthCheck{IntervalSeconds: i32(1), HealthyThreshold: i32(2), UnhealthyThreshold: i32(2)},
			SlowStart:   &metav1.Duration{Duration: 10 * time.Second},
		}, []string{"declared"}, Annotations, []string{
			`declared lbgate.dev/health-check-interval=1s `,
			`declared lbgate.dev/health-check-healthy-threshold=2 3`,
			`declared lbgate.dev/slow-start=10s `,
		}},
		{"field names and values of a hand-made group", v1alpha1.BackendGroupSpec{
			HealthCheck: &v1alpha1.HealthCheck{TimeoutSeconds: i32(3)},
			SlowStart:   &metav1.Duration{Duration: 90 * time.Second},
		}, []string{"added", "declared"}, Fields, []string{
			`added spec.healthCheck.timeoutSeconds=3 `,
			`declared spec.healthCheck.timeoutSeconds=3 `, `declared spec.slowStart=1m30s `,
		}},
		{"a target whose limits were not read is skipped", v1alpha1.BackendGroupSpec{
			HealthCheck: &v1alpha1.HealthCheck{TimeoutSeconds: i32(3)},
		}, []string{"unread", "added"}, Annotations, []string{`added lbgate.dev/health-check-timeout=3s `}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range Check(tt.spec, tt.targets, caps, tt.naming) {
				got = append(got, r.Target+" "+r.Name+"="+r.Value+" "+r.InForce)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Check() =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	spec := v1alpha1.BackendGroupSpec{HealthCheck: &v1alpha1.HealthCheck{TimeoutSeconds: i32(3), HealthyThreshold: i32(2)}}
	got := Message("haproxy", Check(spec, []string{"added", "declared"}, caps, Annotations))
	for _, want := range []string{
		`lbgate.dev/health-check-timeout "3s": the haproxy provider cannot apply it on target added: timeout check in haproxy.cfg`,
		`lbgate.dev/health-check-healthy-threshold "2": target declared has 3, and the haproxy provider cannot set it`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Message() = %q\nwant it to contain %q", got, want)
		}
	}
	if n := strings.Count(got, "; "); n != 2 {
		t.Errorf("Message() has %d clauses, want 3 (timeout on both targets, rise on declared): %q", n+1, got)
	}
}

func TestEffective(t *testing.T) {
	tests := []struct {
		name    string
		spec    v1alpha1.BackendGroupSpec
		targets []string
		caps    map[string]providers.Capabilities
		want    *v1alpha1.HealthCheck
		ok      bool
	}{
		{"the provider's defaults where the group sets nothing", v1alpha1.BackendGroupSpec{}, []string{"added"}, caps,
			&v1alpha1.HealthCheck{IntervalSeconds: i32(2), HealthyThreshold: i32(2), UnhealthyThreshold: i32(3)}, true},
		{"the group's values where the provider applies them", v1alpha1.BackendGroupSpec{
			HealthCheck: &v1alpha1.HealthCheck{IntervalSeconds: i32(5), HealthyThreshold: i32(4)},
		}, []string{"added"}, caps,
			&v1alpha1.HealthCheck{IntervalSeconds: i32(5), HealthyThreshold: i32(4), UnhealthyThreshold: i32(3)}, true},
		{"declared slots: what the load balancer reports, nothing else", v1alpha1.BackendGroupSpec{
			HealthCheck: &v1alpha1.HealthCheck{HealthyThreshold: i32(3), UnhealthyThreshold: i32(4)},
		}, []string{"declared"}, caps, &v1alpha1.HealthCheck{HealthyThreshold: i32(3)}, true},
		{"fields the targets disagree on are left out", v1alpha1.BackendGroupSpec{}, []string{"added", "declared"}, caps, nil, true},
		{"an interval the API cannot hold is left out", v1alpha1.BackendGroupSpec{}, []string{"fast"},
			map[string]providers.Capabilities{"fast": {InForce: providers.Settings{HealthCheck: providers.HealthCheck{Interval: 200 * time.Millisecond, HealthyThreshold: 2, UnhealthyThreshold: 20}}}},
			&v1alpha1.HealthCheck{HealthyThreshold: i32(2)}, true},
		{"protocol and path, when the provider knows them", v1alpha1.BackendGroupSpec{
			HealthCheck: &v1alpha1.HealthCheck{Protocol: v1alpha1.HealthCheckHTTP, Path: "/hz"},
		}, []string{"all"}, map[string]providers.Capabilities{"all": {Applied: providers.AllSettings}},
			&v1alpha1.HealthCheck{Protocol: v1alpha1.HealthCheckHTTP, Path: "/hz"}, true},
		{"a target not read: nothing is said", v1alpha1.BackendGroupSpec{}, []string{"added", "unread"}, caps, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Effective(tt.spec, tt.targets, tt.caps)
			if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Effective() = %s, %v; want %s, %v", show(got), ok, show(tt.want), tt.ok)
			}
		})
	}
}

func TestTarget(t *testing.T) {
	spec := v1alpha1.BackendGroupSpec{HealthCheck: &v1alpha1.HealthCheck{IntervalSeconds: i32(5)}, SlowStart: &metav1.Duration{Duration: time.Minute}}
	got := Target("be", spec)
	if got.ID != "be" || got.SlowStart != time.Minute || got.HealthCheck == nil || got.HealthCheck.Interval != 5*time.Second {
		t.Errorf("Target() = %+v", got)
	}
	if got := Target("be", v1alpha1.BackendGroupSpec{}); got.HealthCheck != nil || got.SlowStart != 0 {
		t.Errorf("Target() of an empty spec = %+v, want no settings", got)
	}
}

func show(hc *v1alpha1.HealthCheck) string {
	if hc == nil {
		return "nil"
	}
	v := func(p *int32) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("{%s %s i%s t%s r%s f%s}", hc.Protocol, hc.Path, v(hc.IntervalSeconds), v(hc.TimeoutSeconds), v(hc.HealthyThreshold), v(hc.UnhealthyThreshold))
}
