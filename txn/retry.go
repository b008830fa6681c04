package txn

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
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

// Error classification. Drivers are not imported: their errors are
// recognised by behaviour, anywhere in the chain.
type (
	// sqlStater is pgx's *pgconn.PgError (and lib/pq's *pq.Error).
	sqlStater interface{ SQLState() string }
	// sqliteCoder is modernc.org/sqlite's *sqlite.Error.
	sqliteCoder interface{ Code() int }
)

// Codes that mean "the transaction lost a race; run it again".
const (
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
	mysqlDeadlock          = 1213 // ER_LOCK_DEADLOCK: the transaction was rolled back
	mysqlLockWaitTimeout   = 1205 // ER_LOCK_WAIT_TIMEOUT: only the statement was
	sqliteBusy             = 5    // SQLITE_BUSY and its extended codes (517 BUSY_SNAPSHOT, ...)
	sqliteLocked           = 6    // SQLITE_LOCKED and its extended codes
)

// IsRetryable reports whether err, or any error it wraps, says that the
// transaction failed because of a concurrent one and would likely succeed if
// run again from the start:
//
//   - PostgreSQL: SQLSTATE 40001 serialization_failure and 40P01
//     deadlock_detected, from any error with a SQLState() string method
//     (pgx's *pgconn.PgError);
//   - MySQL and MariaDB: error 1213 (deadlock) and 1205 (lock wait timeout;
//     Do rolls the transaction back explicitly before retrying, since the
//     server only undoes the statement). go-sql-driver's *mysql.MySQLError
//     exposes the number only as a field, so IsRetryable reads it from the
//     error text, which that type formats as "Error 1213 (40001): ...";
//   - SQLite: result codes SQLITE_BUSY and SQLITE_LOCKED, with their
//     extended codes such as SQLITE_BUSY_SNAPSHOT (517), from any error with
//     a Code() int method (modernc.org/sqlite's *sqlite.Error).
//
// Context cancellation and deadline errors are never retryable.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var s sqlStater
	if errors.As(err, &s) {
		if st := s.SQLState(); st == pgSerializationFailure || st == pgDeadlockDetected {
			return true
		}
	}
	var c sqliteCoder
	if errors.As(err, &c) {
		if code := c.Code() & 0xff; code == sqliteBusy || code == sqliteLocked {
			return true
		}
	}
	return anyInChain(err, func(e error) bool {
		n, ok := mysqlNumber(e.Error())
		return ok && (n == mysqlDeadlock || n == mysqlLockWaitTimeout)
	})
}

// mysqlNumber parses the error number from text in go-sql-driver's format:
// "Error 1213 (40001): message" or "Error 1213: message".
func mysqlNumber(text string) (int, bool) {
	rest, ok := strings.CutPrefix(text, "Error ")
	if !ok {
		return 0, false
	}
	n, i := 0, 0
	for ; i < len(rest) && i < 6 && '0' <= rest[i] && rest[i] <= '9'; i++ {
		n = n*10 + int(rest[i]-'0')
	}
	if i == 0 || i > 5 || (i > 1 && rest[0] == '0') {
		return 0, false
	}
	if tail := rest[i:]; !strings.HasPrefix(tail, ": ") && !strings.HasPrefix(tail, " (") {
		return 0, false
	}
	return n, true
}

// anyInChain reports whether match holds for err or any error in its tree.
func anyInChain(err error, match func(error) bool) bool {
	for err != nil {
		if match(err) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if anyInChain(e, match) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
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
