package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

// parseFlags binds every flag of the binary to a fresh FlagSet, parses args
// and runs the checks run() makes before it connects anywhere.
func parseFlags(args ...string) (options, error) {
	var o options
	fs := flag.NewFlagSet("lbgate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.bind(fs)
	o.webhook.bind(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if _, err := o.backendGroupOptions(); err != nil {
		return o, err
	}
	if _, err := zapLevel(o.logLevel); err != nil {
		return o, err
	}
	if o.webhook.enabled {
		if _, err := o.webhook.options(); err != nil {
			return o, err
		}
	}
	return o, nil
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		// wantErr lists substrings of the error; empty means the flags are accepted.
		wantErr []string
	}{
		{name: "defaults", args: nil},
		{name: "out of cluster webhook", args: []string{"--webhook-url=https://127.0.0.1:9443/mutate-pods", "--webhook-host=127.0.0.1"}},
		{name: "global-router mode", args: []string{"--default-network-mode=global-router", "--global-router-cidrs=10.0.0.0/16, 127.0.0.0/8"}},
		{name: "bad network mode", args: []string{"--default-network-mode=vpc"}, wantErr: []string{"--default-network-mode", `"vpc"`}},
		{name: "bad CIDR", args: []string{"--eni-cidrs=10.0.0.0/33"}, wantErr: []string{"--eni-cidrs", `"10.0.0.0/33"`}},
		{name: "poll interval too short", args: []string{"--gate-poll-interval=1ms"}, wantErr: []string{"--gate-poll-interval=1ms", "at least 10ms"}},
		{name: "resync too short", args: []string{"--resync-interval=100ms"}, wantErr: []string{"--resync-interval", "at least 1s"}},
		{name: "no reconcilers", args: []string{"--max-concurrent-reconciles=0"}, wantErr: []string{"--max-concurrent-reconciles=0"}},
		{name: "bad log level", args: []string{"--log-level=loud"}, wantErr: []string{"--log-level", `"loud"`}},
		{name: "bad failure policy", args: []string{"--webhook-failure-policy=Maybe"}, wantErr: []string{"webhook-failure-policy", "Maybe"}},
		{name: "timeout out of range", args: []string{"--webhook-timeout=31"}, wantErr: []string{"webhook-timeout", "31"}},
		{name: "bad port", args: []string{"--webhook-port=70000"}, wantErr: []string{"webhook-port", "70000"}},
		{name: "bad service port", args: []string{"--webhook-service-port=0"}, wantErr: []string{"webhook-service-port", `"0"`}},
		{name: "bad secret name", args: []string{"--webhook-secret-name=Not_A_Name"}, wantErr: []string{"webhook-secret-name", "Not_A_Name"}},
		// Zero would silently have meant the default: refused instead.
		{name: "zero caBundle settle", args: []string{"--webhook-cabundle-settle=0"}, wantErr: []string{"webhook-cabundle-settle", "at least 100ms"}},
		{name: "zero preStop margin", args: []string{"--prestop-margin=0"}, wantErr: []string{"prestop-margin", "at least 1s"}},
		{name: "smallest caBundle settle", args: []string{"--webhook-cabundle-settle=100ms"}},
		{name: "smallest preStop margin", args: []string{"--prestop-margin=1s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFlags(tt.args...)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("flags %v refused: %v", tt.args, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("flags %v accepted, want an error naming %q", tt.args, tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

// TestFlagValuesReachOptions checks that the values given are the values used,
// including the smallest accepted ones.
func TestFlagValuesReachOptions(t *testing.T) {
	o, err := parseFlags("--webhook-cabundle-settle=100ms", "--prestop-margin=2s", "--gate-poll-interval=50ms")
	if err != nil {
		t.Fatal(err)
	}
	wo, err := o.webhook.options()
	if err != nil {
		t.Fatal(err)
	}
	if wo.CABundleSettle != 100*time.Millisecond {
		t.Errorf("CABundleSettle = %s, want 100ms", wo.CABundleSettle)
	}
	if wo.ServicePort != 443 {
		t.Errorf("ServicePort = %d, want the default 443", wo.ServicePort)
	}
	if wo.PreStopMargin != 2*time.Second {
		t.Errorf("PreStopMargin = %s, want 2s", wo.PreStopMargin)
	}
	bg, err := o.backendGroupOptions()
	if err != nil {
		t.Fatal(err)
	}
	if bg.PendingInterval != 50*time.Millisecond {
		t.Errorf("PendingInterval = %s, want 50ms", bg.PendingInterval)
	}
}
