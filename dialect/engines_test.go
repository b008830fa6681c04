package dialect_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/internal/faultproxy"
	"github.com/svckit/svckit/internal/testdb"
)

// The tests below provoke each class on the real servers with the real
// drivers, so a driver release that changes how it reports an error fails
// here.

func exec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		_, err := db.Exec(s)
		require.NoError(t, err, "setup: %s", s)
	}
}

func assertClass(t *testing.T, want dialect.Class, err error, what string) {
	t.Helper()
	require.Error(t, err, "%s must fail", what)
	assert.Equal(t, want, dialect.Classify(err), "%s: class of %v", what, err)
	wrapped := dialect.Wrap(err)
	assert.ErrorIs(t, wrapped, err, "Wrap keeps the driver's error in the chain")
	wantKind := want.Kind()
	if want == dialect.Other {
		wantKind = errkind.Internal // not classified: an unknown error
	}
	assert.Equal(t, wantKind, errkind.Of(wrapped), "%s: kind after Wrap", what)
}

func TestConstraintsOnEveryEngine(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		exec(t, db.DB,
			"CREATE TABLE parent (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL UNIQUE)",
			"CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id))",
			"INSERT INTO parent (id, name) VALUES (1, 'a')",
		)
		_, err := db.DB.Exec("INSERT INTO parent (id, name) VALUES (2, 'a')")
		assertClass(t, dialect.UniqueViolation, err, "duplicate unique column")
		_, err = db.DB.Exec("INSERT INTO parent (id, name) VALUES (1, 'b')")
		assertClass(t, dialect.UniqueViolation, err, "duplicate primary key")
		_, err = db.DB.Exec("INSERT INTO child (id, parent_id) VALUES (1, 99)")
		assertClass(t, dialect.ForeignKeyViolation, err, "missing parent")
		if db.Dialect != testdb.SQLiteDialect { // SQLite says only SQLITE_ERROR
			_, err = db.DB.Exec("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
			assertClass(t, dialect.DuplicateObject, err, "a table that exists")
		}
		_, err = db.DB.Exec("SELECT no_such_column FROM parent")
		assertClass(t, dialect.Other, err, "a syntax error")
		assert.Equal(t, err, dialect.Wrap(err), "Wrap leaves an unclassified error alone")
	})
}

func TestTimeoutOnEveryEngine(t *testing.T) {
	sleep := map[string]string{
		testdb.PostgresDialect: "SELECT pg_sleep(5)",
		testdb.MySQLDialect:    "SELECT SLEEP(5)",
		testdb.SQLiteDialect:   "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c",
	}
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		var n int64
		err := db.DB.QueryRowContext(ctx, sleep[db.Dialect]).Scan(&n)
		if db.Dialect == testdb.MySQLDialect && err == nil {
			t.Fatalf("SLEEP was not interrupted")
		}
		assertClass(t, dialect.Timeout, err, "a statement past its deadline")
		assert.Less(t, time.Since(start), 3*time.Second, "the statement is cancelled at the deadline")
		assert.Eventually(t, func() bool { return db.DB.Stats().InUse == 0 }, 5*time.Second, 10*time.Millisecond,
			"the connection goes back to the pool")
	})
}

