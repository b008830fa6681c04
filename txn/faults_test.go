package txn_test

import (
	"context"
	"database/sql"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/txn"
)

// The tests in this file break real connections on the real servers and
// check what txn makes of it (issue 13: a BEGIN on a dead connection is
// retried; MariaDB's 1020 is retried; a lost database is 503, not 500).

// idleConns puts n connections of pool in its idle list and returns the
// server's ids for them, read with idQuery.
func idleConns(t *testing.T, pool *sql.DB, n int, idQuery string) []int64 {
	t.Helper()
	ctx := context.Background()
	conns := make([]*sql.Conn, n)
	ids := make([]int64, n)
	for i := range conns {
		c, err := pool.Conn(ctx)
		require.NoError(t, err, "open connection %d", i)
		require.NoError(t, c.QueryRowContext(ctx, idQuery).Scan(&ids[i]), "connection id")
		conns[i] = c
	}
	for _, c := range conns {
		require.NoError(t, c.Close(), "return the connection to the pool")
	}
	return ids
}

// beginOnDeadConnections checks DoWith on a pool whose idle connections
// were all killed by the server: with one attempt the BEGIN fails and the
// error reports Unavailable; with the default attempts the BEGIN is retried
// on the next connection and fn runs once.
func beginOnDeadConnections(t *testing.T, pool *sql.DB, kill func(ids []int64), idQuery string) {
	t.Helper()
	ctx := context.Background()
	pool.SetMaxIdleConns(4)
	kill(idleConns(t, pool, 2, idQuery))

	var runs atomic.Int32
	fn := func(ctx context.Context) error {
		runs.Add(1)
		var one int
		return txn.From(ctx, pool).QueryRowContext(ctx, "SELECT 1").Scan(&one)
	}
	err := txn.DoWith(ctx, pool, txn.Options{MaxAttempts: 1}, fn)
	require.Error(t, err, "BEGIN on a killed connection fails without a retry")
	assert.Equal(t, dialect.ConnectionLost, dialect.Classify(err), "a lost connection: %v", err)
	r, ok := errkind.Inspect(err)
	require.True(t, ok, "the error reports through errkind")
	assert.Equal(t, 503, r.Status, "a lost database is 503, never 500")
	assert.Equal(t, dialect.RetryAfter, r.RetryAfter, "with Retry-After")
	assert.Zero(t, runs.Load(), "fn never ran: the BEGIN failed")

	require.NoError(t, txn.DoWith(ctx, pool, txn.Options{Backoff: noWait}, fn), "the BEGIN is retried on another connection")
	assert.EqualValues(t, 1, runs.Load(), "fn ran once")
}

func TestBeginOnTerminatedBackendPostgres(t *testing.T) {
	db := testdb.Postgres(t)
	cfg, err := pgx.ParseConfig(db.DSN)
	require.NoError(t, err)
	// Never ping before reuse: as on a busy pool, whose connections are
	// reused within pgx's one-second ping window, the next BEGIN is the
	// first to hear of the termination.
	pool := stdlib.OpenDB(*cfg, stdlib.OptionShouldPing(func(context.Context, stdlib.ShouldPingParams) bool { return false }))
	t.Cleanup(func() { pool.Close() })
	kill := func(pids []int64) {
		for _, pid := range pids {
			_, err := db.DB.Exec("SELECT pg_terminate_backend($1)", pid)
			require.NoError(t, err, "terminate backend %d", pid)
		}
		require.Eventually(t, func() bool {
			var n int
			require.NoError(t, db.DB.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)", pids).Scan(&n))
			return n == 0
		}, 10*time.Second, 10*time.Millisecond, "the backends exit")
	}
	beginOnDeadConnections(t, pool, kill, "SELECT pg_backend_pid()")
}

func TestBeginOnKilledConnectionMySQL(t *testing.T) {
	db := testdb.MySQL(t)
	_ = mysql.SetLogger(&mysql.NopLogger{}) // the driver logs the closed connections it finds
	cfg, err := mysql.ParseDSN(db.DSN)
	require.NoError(t, err)
	// go-sql-driver checks an idle connection before reuse and replaces a
	// dead one itself; without the check, as when the server kills the
	// connection between that check and the BEGIN, the BEGIN fails.
	cfg.CheckConnLiveness = false
	pool, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	t.Cleanup(func() { pool.Close() })
	kill := func(ids []int64) {
		for _, id := range ids {
			_, err := db.DB.Exec("KILL CONNECTION ?", id)
			require.NoError(t, err, "kill connection %d", id)
		}
		require.Eventually(t, func() bool {
			var n int
			require.NoError(t, db.DB.QueryRow("SELECT count(*) FROM information_schema.processlist WHERE id IN (?, ?)", ids[0], ids[1]).Scan(&n))
			return n == 0
		}, 10*time.Second, 10*time.Millisecond, "the connections are gone")
	}
	beginOnDeadConnections(t, pool, kill, "SELECT CONNECTION_ID()")
}

