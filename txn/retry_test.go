package txn_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/txn"
)

// sqliteErr is a fake modernc.org/sqlite error.
type sqliteErr int

func (e sqliteErr) Error() string { return fmt.Sprintf("sqlite error %d", int(e)) }
func (e sqliteErr) Code() int     { return int(e) }

func TestIsRetryable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("boom"), false},
		{"pg serialization failure", &pgconn.PgError{Code: "40001"}, true},
		{"pg deadlock", &pgconn.PgError{Code: "40P01"}, true},
		{"pg unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"pg wrapped", fmt.Errorf("repo: %w", &pgconn.PgError{Code: "40001"}), true},
		{"pg joined", errors.Join(errors.New("a"), &pgconn.PgError{Code: "40P01"}), true},
		{"mysql deadlock", &mysql.MySQLError{Number: 1213, SQLState: [5]byte{'4', '0', '0', '0', '1'}, Message: "Deadlock found"}, true},
		{"mysql deadlock without sqlstate", &mysql.MySQLError{Number: 1213, Message: "Deadlock found"}, true},
		{"mysql lock wait timeout", &mysql.MySQLError{Number: 1205, SQLState: [5]byte{'H', 'Y', '0', '0', '0'}, Message: "Lock wait timeout exceeded"}, true},
		{"mysql duplicate", &mysql.MySQLError{Number: 1062, SQLState: [5]byte{'2', '3', '0', '0', '0'}, Message: "Duplicate entry"}, false},
		{"mysql wrapped", fmt.Errorf("txn: commit: %w", &mysql.MySQLError{Number: 1213, Message: "Deadlock"}), true},
		{"mysql joined", errors.Join(errors.New("a"), &mysql.MySQLError{Number: 1205, Message: "x"}), true},
		{"mariadb record changed", &mysql.MySQLError{Number: 1020, Message: "Record has changed since last read"}, true},
		{"connection lost is not a transaction retry", &pgconn.PgError{Code: "57P01"}, false},
		{"mysql number in the middle of a text", errors.New("wrapped Error 1213: x"), false},
		{"sqlite busy", sqliteErr(5), true},
		{"sqlite busy snapshot", sqliteErr(517), true},
		{"sqlite busy timeout", sqliteErr(773), true},
		{"sqlite locked", sqliteErr(6), true},
		{"sqlite locked shared cache", sqliteErr(262), true},
		{"sqlite constraint", sqliteErr(19), false},
		{"sqlite constraint unique", sqliteErr(2067), false},
		{"context cancelled", fmt.Errorf("%w: %w", context.Canceled, &pgconn.PgError{Code: "40001"}), false},
		{"deadline", context.DeadlineExceeded, false},
		{"retry error", &txn.RetryError{Attempts: 3, Err: &pgconn.PgError{Code: "40001"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, txn.IsRetryable(tc.err), "IsRetryable(%v)", tc.err)
		})
	}
}

func TestRetryExhausted(t *testing.T) {
	db := testdb.SQLite(t)
	createSchema(t, db, 0, 0)
	ctx := context.Background()
	for _, tc := range []struct {
		max, want int
	}{{0, txn.DefaultMaxAttempts}, {1, 1}, {-1, 1}, {5, 5}} {
		t.Run(fmt.Sprint(tc.max), func(t *testing.T) {
			runs, hooks := 0, 0
			err := txn.DoWith(ctx, db.DB, txn.Options{MaxAttempts: tc.max, Backoff: noWait}, func(ctx context.Context) error {
				runs++
				txn.AfterCommit(ctx, func(context.Context) { hooks++ })
				return fmt.Errorf("wrapped: %w", retryable{})
			})
			var re *txn.RetryError
			require.ErrorAs(t, err, &re, "the last retryable error is a RetryError")
			assert.Equal(t, tc.want, re.Attempts, "attempts made")
			assert.Equal(t, tc.want, runs, "fn ran once per attempt")
			assert.ErrorAs(t, err, new(retryable), "the cause is still found")
			assert.Contains(t, err.Error(), fmt.Sprintf("after %d attempt", tc.want), "the message says how many")
			assert.Zero(t, hooks, "hooks of failed attempts never run")
			r, ok := errkind.Inspect(err)
			require.True(t, ok, "a transaction that lost every race reports a kind")
			assert.Equal(t, errkind.Unavailable, r.Kind, "503: try again later")
			assert.Equal(t, dialect.RetryAfter, r.RetryAfter, "with Retry-After")
		})
	}
}

