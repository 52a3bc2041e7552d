package providers

import (
	"reflect"
	"testing"
	"time"
)

func TestSettingsAsked(t *testing.T) {
	tests := []struct {
		name string
		in   Settings
		want Setting
	}{
		{"nothing", Settings{}, 0},
		{"protocol alone", Settings{HealthCheck: HealthCheck{Protocol: "tcp"}}, SettingCheckProtocol},
		{"http with a path", Settings{HealthCheck: HealthCheck{Protocol: "http", Path: "/healthz"}}, SettingCheckProtocol | SettingCheckPath},
		{"every check field and slow start", Settings{
			HealthCheck: HealthCheck{Protocol: "http", Path: "/", Interval: time.Second, Timeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 1},
			SlowStart:   time.Second,
		}, AllSettings},
		{"zero and negative values are unset", Settings{HealthCheck: HealthCheck{Interval: -time.Second, HealthyThreshold: 0}, SlowStart: -1}, 0},
	}
	for _, tt := range tests {
		if got := tt.in.Asked(); got != tt.want {
			t.Errorf("%s: Asked() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSettingString(t *testing.T) {
	if got := (SettingCheckInterval | SettingSlowStart).String(); got != "check interval, slow start" {
		t.Errorf("String() = %q", got)
	}
	if got := Setting(0).String(); got != "none" {
		t.Errorf("empty set: String() = %q", got)
	}
}

func TestRefusals(t *testing.T) {
	perServer := SettingCheckInterval | SettingCheckHealthyThreshold | SettingCheckUnhealthyThreshold
	where := map[Setting]string{
		SettingCheckTimeout:          "timeout check in haproxy.cfg",
		SettingCheckHealthyThreshold: "rise on the server-template line",
		SettingSlowStart:             "slowstart on the server-template line",
	}
	added := Capabilities{Applied: perServer | SettingSlowStart, Where: where,
		InForce: Settings{HealthCheck: HealthCheck{Interval: 2 * time.Second, HealthyThreshold: 2, UnhealthyThreshold: 3}}}
	declared := Capabilities{Reported: SettingCheckHealthyThreshold | SettingCheckUnhealthyThreshold, Where: where,
		InForce: Settings{HealthCheck: HealthCheck{HealthyThreshold: 2}}}

	tests := []struct {
		name string
		caps Capabilities
		want Settings
		out  []Refusal
	}{
		{"nothing asked, nothing refused", Capabilities{}, Settings{}, nil},
		{"applied settings are honoured", added,
			Settings{HealthCheck: HealthCheck{Interval: 5 * time.Second, HealthyThreshold: 3}, SlowStart: time.Minute}, nil},
		{"a setting neither applied nor reported is refused, with where to set it", added,
			Settings{HealthCheck: HealthCheck{Interval: 5 * time.Second, Timeout: 3 * time.Second}},
			[]Refusal{{Setting: SettingCheckTimeout, Want: "3s", Where: "timeout check in haproxy.cfg"}}},
		{"a provider that declares nothing refuses everything asked, in order", Capabilities{},
			Settings{HealthCheck: HealthCheck{Protocol: "http", Path: "/hz"}, SlowStart: time.Second},
			[]Refusal{
				{Setting: SettingCheckProtocol, Want: "http", Where: "the provider cannot apply the check protocol"},
				{Setting: SettingCheckPath, Want: "/hz", Where: "the provider cannot apply the check path"},
				{Setting: SettingSlowStart, Want: "1s", Where: "the provider cannot apply the slow start"},
			}},
		{"a reported setting equal to the configured one is honoured", declared,
			Settings{HealthCheck: HealthCheck{HealthyThreshold: 2}}, nil},
		{"a reported setting that differs is refused, naming the configured value", declared,
			Settings{HealthCheck: HealthCheck{HealthyThreshold: 3}},
			[]Refusal{{Setting: SettingCheckHealthyThreshold, Want: "3", InForce: "2", Where: "rise on the server-template line"}}},
		{"a reported setting not reported yet is honoured until it is", declared,
			Settings{HealthCheck: HealthCheck{UnhealthyThreshold: 5}}, nil},
		{"a setting neither applied nor reported is refused even where it matches nothing known", declared,
			Settings{SlowStart: 30 * time.Second},
			[]Refusal{{Setting: SettingSlowStart, Want: "30s", Where: "slowstart on the server-template line"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.caps.Refusals(tt.want); !reflect.DeepEqual(got, tt.out) {
				t.Errorf("Refusals() =\n%+v\nwant\n%+v", got, tt.out)
			}
		})
	}
}

func TestEffective(t *testing.T) {
	caps := Capabilities{
		Applied:  SettingCheckInterval | SettingCheckHealthyThreshold | SettingSlowStart,
		Reported: SettingCheckUnhealthyThreshold,
		InForce:  Settings{HealthCheck: HealthCheck{Interval: 2 * time.Second, HealthyThreshold: 2, UnhealthyThreshold: 3}},
	}
	tests := []struct {
		name string
		want Settings
		out  Settings
	}{
		{"defaults where the group sets nothing", Settings{},
			Settings{HealthCheck: HealthCheck{Interval: 2 * time.Second, HealthyThreshold: 2, UnhealthyThreshold: 3}}},
		{"the group's value for applied settings", Settings{HealthCheck: HealthCheck{Interval: 5 * time.Second}, SlowStart: time.Minute},
			Settings{HealthCheck: HealthCheck{Interval: 5 * time.Second, HealthyThreshold: 2, UnhealthyThreshold: 3}, SlowStart: time.Minute}},
		{"the target's value for the others", Settings{HealthCheck: HealthCheck{UnhealthyThreshold: 3, Path: "/x"}},
			Settings{HealthCheck: HealthCheck{Interval: 2 * time.Second, HealthyThreshold: 2, UnhealthyThreshold: 3}}},
	}
	for _, tt := range tests {
		if got := caps.Effective(tt.want); got != tt.out {
			t.Errorf("%s: Effective() = %+v, want %+v", tt.name, got, tt.out)
		}
	}
}
