package tencent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"

	"github.com/lbgate/lbgate/providers"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in   string
		want targetID
		ok   bool
	}{
		{"lb-abc/lbl-def", targetID{raw: "lb-abc/lbl-def", lb: "lb-abc", listener: "lbl-def"}, true},
		{"lb-abc/lbl-def/loc-ghi", targetID{raw: "lb-abc/lbl-def/loc-ghi", lb: "lb-abc", listener: "lbl-def", location: "loc-ghi"}, true},
		{"lb-abc", targetID{}, false},
		{"lb-abc/lbl-def/loc-ghi/x", targetID{}, false},
		{"lbl-def/lb-abc", targetID{}, false},
		{"lb-/lbl-def", targetID{}, false},
		{"lb-abc/lbl-def/", targetID{}, false},
		{"be_web", targetID{}, false},
		{"lb-a b/lbl-def", targetID{}, false},
	}
	for _, tt := range tests {
		got, err := parseTarget(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseTarget(%q) = %+v, %v; want %+v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !providers.IsNotFound(err) {
			t.Errorf("parseTarget(%q): %v is not a NotFoundError (a configuration to fix)", tt.in, err)
		}
	}
}

func TestHealthOf(t *testing.T) {
	tests := []struct {
		name string
		in   TargetHealth
		want providers.Health
	}{
		{"alive", TargetHealth{HealthStatus: true, HealthStatusDetail: HealthAlive, Weight: 10}, providers.HealthHealthy},
		{"dead", TargetHealth{HealthStatusDetail: HealthDead, Weight: 10}, providers.HealthUnhealthy},
		{"not decided yet", TargetHealth{HealthStatusDetail: HealthUnknown, Weight: 10}, providers.HealthInitial},
		{"no detail", TargetHealth{Weight: 10}, providers.HealthInitial},
		{"check off: traffic goes unchecked", TargetHealth{HealthStatusDetail: HealthClose, Weight: 10}, providers.HealthHealthy},
		{"weight 0 is draining even when alive", TargetHealth{HealthStatus: true, HealthStatusDetail: HealthAlive, Weight: 0}, providers.HealthDraining},
		{"weight 0 and dead is draining", TargetHealth{HealthStatusDetail: HealthDead, Weight: 0}, providers.HealthDraining},
		{"a detail this provider does not know waits", TargetHealth{HealthStatusDetail: "Isolated", Weight: 10}, providers.HealthInitial},
	}
	for _, tt := range tests {
		if got, reason := healthOf(tt.in); got != tt.want || reason == "" {
			t.Errorf("%s: healthOf = %s (%q), want %s with a reason", tt.name, got, reason, tt.want)
		}
	}
}