func TestRetryThenSucceed(t *testing.T) {
	db := testdb.SQLite(t)
	createSchema(t, db, 0, 0)
	var failures []int
	runs, hooks := 0, 0
	err := txn.DoWith(context.Background(), db.DB, txn.Options{
		Backoff: func(n int) time.Duration { failures = append(failures, n); return 0 },
	}, func(ctx context.Context) error {
		runs++
		note(t, ctx, db, runs, "attempt")
		txn.AfterCommit(ctx, func(context.Context) { hooks++ })
		if runs < 3 {
			return retryable{}
		}
		return nil
	})
	require.NoError(t, err, "the third attempt commits")
	assert.Equal(t, []int{1, 2}, failures, "Backoff is asked once per failed attempt")
	assert.Equal(t, 1, hooks, "hooks run once, for the attempt that committed")
	assert.Equal(t, []int{3}, noteIDs(t, db), "failed attempts rolled back")

	runs = 0
	errFinal := errors.New("final")
	err = txn.DoWith(context.Background(), db.DB, txn.Options{Backoff: noWait}, func(context.Context) error {
		runs++
		if runs == 1 {
			return retryable{}
		}
		return errFinal
	})
	require.ErrorIs(t, err, errFinal, "a non-retryable error ends the retries")
	assert.False(t, errors.As(err, new(*txn.RetryError)), "and is returned as it is")
}

func TestRetryBackoffHonoursContext(t *testing.T) {
	db := testdb.SQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runs := 0
	err := txn.DoWith(ctx, db.DB, txn.Options{
		Backoff: func(int) time.Duration { cancel(); return time.Hour },
	}, func(context.Context) error {
		runs++
		return retryable{}
	})
	require.ErrorIs(t, err, context.Canceled, "the wait ends with the context")
	var re *txn.RetryError
	require.ErrorAs(t, err, &re, "and says how many attempts were made")
	assert.Equal(t, 1, re.Attempts, "one attempt")
	assert.Equal(t, 1, runs, "fn ran once")
}

// TestSerializationFailure makes two SERIALIZABLE transactions on
// PostgreSQL read the same row before either writes it: the second writer
// fails with 40001, is retried, and both succeed.
func TestSerializationFailure(t *testing.T) {
	db := testdb.Postgres(t)
	createSchema(t, db, 1, 0)
	db.DB.SetMaxOpenConns(4)
	ctx := context.Background()
	var (
		read    = [2]chan struct{}{make(chan struct{}), make(chan struct{})}
		runs    [2]atomic.Int64
		hooks   [2]atomic.Int64
		errs    [2]error
		wg      sync.WaitGroup
		options = txn.Options{TxOptions: &sql.TxOptions{Isolation: sql.LevelSerializable}, Backoff: noWait}
	)
	for i := range 2 {
		wg.Go(func() {
			errs[i] = txn.DoWith(ctx, db.DB, options, func(ctx context.Context) error {
				var balance int64
				q := txn.From(ctx, db.DB)
				if err := q.QueryRowContext(ctx, "SELECT balance FROM accounts WHERE id = 1").Scan(&balance); err != nil {
					return err
				}
				if runs[i].Add(1) == 1 { // both read before either writes
					close(read[i])
					<-read[1-i]
				}
				if _, err := q.ExecContext(ctx, "UPDATE accounts SET balance = $1 WHERE id = 1", balance+1); err != nil {
					return err
				}
				txn.AfterCommit(ctx, func(context.Context) { hooks[i].Add(1) })
				return nil
			})
		})
	}
	wg.Wait()
	require.NoError(t, errs[0], "first transaction")
	require.NoError(t, errs[1], "second transaction")
	assert.Equal(t, int64(3), runs[0].Load()+runs[1].Load(), "exactly one transaction was retried once")
	assert.Equal(t, [2]int64{1, 1}, [2]int64{hooks[0].Load(), hooks[1].Load()}, "each hook ran once")
	all, _ := balances(t, db.DB)
	assert.Equal(t, int64(2), all[1], "no lost update")
}

