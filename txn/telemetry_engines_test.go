package txn_test

import (
	"context"
	"database/sql"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"

	"github.com/svckit/svckit/internal/telemetry/telemetrytest"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/txn"
)

// The tests of this file provoke real retries on the engines (PostgreSQL's
// 40001 and 40P01, MySQL/MariaDB's 1213 and 1020) and read what the SDK
// recorded: the exact metric names and attributes, the attempts, and each
// transaction span's outcome and retry events.

// txnSpans renders every SpanTransaction span the SDK exported, sorted:
// "system status[ error.type][+event:key=value...]".
func txnSpans(t *testing.T, sdk *telemetrytest.SDK) []string {
	t.Helper()
	var out []string
	for _, s := range sdk.Spans.GetSpans() {
		if s.Name != txn.SpanTransaction {
			continue
		}
		assert.True(t, s.Parent.IsValid(), "a transaction span is a child of the caller's span")
		attrs := telemetrytest.SpanAttrs(s)
		state := attrs["db.system.name"] + " ok"
		if s.Status.Code == codes.Error {
			state = attrs["db.system.name"] + " error " + attrs["error.type"]
		}
		for _, e := range s.Events {
			state += "+" + e.Name
			for _, kv := range e.Attributes {
				state += ":" + string(kv.Key) + "=" + kv.Value.String()
			}
		}
		out = append(out, state)
	}
	slices.Sort(out)
	return out
}

// system is the db.system.name of a test database.
func system(db *testdb.DB) string {
	return map[string]string{testdb.PostgresDialect: "postgresql", testdb.MySQLDialect: "mysql", testdb.SQLiteDialect: "sqlite"}[db.Dialect]
}

// deadlock runs two transactions that lock accounts 1 and 2 in opposite
// orders, each under the traced ctx, and returns their errors. With retry,
// the victim runs again once the winner has committed (retrying at once
// could take the row back before the winner wakes up, and deadlock again);
// without, each has one attempt.
func deadlock(t *testing.T, ctx context.Context, db *testdb.DB, r *txn.Runner, retry bool) [2]error {
	var (
		locked   = [2]chan struct{}{make(chan struct{}), make(chan struct{})}
		done     = [2]chan struct{}{make(chan struct{}), make(chan struct{})}
		retrying = [2]chan struct{}{make(chan struct{}), make(chan struct{})}
		runs     [2]atomic.Int64
		errs     [2]error
		wg       sync.WaitGroup
	)
	for i := range 2 {
		opts := txn.Options{MaxAttempts: 1}
		if retry {
			var once sync.Once
			opts.MaxAttempts = 2
			opts.Backoff = func(int) time.Duration {
				once.Do(func() { close(retrying[i]) })
				select {
				case <-done[1-i]:
				case <-retrying[1-i]: // both victims: should not happen
				}
				return 0
			}
		}
		wg.Go(func() {
			defer close(done[i])
			errs[i] = r.DoWith(ctx, opts, func(ctx context.Context) error {
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
				return err
			})
		})
	}
	wg.Wait()
	return errs
}

// TestTelemetryDeadlockRetried: the victim of a real deadlock (PostgreSQL
// 40P01, MySQL/MariaDB 1213) is counted as one retry with the reason
// "deadlock", three attempts in all, and both transactions as committed;
// the victim's span carries the retry event and ends without error.
func TestTelemetryDeadlockRetried(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		if db.Dialect == testdb.SQLiteDialect {
			t.Skip("SQLite has one writer: its transactions cannot deadlock on rows")
		}
		createSchema(t, db, 2, 0)
		db.DB.SetMaxOpenConns(4)
		sdk := telemetrytest.New(t)
		ctx, end := sdk.Parent(context.Background())
		errs := deadlock(t, ctx, db, txn.New(db.DB, txn.Options{MeterProvider: sdk.Meters, TracerProvider: sdk.Tracers}), true)
		end()
		require.NoError(t, errs[0], "first transaction")
		require.NoError(t, errs[1], "second transaction")

		assert.Equal(t, map[string]int64{
			"svckit.txn.transactions{result=committed}": 2,
			"svckit.txn.attempts":                       3,
			"svckit.txn.retries{reason=deadlock}":       1,
		}, sdk.Sums(t), "two commits, three attempts, one retry after a deadlock")
		sys := system(db)
		assert.Equal(t, []string{sys + " ok", sys + " ok+retry:reason=deadlock"}, txnSpans(t, sdk),
			"the winner's span, and the victim's with its retry")
	})
}

