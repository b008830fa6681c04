package migrate_test

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/migrate"
)

// migrations are plain, not idempotent, DDL: running one twice fails, so
// the tests show each runs once.
func migrations(t *testing.T) []migrate.Migration {
	t.Helper()
	fsys := fstest.MapFS{
		"m/001_a.sql":  {Data: []byte("-- first\nCREATE TABLE mig_a (id INT PRIMARY KEY);\nCREATE TABLE mig_b (id INT PRIMARY KEY);\n")},
		"m/002_b.sql":  {Data: []byte("CREATE TABLE mig_c (id INT PRIMARY KEY)")},
		"m/README.txt": {Data: []byte("not a migration")},
	}
	migs, err := migrate.FromFS(fsys, "m")
	require.NoError(t, err, "read migrations")
	require.Len(t, migs, 2, "the .sql files only")
	return migs
}

func open(t *testing.T, db *testdb.DB) *sql.DB {
	t.Helper()
	pool, err := sql.Open(db.Driver, db.DSN)
	require.NoError(t, err, "open another pool")
	t.Cleanup(func() { pool.Close() })
	return pool
}

// TestRunConcurrently starts eight instances' migrations at the same moment
// on a fresh database, each on its own pool: every one succeeds and each
// migration runs and is recorded once.
func TestRunConcurrently(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		d, err := dialect.Parse(db.Dialect)
		require.NoError(t, err, "dialect")
		migs := migrations(t)
		const instances = 8
		pools := make([]*sql.DB, instances)
		for i := range pools {
			pools[i] = open(t, db)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var wg sync.WaitGroup
		errs := make([]error, instances)
		gate := make(chan struct{})
		for i := range pools {
			wg.Go(func() {
				<-gate
				errs[i] = migrate.Run(ctx, pools[i], d, "mig_versions", migs)
			})
		}
		close(gate)
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err, "instance "+strconv.Itoa(i))
		}
		for _, v := range []string{"001_a", "002_b"} {
			var n int
			require.NoError(t, db.DB.QueryRow("SELECT COUNT(*) FROM mig_versions WHERE version = "+d.Placeholder(1), v).Scan(&n), "count")
			assert.Equal(t, 1, n, "version %s recorded once", v)
		}
		_, err = db.DB.Exec("INSERT INTO mig_c (id) VALUES (1)")
		assert.NoError(t, err, "the last migration ran")
		require.NoError(t, migrate.Run(ctx, db.DB, d, "mig_versions", migs), "running again does nothing")
	})
}

// TestRunFailure: a failing statement is reported with its file and
// statement, the lock is released at once, and a fixed migration then runs.
func TestRunFailure(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		d, err := dialect.Parse(db.Dialect)
		require.NoError(t, err, "dialect")
		ctx := context.Background()
		bad := []migrate.Migration{
			{Version: "001_ok", File: "m/001_ok.sql", Statements: []string{"CREATE TABLE mig_ok (id INT PRIMARY KEY)"}},
			{Version: "002_bad", File: "m/002_bad.sql", Statements: []string{
				"CREATE TABLE mig_x (id INT PRIMARY KEY)",
				"CREATE TABLE mig_x (id INT PRIMARY KEY)", // exists: fails
			}},
		}
		err = migrate.Run(ctx, db.DB, d, "mig_versions", bad)
		var me *migrate.Error
		require.ErrorAs(t, err, &me, "a *Error")
		assert.Equal(t, "m/002_bad.sql", me.File, "names the file")
		assert.Equal(t, 2, me.Index, "names the statement")
		assert.Contains(t, err.Error(), "m/002_bad.sql, statement 2 (CREATE TABLE mig_x", "message names file and statement")

		// Another instance is not blocked by a lock left behind.
		other := open(t, db)
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		fixed := []migrate.Migration{bad[0], {Version: "002_bad", File: "m/002_bad.sql", Statements: []string{
			"CREATE TABLE IF NOT EXISTS mig_x (id INT PRIMARY KEY)",
		}}}
		require.NoError(t, migrate.Run(ctx, other, d, "mig_versions", fixed), "the fixed migration runs")
		var n int
		require.NoError(t, db.DB.QueryRow("SELECT COUNT(*) FROM mig_versions").Scan(&n), "count")
		assert.Equal(t, 2, n, "both versions recorded, once each")
	})
}

func TestFromFSErrors(t *testing.T) {
	_, err := migrate.FromFS(fstest.MapFS{}, "missing")
	assert.Error(t, err, "a missing directory is an error")
}

// TestApplied: no table is nil, no error; then the versions Run recorded,
// in order.
func TestApplied(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		d, err := dialect.Parse(db.Dialect)
		require.NoError(t, err, "dialect")
		ctx := context.Background()
		got, err := migrate.Applied(ctx, db.DB, d, "mig_versions")
		require.NoError(t, err, "Applied before any migration")
		assert.Nil(t, got, "no table: nil")
		migs := migrations(t)
		require.NoError(t, migrate.Run(ctx, db.DB, d, "mig_versions", migs[:1]), "run the first")
		got, err = migrate.Applied(ctx, db.DB, d, "mig_versions")
		require.NoError(t, err, "Applied")
		assert.Equal(t, []string{"001_a"}, got, "the first only")
		require.NoError(t, migrate.Run(ctx, db.DB, d, "mig_versions", migs), "run both")
		got, err = migrate.Applied(ctx, db.DB, d, "mig_versions")
		require.NoError(t, err, "Applied")
		assert.Equal(t, []string{"001_a", "002_b"}, got, "both, in order")
	})
}

// TestFunc: a migration's Func runs once, after its statements, on the
// migration's connection; its failure is a *Error of the file and nothing
// is recorded.
func TestFunc(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		d, err := dialect.Parse(db.Dialect)
		require.NoError(t, err, "dialect")
		ctx := context.Background()
		runs := 0
		copyRows := migrate.Migration{Version: "001_copy", File: "m/001_copy.go",
			Statements: []string{"CREATE TABLE mig_src (id INT PRIMARY KEY)", "INSERT INTO mig_src (id) VALUES (1), (2)"},
			Func: func(ctx context.Context, q migrate.Querier) error {
				runs++
				var n int
				if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM mig_src").Scan(&n); err != nil {
					return err
				}
				_, err := q.ExecContext(ctx, "CREATE TABLE mig_copy_"+strconv.Itoa(n)+" (id INT PRIMARY KEY)")
				return err
			}}
		for range 2 {
			require.NoError(t, migrate.Run(ctx, db.DB, d, "mig_versions", []migrate.Migration{copyRows}), "run")
		}
		assert.Equal(t, 1, runs, "Func runs once")
		_, err = db.DB.ExecContext(ctx, "INSERT INTO mig_copy_2 (id) VALUES (1)")
		assert.NoError(t, err, "Func saw the statements' rows and made its table")

		failing := migrate.Migration{Version: "002_fail", File: "m/002_fail.go",
			Func: func(context.Context, migrate.Querier) error { return errors.New("no such thing") }}
		err = migrate.Run(ctx, db.DB, d, "mig_versions", []migrate.Migration{copyRows, failing})
		var me *migrate.Error
		require.ErrorAs(t, err, &me, "a *Error")
		assert.Equal(t, "m/002_fail.go", me.File, "names the file")
		assert.ErrorContains(t, err, "no such thing", "and Func's error")
		got, err := migrate.Applied(ctx, db.DB, d, "mig_versions")
		require.NoError(t, err, "Applied")
		assert.Equal(t, []string{"001_copy"}, got, "the failed migration is not recorded")
	})
}
