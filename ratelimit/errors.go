package ratelimit

import (
	"time"

	"github.com/svckit/svckit/errkind"
)

// ErrUnavailable is in the chain of errors a Store returns when its backend
// cannot be reached and it has no fallback. Match it with errors.Is. It
// reports errkind.Unavailable with a Retry-After of one second, so such an
// error renders as 503 UNAVAILABLE.
var ErrUnavailable error = unavailableError{}

// unavailableError is the type of ErrUnavailable.
type unavailableError struct{}

var (
	_ errkind.Kinder       = unavailableError{}
	_ errkind.RetryAfterer = unavailableError{}
)

func (unavailableError) Error() string             { return "ratelimit: store unavailable" }
func (unavailableError) ErrorKind() errkind.Kind   { return errkind.Unavailable }
func (unavailableError) RetryAfter() time.Duration { return time.Second }

// LimitedError is the error of a denied event (Result.Err). It reports
// errkind.RateLimited with the Result's RetryAfter, and details
// {"retryAfter": seconds}, so it renders as 429 RATE_LIMITED with
// Retry-After, as envelope.RateLimited does. A service can return it without
// knowing about HTTP.
type LimitedError struct {
	// Result is the denied decision.
	Result Result
}

var (
	_ errkind.Kinder       = (*LimitedError)(nil)
	_ errkind.RetryAfterer = (*LimitedError)(nil)
	_ errkind.Detailer     = (*LimitedError)(nil)
)

// Error returns "ratelimit: limited, retry in <RetryAfter>", for logs.
func (e *LimitedError) Error() string {
	return "ratelimit: limited, retry in " + e.Result.RetryAfter.String()
}

// ErrorKind returns errkind.RateLimited.
func (e *LimitedError) ErrorKind() errkind.Kind { return errkind.RateLimited }

// RetryAfter returns the time until the next event will be allowed.
func (e *LimitedError) RetryAfter() time.Duration { return e.Result.RetryAfter }

// ErrorDetails returns {"retryAfter": seconds}, the seconds Retry-After says.
func (e *LimitedError) ErrorDetails() map[string]any {
	return map[string]any{"retryAfter": errkind.RetryAfterSeconds(e.Result.RetryAfter)}
}

// Err returns nil when the event is allowed, else a *LimitedError holding r.
func (r Result) Err() error {
	if r.Allowed {
		return nil
	}
	return &LimitedError{Result: r}
}
