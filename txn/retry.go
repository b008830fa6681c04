package txn

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/svckit/svckit/dialect"
)

// RetryError is returned by Do when the last attempt failed with a retryable
// error and no attempt was left. Unwrap gives the last attempt's error, so
// errors.Is and errors.As see through it.
type RetryError struct {
	Attempts int   // how many times fn ran
	Err      error // the last attempt's error
}

// Error says how many attempts were made and why the last one failed.
func (e *RetryError) Error() string {
	unit := " attempts: "
	if e.Attempts == 1 {
		unit = " attempt: "
	}
	return "txn: gave up after " + strconv.Itoa(e.Attempts) + unit + e.Err.Error()
}

// Unwrap returns the last attempt's error.
func (e *RetryError) Unwrap() error { return e.Err }

// IsRetryable reports whether err, or any error it wraps, says that the
// transaction failed because of a concurrent one and would likely succeed if
// run again from the start: dialect.Classify finds a serialization failure,
// a deadlock, a lock timeout or a changed record (see Class.Transient):
//
//   - PostgreSQL: SQLSTATE 40001, 40P01 and 55P03;
//   - MySQL and MariaDB: errors 1213 (deadlock), 1205 (lock wait timeout;
//     Do rolls the transaction back explicitly before retrying, since the
//     server only undoes the statement) and 1020 (MariaDB's "record has
//     changed since last read");
//   - SQLite: SQLITE_BUSY and SQLITE_LOCKED with their extended codes, such
//     as SQLITE_BUSY_SNAPSHOT (517).
//
// Context cancellation and deadline errors are never retryable. Besides
// these, Do retries a transaction whose BEGIN failed on a lost connection
// (see DoWith).
func IsRetryable(err error) bool {
	return dialect.Classify(err).Transient()
}

// beginError marks a failure to begin a transaction: no statement of fn
// ran, so a lost connection is safe to retry on another.
type beginError struct{ err error }

func (e *beginError) Error() string { return "txn: begin: " + e.err.Error() }
func (e *beginError) Unwrap() error { return e.err }

// retryable reports whether run may run the transaction again after err.
func retryable(err error) bool {
	c := dialect.Classify(err)
	if c.Transient() {
		return true
	}
	var b *beginError
	return c == dialect.ConnectionLost && errors.As(err, &b)
}

// delay is the wait before the attempt that follows the given number of
// failures.
func (o Options) delay(failures int) time.Duration {
	if o.Backoff != nil {
		return o.Backoff(failures)
	}
	return jitter(10*time.Millisecond, time.Second, failures, rand.Int64N)
}

// jitter returns a duration in [d/2, d) where d = base·2^(failures-1),
// capped at max; randN(n) returns a number in [0, n).
func jitter(base, max time.Duration, failures int, randN func(n int64) int64) time.Duration {
	d := max
	if failures < 1 {
		failures = 1
	}
	if shift := failures - 1; shift < 62 && base<<shift > 0 && base<<shift < max {
		d = base << shift
	}
	half := d / 2
	return half + time.Duration(randN(int64(d-half)))
}