func TestPlanRegister(t *testing.T) {
	a := netip.MustParseAddrPort("10.0.0.1:80")
	b := netip.MustParseAddrPort("10.0.0.2:80")
	c := netip.MustParseAddrPort("10.0.0.3:80")
	cur := map[netip.AddrPort]TargetHealth{a: {Weight: 10}, b: {Weight: 10}}
	tests := []struct {
		name string
		in   []providers.Backend
		want registerPlan
	}{
		{"a new backend is bound", []providers.Backend{{Addr: c, Weight: 10}}, registerPlan{add: []providers.Backend{{Addr: c, Weight: 10}}}},
		{"a bound backend of the same weight is left alone", []providers.Backend{{Addr: a, Weight: 10}}, registerPlan{}},
		{"a bound backend of another weight is reweighted", []providers.Backend{{Addr: a, Weight: 50}}, registerPlan{reweight: []providers.Backend{{Addr: a, Weight: 50}}}},
		{"recheck unbinds and binds again", []providers.Backend{{Addr: b, Weight: 10, Recheck: true}}, registerPlan{recheck: []providers.Backend{{Addr: b, Weight: 10, Recheck: true}}}},
		{"recheck of an unbound backend is a plain bind", []providers.Backend{{Addr: c, Weight: 10, Recheck: true}}, registerPlan{add: []providers.Backend{{Addr: c, Weight: 10, Recheck: true}}}},
	}
	for _, tt := range tests {
		if got := planRegister(cur, tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
	drained := map[netip.AddrPort]TargetHealth{a: {Weight: 0}}
	if got := planRegister(drained, []providers.Backend{{Addr: a, Weight: 10}}); len(got.reweight) != 1 {
		t.Errorf("a drained (weight 0) backend wanted again: %+v, want it reweighted", got)
	}
}

func TestTypedErrors(t *testing.T) {
	p, err := New(Options{Credentials: Credentials{SecretID: "id", SecretKey: "key"}, Region: "ap-guangzhou"})
	if err != nil {
		t.Fatal(err)
	}
	sdk := func(code string) error { return tcerr.NewTencentCloudSDKError(code, "message", "req-1") }
	tests := []struct {
		code string
		err  error
		is   func(error) bool
	}{
		{ErrRequestLimitExceeded, sdk(ErrRequestLimitExceeded), providers.IsThrottled},
		{ErrResourceInOperating, sdk(ErrResourceInOperating), providers.IsThrottled},
		{ErrLimitExceeded, sdk(ErrLimitExceeded), providers.IsQuota},
		{ErrLBIdNotFound, sdk(ErrLBIdNotFound), providers.IsNotFound},
		{ErrListenerIdNotFound, sdk(ErrListenerIdNotFound), providers.IsNotFound},
		{ErrLocationNotFound, sdk(ErrLocationNotFound), providers.IsNotFound},
		{ErrSignatureFailure, sdk(ErrSignatureFailure), providers.IsPermission},
		{ErrSignatureExpire, sdk(ErrSignatureExpire), providers.IsPermission},
		{ErrSecretIdNotFound, sdk(ErrSecretIdNotFound), providers.IsPermission},
		{ErrUnauthorized, sdk(ErrUnauthorized), providers.IsPermission},
		{ErrInternal, sdk(ErrInternal), providers.IsUnavailable},
		{"ClientError.NetworkError", tcerr.NewTencentCloudSDKErrorWithCause("ClientError.NetworkError", "dial", "", context.DeadlineExceeded), providers.IsUnavailable},
		{"ClientError.HttpStatusCodeError", sdk("ClientError.HttpStatusCodeError"), providers.IsUnavailable},
		{"ClientError.ParseJsonError", sdk("ClientError.ParseJsonError"), providers.IsUnavailable},
		{"a transport error", errors.New("connection refused"), providers.IsUnavailable},
	}
	all := []func(error) bool{providers.IsThrottled, providers.IsQuota, providers.IsNotFound, providers.IsPermission, providers.IsUnavailable}
	for _, tt := range tests {
		got := p.typed("lb-1/lbl-1", ActionBatchRegisterTargets, tt.err)
		for _, is := range all {
			want := reflect.ValueOf(is).Pointer() == reflect.ValueOf(tt.is).Pointer()
			if is(got) != want {
				t.Errorf("%s: typed = %v; its kind is wrong", tt.code, got)
			}
		}
	}
	if d, ok := providers.RetryAfter(p.typed("t", "x", sdk(ErrRequestLimitExceeded))); !ok || d != DefaultRetryAfter {
		t.Errorf("throttled: retry after %v, %v; want %v", d, ok, DefaultRetryAfter)
	}
	other := p.typed("t", "x", sdk(ErrInvalidParameter))
	for _, is := range all {
		if is(other) {
			t.Errorf("InvalidParameter typed as a known kind: %v", other)
		}
	}
	if ErrorCode(other) != ErrInvalidParameter {
		t.Errorf("an untyped error loses its API code: %v", other)
	}
	if got := fmt.Sprint(Credentials{SecretID: "AKID1", SecretKey: "very-secret"}); got != "SecretId=AKID1 SecretKey=(hidden)" {
		t.Errorf("credentials print as %q", got)
	}
}

func TestCapabilities(t *testing.T) {
	httpCheck := &HealthCheck{HealthSwitch: 1, CheckType: "HTTP", HttpCheckPath: "/healthz", IntervalTime: 2, TimeOut: 2, HealthNum: 3, UnHealthNum: 3}
	hc := func(protocol, path string, interval, timeout time.Duration, rise, fall int) providers.Settings {
		return providers.Settings{HealthCheck: providers.HealthCheck{Protocol: protocol, Path: path, Interval: interval, Timeout: timeout, HealthyThreshold: rise, UnhealthyThreshold: fall}}
	}
	tests := []struct {
		name   string
		check  *HealthCheck
		layer7 bool
		want   providers.Settings
		// refused are the settings refused, in order.
		refused []providers.Setting
	}{
		{"nothing asked is never refused", nil, false, providers.Settings{}, nil},
		{"check not known: every setting asked is refused", nil, false, hc("tcp", "", 0, 0, 0, 0), []providers.Setting{providers.SettingCheckProtocol}},
		{"the rule's own check is honoured", httpCheck, true, hc("http", "/healthz", 2*time.Second, 2*time.Second, 3, 3), nil},
		{"another path is refused", httpCheck, true, hc("http", "/ready", 0, 0, 0, 0), []providers.Setting{providers.SettingCheckPath}},
		{"another interval and rise are refused", httpCheck, true, hc("", "", 5*time.Second, 0, 2, 0),
			[]providers.Setting{providers.SettingCheckInterval, providers.SettingCheckHealthyThreshold}},
		{"slow start is never honoured", httpCheck, true, providers.Settings{SlowStart: time.Minute}, []providers.Setting{providers.SettingSlowStart}},
		{"a layer-7 rule with no check type checks over HTTP", &HealthCheck{HealthSwitch: 1, HttpCheckPath: "/"}, true, hc("http", "/", 0, 0, 0, 0), nil},
		{"a layer-4 listener with no check type checks over TCP", &HealthCheck{HealthSwitch: 1}, false, hc("http", "/", 0, 0, 0, 0), []providers.Setting{providers.SettingCheckProtocol}},
		{"a TCP check honours tcp", &HealthCheck{HealthSwitch: 1, CheckType: "TCP"}, false, hc("tcp", "", 0, 0, 0, 0), nil},
		{"a check lbgate cannot name refuses any protocol", &HealthCheck{HealthSwitch: 1, CheckType: "PING"}, false, hc("tcp", "", 0, 0, 0, 0), []providers.Setting{providers.SettingCheckProtocol}},
		{"a check that is off refuses every check setting", &HealthCheck{HealthSwitch: 0, CheckType: "TCP"}, false, hc("tcp", "", 0, 0, 0, 0), []providers.Setting{providers.SettingCheckProtocol}},
	}
	for _, tt := range tests {
		c := capabilities(tt.check, tt.layer7)
		if c.Applied != 0 {
			t.Errorf("%s: Applied %s: the provider applies no per-backend setting", tt.name, c.Applied)
		}
		var got []providers.Setting
		for _, r := range c.Refusals(tt.want) {
			got = append(got, r.Setting)
			if r.Where == "" || strings.HasPrefix(r.Where, "the provider cannot apply") {
				t.Errorf("%s: refusal of %s does not say where to set it: %q", tt.name, r.Setting, r.Where)
			}
		}
		if !reflect.DeepEqual(got, tt.refused) {
			t.Errorf("%s: refused %v, want %v", tt.name, got, tt.refused)
		}
	}
}

func TestCheckOf(t *testing.T) {
	check := &HealthCheck{HealthSwitch: 1}
	listeners := []Listener{
		{ListenerId: "lbl-4", Protocol: "TCP", HealthCheck: check},
		{ListenerId: "lbl-7", Protocol: "HTTP", Rules: []RuleOutput{{LocationId: "loc-1", HealthCheck: check}}},
	}
	tests := []struct {
		target string
		ok     bool
	}{
		{"lb-1/lbl-4", true},
		{"lb-1/lbl-7/loc-1", true},
		{"lb-1/lbl-7", false},       // layer 7 needs its rule
		{"lb-1/lbl-4/loc-1", false}, // layer 4 has no rules
		{"lb-1/lbl-7/loc-2", false},
		{"lb-1/lbl-9", false},
	}
	for _, tt := range tests {
		id, err := parseTarget(tt.target)
		if err != nil {
			t.Fatal(err)
		}
		got, err := checkOf(id, listeners)
		if tt.ok && (err != nil || got != check) {
			t.Errorf("checkOf(%s) = %v, %v; want the check", tt.target, got, err)
		}
		if !tt.ok && !providers.IsNotFound(err) {
			t.Errorf("checkOf(%s) = %v, %v; want not found", tt.target, got, err)
		}
	}
}
