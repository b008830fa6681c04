package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/ratelimit"
)

// TestErrorsReportKinds checks that ratelimit's errors speak the errkind
// contract: an unreachable store is Unavailable with a Retry-After of one
// second, a denied event RateLimited with its exact RetryAfter.
func TestErrorsReportKinds(t *testing.T) {
	denied := ratelimit.Result{RetryAfter: 2500 * time.Millisecond, Limit: ratelimit.PerMinute(1)}
	tests := []struct {
		name    string
		err     error
		is      error
		kind    errkind.Kind
		retry   time.Duration
		details map[string]any
	}{
		{"ErrUnavailable", ratelimit.ErrUnavailable, ratelimit.ErrUnavailable, errkind.Unavailable, time.Second, nil},
		{"ErrUnavailable wrapped by a store", fmt.Errorf("redisstore: %w: %w", ratelimit.ErrUnavailable, errors.New("i/o timeout")), ratelimit.ErrUnavailable, errkind.Unavailable, time.Second, nil},
		{"a denied event", denied.Err(), nil, errkind.RateLimited, 2500 * time.Millisecond, map[string]any{"retryAfter": int64(3)}},
		{"a denied event wrapped by a service", fmt.Errorf("login: %w", denied.Err()), nil, errkind.RateLimited, 2500 * time.Millisecond, map[string]any{"retryAfter": int64(3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := errkind.Inspect(tt.err)
			require.True(t, ok, "the error reports a kind")
			assert.Equal(t, tt.kind, r.Kind, "kind")
			assert.Equal(t, tt.retry, r.RetryAfter, "RetryAfter")
			assert.Equal(t, tt.details, r.Details, "details")
			if tt.is != nil {
				assert.ErrorIs(t, tt.err, tt.is, "matched with errors.Is")
			}
		})
	}
	var le *ratelimit.LimitedError
	require.ErrorAs(t, denied.Err(), &le, "a denial is a *LimitedError")
	assert.Equal(t, denied, le.Result, "holding the denied decision")
	assert.NoError(t, ratelimit.Result{Allowed: true}.Err(), "an allowed event is no error")
}

// A service refuses an event with Result.Err; envelope renders the error as
// 429 RATE_LIMITED with Retry-After, without the service knowing HTTP.
func ExampleResult_Err() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	store := ratelimit.NewMemory(ratelimit.MemoryOptions{Now: func() time.Time { return now }})
	resets := ratelimit.New(ratelimit.Limit{Rate: 1, Period: time.Hour}, store)
	ctx := context.Background()
	for range 2 {
		res, err := resets.Allow(ctx, "password-reset:ada@example.com")
		if err != nil {
			panic(err)
		}
		if err := res.Err(); err != nil {
			r, _ := errkind.Inspect(err)
			fmt.Println(r.Kind, r.RetryAfter, err)
			continue
		}
		fmt.Println("sent")
	}
	// Output:
	// sent
	// RATE_LIMITED 1h0m0s ratelimit: limited, retry in 1h0m0s
}