// TestTelemetryDeadlockRolledBack: with one attempt each, the victim of a
// real deadlock is not retried: it is counted rolled back, no retry is
// counted, and its span ends with the status Error.
func TestTelemetryDeadlockRolledBack(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		if db.Dialect == testdb.SQLiteDialect {
			t.Skip("SQLite has one writer: its transactions cannot deadlock on rows")
		}
		createSchema(t, db, 2, 0)
		db.DB.SetMaxOpenConns(4)
		sdk := telemetrytest.New(t)
		ctx, end := sdk.Parent(context.Background())
		errs := deadlock(t, ctx, db, txn.New(db.DB, txn.Options{MeterProvider: sdk.Meters, TracerProvider: sdk.Tracers}), false)
		end()
		failed := 0
		for _, err := range errs {
			if err != nil {
				failed++
				var re *txn.RetryError
				require.ErrorAs(t, err, &re, "the victim gave up: %v", err)
				assert.Equal(t, 1, re.Attempts, "after its one attempt")
			}
		}
		require.Equal(t, 1, failed, "one victim, one winner: %v", errs)

		assert.Equal(t, map[string]int64{
			"svckit.txn.transactions{result=committed}":   1,
			"svckit.txn.transactions{result=rolled_back}": 1,
			"svckit.txn.attempts":                         2,
		}, sdk.Sums(t), "one commit, one rollback, no retry")
		sys := system(db)
		assert.Equal(t, []string{sys + " error *dialect.Error", sys + " ok"}, txnSpans(t, sdk),
			"the victim's span ends in error with the type of the error DoWith returned")
	})
}

// TestTelemetrySerializationFailureRetriedPostgres: of two SERIALIZABLE
// transactions that read a row before either writes it, the second
// writer fails with 40001 and is retried: one retry with the reason
// "serialization_failure".
func TestTelemetrySerializationFailureRetriedPostgres(t *testing.T) {
	db := testdb.Postgres(t)
	createSchema(t, db, 1, 0)
	db.DB.SetMaxOpenConns(4)
	sdk := telemetrytest.New(t)
	ctx, end := sdk.Parent(context.Background())
	r := txn.New(db.DB, txn.Options{
		TxOptions:      &sql.TxOptions{Isolation: sql.LevelSerializable},
		Backoff:        noWait,
		MeterProvider:  sdk.Meters,
		TracerProvider: sdk.Tracers,
	})
	var (
		read = [2]chan struct{}{make(chan struct{}), make(chan struct{})}
		runs [2]atomic.Int64
		errs [2]error
		wg   sync.WaitGroup
	)
	for i := range 2 {
		wg.Go(func() {
			errs[i] = r.Do(ctx, func(ctx context.Context) error {
				var balance int64
				q := txn.From(ctx, db.DB)
				if err := q.QueryRowContext(ctx, "SELECT balance FROM accounts WHERE id = 1").Scan(&balance); err != nil {
					return err
				}
				if runs[i].Add(1) == 1 { // both read before either writes
					close(read[i])
					<-read[1-i]
				}
				_, err := q.ExecContext(ctx, "UPDATE accounts SET balance = $1 WHERE id = 1", balance+1)
				return err
			})
		})
	}
	wg.Wait()
	end()
	require.NoError(t, errs[0], "first transaction")
	require.NoError(t, errs[1], "second transaction")

	assert.Equal(t, map[string]int64{
		"svckit.txn.transactions{result=committed}":        2,
		"svckit.txn.attempts":                              3,
		"svckit.txn.retries{reason=serialization_failure}": 1,
	}, sdk.Sums(t), "two commits, three attempts, one retry after 40001")
	assert.Equal(t, []string{"postgresql ok", "postgresql ok+retry:reason=serialization_failure"}, txnSpans(t, sdk),
		"the first writer's span, and the second's with its retry")
}

