package providers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// kinds lists one value of every typed error with the helper that must
// recognise it.
var kinds = []struct {
	name string
	err  error
	is   func(error) bool
}{
	{"NotFound", &NotFoundError{Target: "be", Detail: "no such backend"}, IsNotFound},
	{"Throttled", &ThrottledError{RetryAfter: 3 * time.Second, Detail: "slow down"}, IsThrottled},
	{"Quota", &QuotaError{Target: "be", Limit: 4, Want: 5, Detail: "full"}, IsQuota},
	{"Unavailable", &UnavailableError{Detail: "dial", Err: context.DeadlineExceeded}, IsUnavailable},
	{"Permission", &PermissionError{Detail: "read only"}, IsPermission},
}

// wrappings are the ways a caller may hand a typed error on.
var wrappings = []struct {
	name string
	wrap func(error) error
}{
	{"bare", func(err error) error { return err }},
	{"fmt.Errorf %w", func(err error) error { return fmt.Errorf("register on be: %w", err) }},
	{"fmt.Errorf %w twice", func(err error) error {
		return fmt.Errorf("reconcile: %w", fmt.Errorf("register on be: %w", err))
	}},
	{"errors.Join", func(err error) error { return errors.Join(errors.New("other"), err) }},
	{"errors.Join of wrapped", func(err error) error {
		return errors.Join(fmt.Errorf("batch 2: %w", err), errors.New("other"))
	}},
}

func TestIsHelpersRecogniseOwnTypeOnly(t *testing.T) {
	t.Parallel()
	for _, helper := range kinds {
		for _, kind := range kinds {
			for _, w := range wrappings {
				want := helper.name == kind.name
				name := fmt.Sprintf("Is%s/%s/%s", helper.name, kind.name, w.name)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					err := w.wrap(kind.err)
					if got := helper.is(err); got != want {
						t.Errorf("Is%s(%v) = %v, want %v", helper.name, err, got, want)
					}
				})
			}
		}
	}
}

func TestIsHelpersRejectNilAndPlainErrors(t *testing.T) {
	t.Parallel()
	plain := []error{
		nil,
		errors.New("boom"),
		fmt.Errorf("wrapped: %w", errors.New("boom")),
		errors.Join(errors.New("a"), errors.New("b")),
		context.DeadlineExceeded,
	}
	for _, helper := range kinds {
		for _, err := range plain {
			t.Run(fmt.Sprintf("Is%s/%v", helper.name, err), func(t *testing.T) {
				t.Parallel()
				if helper.is(err) {
					t.Errorf("Is%s(%v) = true, want false", helper.name, err)
				}
			})
		}
	}
}

func TestRetryAfterOnlyForThrottled(t *testing.T) {
	t.Parallel()
	throttled := &ThrottledError{RetryAfter: 1500 * time.Millisecond, Detail: "rate"}
	cases := []struct {
		name   string
		err    error
		want   time.Duration
		wantOK bool
	}{
		{"throttled", throttled, 1500 * time.Millisecond, true},
		{"throttled wrapped", fmt.Errorf("list: %w", throttled), 1500 * time.Millisecond, true},
		{"throttled joined", errors.Join(errors.New("x"), throttled), 1500 * time.Millisecond, true},
		{"throttled zero wait", &ThrottledError{}, 0, true},
		{"nil", nil, 0, false},
		{"plain", errors.New("boom"), 0, false},
		{"not found", &NotFoundError{Target: "be"}, 0, false},
		{"quota", &QuotaError{Target: "be", Limit: 1, Want: 2}, 0, false},
		{"unavailable", &UnavailableError{Detail: "x", Err: context.DeadlineExceeded}, 0, false},
		{"permission", &PermissionError{Detail: "x"}, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := RetryAfter(tc.err)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("RetryAfter(%v) = %v, %v; want %v, %v", tc.err, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestUnavailableErrorUnwrapsToCause(t *testing.T) {
	t.Parallel()
	err := &UnavailableError{Detail: "stats socket", Err: context.DeadlineExceeded}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%v, context.DeadlineExceeded) = false, want true", err)
	}
	if !errors.Is(fmt.Errorf("drain: %w", err), context.DeadlineExceeded) {
		t.Errorf("errors.Is on a wrapped UnavailableError lost its cause")
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(%v, context.Canceled) = true, want false", err)
	}
	if got := err.Unwrap(); got != context.DeadlineExceeded { //nolint:errorlint // Unwrap must return the cause itself
		t.Errorf("Unwrap() = %v, want context.DeadlineExceeded", got)
	}
	noCause := &UnavailableError{Detail: "stats socket"}
	if got := noCause.Unwrap(); got != nil {
		t.Errorf("Unwrap() without a cause = %v, want nil", got)
	}
	if errors.Is(noCause, context.DeadlineExceeded) {
		t.Errorf("errors.Is without a cause = true, want false")
	}
}

func TestErrorStrings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
		want string   // exact text, when set
		has  []string // pieces the text must contain
	}{
		{
			name: "NotFound names target and detail",
			err:  &NotFoundError{Target: "be_web", Detail: "unknown backend"},
			want: `target "be_web" not found: unknown backend`,
		},
		{
			name: "Throttled names retry-after and detail",
			err:  &ThrottledError{RetryAfter: 2 * time.Second, Detail: "rate limited"},
			want: "throttled, retry after 2s: rate limited",
		},
		{
			name: "Quota names target, want and limit",
			err:  &QuotaError{Target: "be_web", Limit: 10, Want: 12, Detail: "target is full"},
			want: `target "be_web" quota exceeded: want 12, limit 10: target is full`,
			has:  []string{"be_web", "want 12", "limit 10", "target is full"},
		},
		{
			name: "Unavailable with cause names detail and cause",
			err:  &UnavailableError{Detail: "stats socket", Err: context.DeadlineExceeded},
			want: "load balancer unavailable: stats socket: context deadline exceeded",
		},
		{
			name: "Unavailable without cause names detail only",
			err:  &UnavailableError{Detail: "stats socket"},
			want: "load balancer unavailable: stats socket",
		},
		{
			name: "Permission names detail",
			err:  &PermissionError{Detail: "read-only socket"},
			want: "permission denied: read-only socket",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.err.Error()
			if tc.want != "" && got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
			for _, h := range tc.has {
				if !strings.Contains(got, h) {
					t.Errorf("Error() = %q, want it to contain %q", got, h)
				}
			}
		})
	}
}