func TestPostgres(t *testing.T) {
	db := testdb.Postgres(t)
	exec(t, db.DB, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO t VALUES (1, 'a')")
	ctx := context.Background()

	t.Run("invalid text", func(t *testing.T) {
		_, err := db.DB.Exec("INSERT INTO t VALUES (2, $1)", "bad \xff byte")
		assertClass(t, dialect.InvalidText, err, "invalid UTF-8")
		assert.Equal(t, errkind.BadRequest, errkind.Of(dialect.Wrap(err)))
		_, err = db.DB.Exec("SELECT convert_from('\\xff'::bytea, 'UTF8')")
		assertClass(t, dialect.InvalidText, err, "invalid byte sequence from convert_from")
	})
	t.Run("statement_timeout", func(t *testing.T) {
		conn, err := db.DB.Conn(ctx)
		require.NoError(t, err)
		defer conn.Close()
		_, err = conn.ExecContext(ctx, "SET statement_timeout = 50")
		require.NoError(t, err)
		_, err = conn.ExecContext(ctx, "SELECT pg_sleep(2)")
		assertClass(t, dialect.Timeout, err, "57014")
	})
	t.Run("serialization failure and lock timeout", func(t *testing.T) {
		tx1, err := db.DB.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
		require.NoError(t, err)
		defer tx1.Rollback()
		var v string
		require.NoError(t, tx1.QueryRow("SELECT v FROM t WHERE id = 1").Scan(&v))
		_, err = db.DB.Exec("UPDATE t SET v = 'b' WHERE id = 1")
		require.NoError(t, err)
		_, err = tx1.Exec("UPDATE t SET v = 'c' WHERE id = 1")
		assertClass(t, dialect.SerializationFailure, err, "40001")
		assert.True(t, dialect.Classify(err).Transient(), "a serialization failure is transient")

		holder, err := db.DB.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer holder.Rollback()
		_, err = holder.Exec("UPDATE t SET v = 'd' WHERE id = 1")
		require.NoError(t, err)
		waiter, err := db.DB.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer waiter.Rollback()
		_, err = waiter.Exec("SET LOCAL lock_timeout = 50")
		require.NoError(t, err)
		_, err = waiter.Exec("UPDATE t SET v = 'e' WHERE id = 1")
		assertClass(t, dialect.LockTimeout, err, "55P03")
	})
	t.Run("terminated backend", func(t *testing.T) {
		conn, err := db.DB.Conn(ctx)
		require.NoError(t, err)
		defer conn.Close()
		_, err = conn.ExecContext(ctx, "SELECT pg_terminate_backend(pg_backend_pid())")
		assertClass(t, dialect.ConnectionLost, err, "57P01 on the terminated connection")
		r, _ := errkind.Inspect(dialect.Wrap(err))
		assert.Equal(t, 503, r.Status, "a lost connection is 503")
		assert.Equal(t, dialect.RetryAfter, r.RetryAfter, "with Retry-After")
		assert.NotContains(t, r.Message, "terminat", "the driver's text is not the public message")
		_, err = conn.ExecContext(ctx, "SELECT 1")
		assertClass(t, dialect.ConnectionLost, err, "the next statement on the dead connection")
	})
	t.Run("refused", func(t *testing.T) {
		bad, err := sql.Open("pgx", "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
		require.NoError(t, err)
		defer bad.Close()
		assertClass(t, dialect.ConnectionLost, bad.PingContext(ctx), "connection refused")
	})
	t.Run("too many connections", func(t *testing.T) {
		role := "svckit_limit_" + testdb.Suffix()
		exec(t, db.DB, "CREATE ROLE "+role+" LOGIN CONNECTION LIMIT 0")
		t.Cleanup(func() { _, _ = db.DB.Exec("DROP ROLE " + role) })
		u, err := url.Parse(os.Getenv(testdb.PostgresEnv))
		require.NoError(t, err)
		u.User = url.User(role)
		limited, err := sql.Open("pgx", u.String())
		require.NoError(t, err)
		defer limited.Close()
		assertClass(t, dialect.TooManyConnections, limited.PingContext(ctx), "53300")
	})
}

func TestMySQL(t *testing.T) {
	db := testdb.MySQL(t)
	exec(t, db.DB, "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB", "INSERT INTO t VALUES (1, 'a')")
	ctx := context.Background()

	t.Run("record changed", func(t *testing.T) {
		var version string
		require.NoError(t, db.DB.QueryRow("SELECT @@version").Scan(&version))
		conn, err := db.DB.Conn(ctx)
		require.NoError(t, err)
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SET SESSION innodb_snapshot_isolation = ON"); err != nil {
			t.Skipf("server %s has no innodb_snapshot_isolation: %v", version, err)
		}
		_, err = conn.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
		require.NoError(t, err)
		tx1, err := conn.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer tx1.Rollback()
		var v string
		require.NoError(t, tx1.QueryRow("SELECT v FROM t WHERE id = 1").Scan(&v))
		_, err = db.DB.Exec("UPDATE t SET v = 'b' WHERE id = 1")
		require.NoError(t, err)
		_, err = tx1.Exec("UPDATE t SET v = 'c' WHERE id = 1")
		assertClass(t, dialect.RecordChanged, err, "MariaDB 1020")
		var me *mysql.MySQLError
		require.ErrorAs(t, err, &me)
		assert.EqualValues(t, 1020, me.Number, "the server's error number")
		assert.True(t, dialect.Classify(err).Transient(), "1020 is transient")
	})
	t.Run("lock wait timeout", func(t *testing.T) {
		holder, err := db.DB.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer holder.Rollback()
		_, err = holder.Exec("UPDATE t SET v = 'd' WHERE id = 1")
		require.NoError(t, err)
		conn, err := db.DB.Conn(ctx)
		require.NoError(t, err)
		defer conn.Close()
		_, err = conn.ExecContext(ctx, "SET SESSION innodb_lock_wait_timeout = 1")
		require.NoError(t, err)
		_, err = conn.ExecContext(ctx, "UPDATE t SET v = 'e' WHERE id = 1")
		assertClass(t, dialect.LockTimeout, err, "1205")
	})
	t.Run("invalid text", func(t *testing.T) {
		_, err := db.DB.Exec("INSERT INTO t VALUES (2, ?)", "bad \xff byte")
		assertClass(t, dialect.InvalidText, err, "1366")
	})
	t.Run("killed connection", func(t *testing.T) {
		conn, err := db.DB.Conn(ctx)
		require.NoError(t, err)
		defer conn.Close()
		var id int64
		require.NoError(t, conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id))
		_, err = db.DB.Exec("KILL CONNECTION ?", id)
		require.NoError(t, err)
		_, err = conn.ExecContext(ctx, "SELECT 1")
		assertClass(t, dialect.ConnectionLost, err, "a statement on a killed connection")
	})
	t.Run("refused", func(t *testing.T) {
		bad, err := sql.Open("mysql", "root@tcp(127.0.0.1:1)/test?timeout=2s")
		require.NoError(t, err)
		defer bad.Close()
		assertClass(t, dialect.ConnectionLost, bad.PingContext(ctx), "connection refused")
	})
	t.Run("too many connections", func(t *testing.T) {
		user := "svckit_limit_" + testdb.Suffix()
		exec(t, db.DB, "CREATE USER '"+user+"'@'%' WITH MAX_USER_CONNECTIONS 1")
		t.Cleanup(func() { _, _ = db.DB.Exec("DROP USER '" + user + "'@'%'") })
		cfg, err := mysql.ParseDSN(db.DSN)
		require.NoError(t, err)
		cfg.User, cfg.Passwd, cfg.DBName = user, "", ""
		limited, err := sql.Open("mysql", cfg.FormatDSN())
		require.NoError(t, err)
		defer limited.Close()
		first, err := limited.Conn(ctx)
		require.NoError(t, err, "the first connection fits")
		defer first.Close()
		_, err = limited.Conn(ctx)
		assertClass(t, dialect.TooManyConnections, err, "the second is over MAX_USER_CONNECTIONS")
	})
}