// TestTelemetryRecordChangedRetriedMariaDB: MariaDB's 1020 under
// REPEATABLE READ with innodb_snapshot_isolation is one retry with the
// reason "record_changed".
func TestTelemetryRecordChangedRetriedMariaDB(t *testing.T) {
	db := testdb.MySQL(t)
	cfg, err := mysql.ParseDSN(db.DSN)
	require.NoError(t, err)
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["innodb_snapshot_isolation"] = "ON"
	pool, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	t.Cleanup(func() { pool.Close() })
	if err := pool.Ping(); err != nil {
		t.Skipf("the server has no innodb_snapshot_isolation (MySQL, or MariaDB before 11.6.2): %v", err)
	}
	_, err = db.DB.Exec("CREATE TABLE counters (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB")
	require.NoError(t, err)
	_, err = db.DB.Exec("INSERT INTO counters VALUES (1, 10)")
	require.NoError(t, err)

	sdk := telemetrytest.New(t)
	ctx, end := sdk.Parent(context.Background())
	r := txn.New(pool, txn.Options{
		TxOptions:      &sql.TxOptions{Isolation: sql.LevelRepeatableRead},
		Backoff:        noWait,
		MeterProvider:  sdk.Meters,
		TracerProvider: sdk.Tracers,
	})
	runs := 0
	err = r.Do(ctx, func(ctx context.Context) error {
		runs++
		q := txn.From(ctx, pool)
		var v int
		if err := q.QueryRowContext(ctx, "SELECT v FROM counters WHERE id = 1").Scan(&v); err != nil {
			return err
		}
		if runs == 1 { // someone else commits a change after our snapshot
			if _, err := db.DB.ExecContext(ctx, "UPDATE counters SET v = v + 100 WHERE id = 1"); err != nil {
				return err
			}
		}
		_, err := q.ExecContext(ctx, "UPDATE counters SET v = ? WHERE id = 1", v+1)
		return err
	})
	end()
	require.NoError(t, err, "the 1020 is retried")

	assert.Equal(t, map[string]int64{
		"svckit.txn.transactions{result=committed}": 1,
		"svckit.txn.attempts":                       2,
		"svckit.txn.retries{reason=record_changed}": 1,
	}, sdk.Sums(t), "one commit after one retry on 1020")
	assert.Equal(t, []string{"mysql ok+retry:reason=record_changed"}, txnSpans(t, sdk), "the span holds the retry")
}

// TestTelemetryPanicRollsBack: a transaction whose fn panics is counted
// rolled back, and its span ends in error, although DoWith returns no
// error; a hook that panics after the commit leaves it committed.
func TestTelemetryPanicRollsBack(t *testing.T) {
	db := testdb.SQLite(t)
	sdk := telemetrytest.New(t)
	ctx, end := sdk.Parent(context.Background())
	r := txn.New(db.DB, txn.Options{MeterProvider: sdk.Meters, TracerProvider: sdk.Tracers})
	assert.PanicsWithValue(t, "kaboom", func() {
		_ = r.Do(ctx, func(context.Context) error { panic("kaboom") })
	}, "fn's panic goes on")
	assert.PanicsWithValue(t, "hook", func() {
		_ = r.Do(ctx, func(ctx context.Context) error {
			txn.AfterCommit(ctx, func(context.Context) { panic("hook") })
			return nil
		})
	}, "the hook's panic goes on")
	end()

	assert.Equal(t, map[string]int64{
		"svckit.txn.transactions{result=committed}":   1,
		"svckit.txn.transactions{result=rolled_back}": 1,
		"svckit.txn.attempts":                         2,
	}, sdk.Sums(t), "the panicking fn rolled back, the panicking hook's transaction committed")
	assert.Equal(t, []string{"sqlite error panic", "sqlite ok"}, txnSpans(t, sdk), "the spans say the same")
}