// TestDeadlock makes two transactions lock two rows in opposite orders: the
// server picks a victim (40P01 on PostgreSQL, 1213 on MySQL/MariaDB), which
// is retried, and both succeed.
func TestDeadlock(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		if db.Dialect == testdb.SQLiteDialect {
			t.Skip("SQLite has one writer: its transactions cannot deadlock on rows")
		}
		createSchema(t, db, 2, 0)
		db.DB.SetMaxOpenConns(4)
		var (
			locked   = [2]chan struct{}{make(chan struct{}), make(chan struct{})}
			done     = [2]chan struct{}{make(chan struct{}), make(chan struct{})}
			retrying = [2]chan struct{}{make(chan struct{}), make(chan struct{})}
			runs     [2]atomic.Int64
			errs     [2]error
			wg       sync.WaitGroup
		)
		for i := range 2 {
			// The victim retries once the winner has committed: retrying
			// at once could take the row back from the winner before it
			// wakes up, and deadlock again.
			var once sync.Once
			opts := txn.Options{Backoff: func(int) time.Duration {
				once.Do(func() { close(retrying[i]) })
				select {
				case <-done[1-i]:
				case <-retrying[1-i]: // both victims: should not happen
				}
				return 0
			}}
			wg.Go(func() {
				defer close(done[i])
				errs[i] = txn.DoWith(context.Background(), db.DB, opts, func(ctx context.Context) error {
					q := txn.From(ctx, db.DB)
					first, second := i+1, 2-i
					if _, err := q.ExecContext(ctx, rebind(db, "UPDATE accounts SET balance = balance + 1 WHERE id = ?"), first); err != nil {
						return err
					}
					if runs[i].Add(1) == 1 { // each holds one row and wants the other
						close(locked[i])
						<-locked[1-i]
					}
					_, err := q.ExecContext(ctx, rebind(db, "UPDATE accounts SET balance = balance + 1 WHERE id = ?"), second)
					if err != nil {
						t.Logf("transaction %d, attempt %d: %v", i, runs[i].Load(), err)
					}
					return err
				})
			})
		}
		wg.Wait()
		require.NoError(t, errs[0], "first transaction")
		require.NoError(t, errs[1], "second transaction")
		assert.Equal(t, int64(3), runs[0].Load()+runs[1].Load(), "the victim was retried once")
		all, _ := balances(t, db.DB)
		assert.Equal(t, map[int64]int64{1: 2, 2: 2}, all, "both transactions committed")
	})
}

// TestLockWaitTimeout: on MySQL/MariaDB error 1205 undoes only the statement;
// Do rolls the transaction back and retries it.
func TestLockWaitTimeout(t *testing.T) {
	db := testdb.MySQL(t)
	createSchema(t, db, 1, 0)
	db.DB.SetMaxOpenConns(4)
	ctx := context.Background()
	holding, release, released := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(released)
		assert.NoError(t, txn.Do(ctx, db.DB, func(ctx context.Context) error {
			exec(t, ctx, db, "UPDATE accounts SET balance = balance + 1 WHERE id = 1")
			close(holding)
			<-release
			return nil
		}), "the holder commits")
	}()
	<-holding
	runs := 0
	err := txn.DoWith(ctx, db.DB, txn.Options{
		Backoff: func(int) time.Duration { close(release); <-released; return 0 },
	}, func(ctx context.Context) error {
		runs++
		if runs == 1 {
			exec(t, ctx, db, "SET SESSION innodb_lock_wait_timeout = 1")
		}
		_, err := txn.From(ctx, db.DB).ExecContext(ctx, "UPDATE accounts SET balance = balance + 10 WHERE id = 1")
		if runs == 1 {
			assert.Error(t, err, "the first attempt times out")
			assert.True(t, txn.IsRetryable(err), "1205 is retryable: %v", err)
		}
		return err
	})
	require.NoError(t, err, "the retry commits")
	assert.Equal(t, 2, runs, "one retry")
	all, _ := balances(t, db.DB)
	assert.Equal(t, int64(11), all[1], "both updates committed once")
}

