package haproxytest

import (
	"testing"
	"time"
)

// PollInterval is how often Eventually tries its condition.
const PollInterval = 20 * time.Millisecond

// Eventually calls cond until it returns nil, and fails the test with cond's
// last error if that does not happen within timeout. Use it instead of
// sleeping: it waits no longer than needed and says what it waited for.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not true after %s: %v", timeout, err)
		}
		time.Sleep(PollInterval)
	}
}
