package main

import (
	"strings"
	"testing"

	"github.com/lbgate/lbgate/controllers/webhookcfg"
)

// TestWebhookNamespaceSelector checks --webhook-namespace-selector: its
// values reach the webhook options, a bad one is refused by name.
func TestWebhookNamespaceSelector(t *testing.T) {
	tests := []struct {
		args    []string
		want    webhookcfg.NamespaceSelection
		wantErr string
	}{
		{args: nil, want: webhookcfg.NamespacesAll},
		{args: []string{"--webhook-namespace-selector=all"}, want: webhookcfg.NamespacesAll},
		{args: []string{"--webhook-namespace-selector=labelled"}, want: webhookcfg.NamespacesLabelled},
		{args: []string{"--webhook-namespace-selector=labeled"}, wantErr: "webhook-namespace-selector"},
		{args: []string{"--webhook-namespace-selector="}, wantErr: "must be all or labelled"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			s, err := parseFlags(tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("flags %v: error %v, want one naming %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("flags %v refused: %v", tt.args, err)
			}
			if s.webhook.Namespaces != tt.want {
				t.Errorf("flags %v: Namespaces %q, want %q", tt.args, s.webhook.Namespaces, tt.want)
			}
		})
	}
}