// TestRecordChangedIsRetriedMariaDB provokes MariaDB's 1020 ("Record has
// changed since last read") with innodb_snapshot_isolation under
// REPEATABLE READ: the first attempt reads a row, another transaction
// changes it, the first attempt's update fails; Do runs fn again and the
// second attempt sees the new value.
func TestRecordChangedIsRetriedMariaDB(t *testing.T) {
	db := testdb.MySQL(t)
	ctx := context.Background()
	var version string
	require.NoError(t, db.DB.QueryRow("SELECT @@version").Scan(&version))
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
		t.Skipf("server %s has no innodb_snapshot_isolation: %v", version, err)
	}
	_, err = db.DB.Exec("CREATE TABLE counters (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB")
	require.NoError(t, err)
	_, err = db.DB.Exec("INSERT INTO counters VALUES (1, 10)")
	require.NoError(t, err)

	var attempts atomic.Int32
	var seen []int
	opts := txn.Options{TxOptions: &sql.TxOptions{Isolation: sql.LevelRepeatableRead}, Backoff: noWait}
	err = txn.DoWith(ctx, pool, opts, func(ctx context.Context) error {
		n := attempts.Add(1)
		q := txn.From(ctx, pool)
		var v int
		if err := q.QueryRowContext(ctx, "SELECT v FROM counters WHERE id = 1").Scan(&v); err != nil {
			return err
		}
		seen = append(seen, v)
		if n == 1 { // someone else commits a change after our snapshot
			if _, err := db.DB.ExecContext(ctx, "UPDATE counters SET v = v + 100 WHERE id = 1"); err != nil {
				return err
			}
		}
		_, err := q.ExecContext(ctx, "UPDATE counters SET v = ? WHERE id = 1", v+1)
		return err
	})
	require.NoError(t, err, "the 1020 is retried")
	assert.EqualValues(t, 2, attempts.Load(), "fn ran twice")
	assert.Equal(t, []int{10, 110}, seen, "the retry read the other transaction's commit")
	var v int
	require.NoError(t, db.DB.QueryRow("SELECT v FROM counters WHERE id = 1").Scan(&v))
	assert.Equal(t, 111, v, "no lost update")
}

// TestConnWait saturates a pool of one connection: a transaction that
// cannot get a connection within Options.ConnWait fails fast with
// ErrPoolTimeout (503 with Retry-After), one whose own deadline comes first
// gets its deadline (504), and once the connection is back the same call
// succeeds.
func TestConnWait(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		db.DB.SetMaxOpenConns(1)
		hold, err := db.DB.Conn(ctx)
		require.NoError(t, err, "take the only connection")
		var runs atomic.Int32
		fn := func(ctx context.Context) error { runs.Add(1); return nil }

		start := time.Now()
		err = txn.DoWith(ctx, db.DB, txn.Options{ConnWait: 50 * time.Millisecond}, fn)
		require.ErrorIs(t, err, txn.ErrPoolTimeout, "no connection within ConnWait")
		assert.Less(t, time.Since(start), 2*time.Second, "it fails fast")
		r, ok := errkind.Inspect(err)
		require.True(t, ok, "ErrPoolTimeout reports through errkind")
		assert.Equal(t, 503, r.Status, "a saturated pool is 503")
		assert.Equal(t, dialect.RetryAfter, r.RetryAfter, "with Retry-After")

		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		err = txn.DoWith(short, db.DB, txn.Options{ConnWait: time.Minute}, fn)
		require.ErrorIs(t, err, context.DeadlineExceeded, "the caller's deadline came first")
		assert.Equal(t, errkind.Timeout, errkind.Of(err), "and is a timeout, not a saturated pool")
		assert.Zero(t, runs.Load(), "fn never ran")

		require.NoError(t, hold.Close(), "give the connection back")
		require.NoError(t, txn.DoWith(ctx, db.DB, txn.Options{ConnWait: time.Second}, fn), "a free connection is taken")
		assert.EqualValues(t, 1, runs.Load(), "fn ran once")
	})
}