func TestSQLite(t *testing.T) {
	dir := t.TempDir()
	dsn := "file:" + dir + "/busy.db?_pragma=busy_timeout(10)&_pragma=journal_mode(WAL)"
	a, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	defer a.Close()
	b, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	defer b.Close()
	exec(t, a, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
	ctx := context.Background()
	holder, err := a.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer holder.Rollback()
	_, err = holder.Exec("INSERT INTO t VALUES (1)")
	require.NoError(t, err)
	_, err = b.Exec("INSERT INTO t VALUES (2)")
	assertClass(t, dialect.LockTimeout, err, "SQLITE_BUSY")
	assert.True(t, dialect.Classify(err).Transient(), "SQLITE_BUSY is transient")
}

func TestMain(m *testing.M) {
	// Quiet go-sql-driver's own logging of killed connections.
	_ = mysql.SetLogger(&mysql.NopLogger{})
	os.Exit(m.Run())
}

// TestConnectFailureOnEveryDriver (issue 27, broke 3): whatever way a
// connection cannot be made is ConnectionLost (503 with Retry-After), on
// each engine's driver: a server (or a proxy or load balancer in front of a
// dead one) that accepts the connection and closes it at once, which pgx
// reports as a connect error wrapping io.ErrUnexpectedEOF, and an SQLite
// file that cannot be opened. It needs no server: the proxy never dials
// its upstream while it closes what it accepts.
func TestConnectFailureOnEveryDriver(t *testing.T) {
	p, err := faultproxy.New("127.0.0.1:1")
	require.NoError(t, err, "proxy")
	t.Cleanup(func() { require.NoError(t, p.Close(), "close the proxy") })
	p.AcceptClose()
	dir := t.TempDir()
	tests := []struct {
		name, driver, dsn string
	}{
		{"pgx, accepted then closed", "pgx", "postgres://postgres@" + p.Addr() + "/test?sslmode=disable&connect_timeout=5"},
		{"pgx with TLS preferred, accepted then closed", "pgx", "postgres://postgres@" + p.Addr() + "/test?sslmode=prefer&connect_timeout=5"},
		{"mysql, accepted then closed", "mysql", "root@tcp(" + p.Addr() + ")/test?timeout=5s"},
		{"sqlite, a file that cannot be opened", "sqlite", "file:" + dir + "/missing/dir/app.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := sql.Open(tt.driver, tt.dsn)
			require.NoError(t, err, "open")
			defer db.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = db.PingContext(ctx)
			assertClass(t, dialect.ConnectionLost, err, "a connection that cannot be made")
			r, ok := errkind.Inspect(dialect.Wrap(err))
			require.True(t, ok, "a wrapped connect error reports a kind")
			assert.Equal(t, 503, r.Status, "503")
			assert.Equal(t, dialect.RetryAfter, r.RetryAfter, "with Retry-After")
		})
	}
}