// TestSQLiteBusy: without a busy timeout BEGIN IMMEDIATE fails at once with
// SQLITE_BUSY while another connection writes; Do retries it.
func TestSQLiteBusy(t *testing.T) {
	db := testdb.SQLite(t)
	createSchema(t, db, 1, 0)
	impatientDSN := strings.Replace(db.DSN, "busy_timeout(5000)", "busy_timeout(0)", 1)
	require.NotEqual(t, db.DSN, impatientDSN, "the DSN sets a busy timeout")
	impatient, err := sql.Open(db.Driver, impatientDSN)
	require.NoError(t, err, "open a second pool")
	defer impatient.Close()
	ctx := context.Background()

	hold := func(release <-chan struct{}) (holding, released chan struct{}) {
		holding, released = make(chan struct{}), make(chan struct{})
		go func() {
			defer close(released)
			assert.NoError(t, txn.Do(ctx, db.DB, func(ctx context.Context) error {
				exec(t, ctx, db, "UPDATE accounts SET balance = balance + 1 WHERE id = 1")
				close(holding)
				<-release
				return nil
			}), "the holder commits")
		}()
		<-holding
		return holding, released
	}

	release := make(chan struct{})
	_, released := hold(release)
	err = txn.DoWith(ctx, impatient, txn.Options{MaxAttempts: 2, Backoff: noWait}, func(context.Context) error {
		t.Error("fn must not run: BEGIN IMMEDIATE fails")
		return nil
	})
	var re *txn.RetryError
	require.ErrorAs(t, err, &re, "SQLITE_BUSY is retried until the attempts run out")
	assert.Equal(t, 2, re.Attempts, "attempts")
	var coded interface{ Code() int }
	require.ErrorAs(t, err, &coded, "the driver error is in the chain")
	assert.Equal(t, 5, coded.Code()&0xff, "SQLITE_BUSY")
	close(release)
	<-released

	release = make(chan struct{})
	_, released = hold(release)
	runs := 0
	err = txn.DoWith(ctx, impatient, txn.Options{
		Backoff: func(int) time.Duration { close(release); <-released; return 0 },
	}, func(ctx context.Context) error {
		runs++
		_, err := txn.From(ctx, impatient).ExecContext(ctx, "UPDATE accounts SET balance = balance + 10 WHERE id = 1")
		return err
	})
	require.NoError(t, err, "the retry after the holder committed succeeds")
	assert.Equal(t, 1, runs, "fn ran once: the first BEGIN failed")
	all, _ := balances(t, db.DB)
	assert.Equal(t, int64(12), all[1], "every committed update counted once")
}

// TestSQLiteBusySnapshot shows why writers need BEGIN IMMEDIATE: a deferred
// transaction that read before another connection committed a write cannot
// write any more (SQLITE_BUSY_SNAPSHOT, whatever the busy timeout). Do
// retries it from the start, on a fresh snapshot.
func TestSQLiteBusySnapshot(t *testing.T) {
	db := testdb.SQLite(t)
	createSchema(t, db, 1, 0)
	deferredDSN := strings.Replace(db.DSN, "_txlock=immediate", "_txlock=deferred", 1)
	require.NotEqual(t, db.DSN, deferredDSN, "the DSN asks for BEGIN IMMEDIATE")
	deferred, err := sql.Open(db.Driver, deferredDSN)
	require.NoError(t, err, "open a deferred pool")
	defer deferred.Close()
	ctx := context.Background()

	var firstErr error
	runs := 0
	err = txn.DoWith(ctx, deferred, txn.Options{Backoff: noWait}, func(ctx context.Context) error {
		runs++
		q := txn.From(ctx, deferred)
		var balance int64
		if err := q.QueryRowContext(ctx, "SELECT balance FROM accounts WHERE id = 1").Scan(&balance); err != nil {
			return err
		}
		if runs == 1 { // another connection writes after our read
			exec(t, context.Background(), db, "UPDATE accounts SET balance = balance + 1 WHERE id = 1")
		}
		_, err := q.ExecContext(ctx, "UPDATE accounts SET balance = ? WHERE id = 1", balance+10)
		if runs == 1 {
			firstErr = err
		}
		return err
	})
	require.NoError(t, err, "the retry on a fresh snapshot commits")
	assert.Equal(t, 2, runs, "one retry")
	var coded interface{ Code() int }
	require.ErrorAs(t, firstErr, &coded, "the first write failed with an SQLite error")
	assert.Equal(t, 517, coded.Code(), "SQLITE_BUSY_SNAPSHOT")
	all, _ := balances(t, db.DB)
	assert.Equal(t, int64(11), all[1], "no lost update")
}
