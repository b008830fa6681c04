package sqlstore_test

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/idempotency"
	"github.com/svckit/svckit/idempotency/sqlstore"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/txn"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errBoom = errors.New("boom")

// openSQL migrates a Store on db (twice: Migrate is idempotent). A small
// pool keeps racing goroutines queueing in database/sql rather than against
// the servers' connection limits, shared with other tests.
func openSQL(t testing.TB, db *testdb.DB, opts sqlstore.Options) *sqlstore.Store {
	t.Helper()
	d, err := dialect.Parse(db.Dialect)
	require.NoError(t, err, "dialect of %s", db.Name)
	db.DB.SetMaxOpenConns(12)
	if d == dialect.SQLite {
		db.DB.SetMaxOpenConns(4)
	}
	s := sqlstore.New(db.DB, d, opts)
	require.NoError(t, s.Migrate(context.Background()), "Migrate")
	require.NoError(t, s.Migrate(context.Background()), "Migrate again must be a no-op")
	return s
}

func TestNewPanics(t *testing.T) {
	db := testdb.SQLite(t).DB
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"nil db", func() { sqlstore.New(nil, dialect.SQLite, sqlstore.Options{}) }},
		{"zero dialect", func() { sqlstore.New(db, 0, sqlstore.Options{}) }},
		{"quoted table", func() {
			sqlstore.New(db, dialect.SQLite, sqlstore.Options{Table: `keys"; DROP TABLE users; --`})
		}},
		{"schema-qualified table", func() { sqlstore.New(db, dialect.SQLite, sqlstore.Options{Table: "public.keys"}) }},
		{"leading digit", func() { sqlstore.New(db, dialect.SQLite, sqlstore.Options{Table: "1keys"}) }},
		{"too long", func() { sqlstore.New(db, dialect.SQLite, sqlstore.Options{Table: strings.Repeat("k", 49)}) }},
	} {
		assert.Panics(t, tc.fn, tc.name)
	}
	assert.NotPanics(t, func() {
		sqlstore.New(db, dialect.SQLite, sqlstore.Options{Table: "_Keys_2" + strings.Repeat("k", 41)})
	}, "48 bytes of letters, digits and underscores")
}

func TestSchema(t *testing.T) {
	for _, d := range []dialect.Dialect{dialect.Postgres, dialect.SQLite, dialect.MySQL} {
		body, err := fs.ReadFile(sqlstore.Schema(), d.String()+".sql")
		require.NoError(t, err, "%v: a schema file per dialect", d)
		assert.Contains(t, string(body), "CREATE TABLE IF NOT EXISTS svckit_idempotency_keys (", "%v: default table", d)
		assert.Contains(t, string(body), "svckit_idempotency_keys_created_at", "%v: the index", d)
	}
	names, err := fs.Glob(sqlstore.Schema(), "*")
	require.NoError(t, err, "list the schema files")
	assert.Equal(t, []string{"mysql.sql", "postgres.sql", "sqlite.sql"}, names, "one file per dialect and nothing else")
}

// TestCustomTable checks that a Store with its own table creates it and
// its index under that name and uses nothing of the default one.
func TestCustomTable(t *testing.T) {
	db := testdb.SQLite(t)
	s := openSQL(t, db, sqlstore.Options{Table: "idem"})
	require.NoError(t, s.Claim(context.Background(), idempotency.Key{Value: "k"}, "fp"), "claim")
	rows, err := db.DB.Query(`SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	require.NoError(t, err, "list tables")
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n), "scan")
		names = append(names, n)
	}
	require.NoError(t, rows.Err(), "rows")
	assert.Equal(t, []string{"idem", "idem_created_at", "svckit_schema_migrations"}, names,
		"the table and its index follow Options.Table; the migrations table is the shared one")
}

func TestMigrateConcurrently(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		d, err := dialect.Parse(db.Dialect)
		require.NoError(t, err, "dialect")
		s := sqlstore.New(db.DB, d, sqlstore.Options{})
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { errs[i] = s.Migrate(context.Background()) })
		}
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err, "instance %d migrating at the same time", i)
		}
		require.NoError(t, s.Claim(context.Background(), idempotency.Key{Value: "k"}, "fp"), "the table works")
	})
}

// TestJoinsTheCallersTransaction shows the claim committing or rolling
// back with the caller's own statements, in the caller's txn.Do.
func TestJoinsTheCallersTransaction(t *testing.T) {
	ctx := context.Background()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		s := openSQL(t, db, sqlstore.Options{})
		_, err := db.DB.Exec("CREATE TABLE work (id VARCHAR(20) PRIMARY KEY)")
		require.NoError(t, err, "create work")
		insert := "INSERT INTO work (id) VALUES (?)"
		if db.Dialect == testdb.PostgresDialect {
			insert = "INSERT INTO work (id) VALUES ($1)"
		}
		for _, tc := range []struct {
			id   string
			fail error
		}{{"rolled-back", errBoom}, {"committed", nil}} {
			k := idempotency.Key{Value: tc.id}
			err := txn.Do(ctx, db.DB, func(ctx context.Context) error {
				_, _, err := idempotency.Do(ctx, s, k, "fp", func(ctx context.Context) (idempotency.Outcome, error) {
					_, err := txn.From(ctx, db.DB).ExecContext(ctx, insert, tc.id)
					return idempotency.Outcome{Status: 204}, err
				})
				if err != nil {
					return err
				}
				return tc.fail
			})
			require.ErrorIs(t, err, tc.fail, "%s: the caller's transaction", tc.id)
			var n int
			require.NoError(t, db.DB.QueryRow("SELECT COUNT(*) FROM work").Scan(&n), "count work")
			_, loadErr := s.Load(ctx, k)
			if tc.fail != nil {
				require.ErrorIs(t, loadErr, idempotency.ErrNotFound, "%s: the claim rolled back with the caller", tc.id)
				assert.Zero(t, n, "%s: so did the work", tc.id)
			} else {
				require.NoError(t, loadErr, "%s: the claim committed with the caller", tc.id)
				assert.Equal(t, 1, n, "%s: so did the work", tc.id)
			}
		}
	})
}

func TestLoadCorruptRefusal(t *testing.T) {
	db := testdb.SQLite(t)
	s := openSQL(t, db, sqlstore.Options{})
	_, err := db.DB.Exec(`INSERT INTO svckit_idempotency_keys (scope, idem_key, fingerprint, status, body, created_at) VALUES ('', 'k', 'fp', 422, X'7b', 0)`)
	require.NoError(t, err, "insert a corrupt row")
	_, err = s.Load(context.Background(), idempotency.Key{Value: "k"})
	require.Error(t, err, "a refusal that is not JSON")
	assert.NotErrorIs(t, err, idempotency.ErrNotFound, "it is there, just unreadable")
}

func TestErrorsWrapTheDriver(t *testing.T) {
	db := testdb.SQLite(t)
	s := sqlstore.New(db.DB, dialect.SQLite, sqlstore.Options{Table: "never_migrated"})
	ctx := context.Background()
	k := idempotency.Key{Value: "k"}
	require.ErrorContains(t, s.Claim(ctx, k, "fp"), "sqlstore: claim", "claim")
	require.ErrorContains(t, s.Finish(ctx, k, idempotency.Outcome{Status: 200}), "sqlstore: finish", "finish")
	_, err := s.Load(ctx, k)
	require.ErrorContains(t, err, "sqlstore: load", "load")
	_, err = s.DeleteBefore(ctx, time.Now())
	require.ErrorContains(t, err, "sqlstore: delete before", "delete")
	require.NoError(t, db.DB.Close(), "close")
	require.ErrorContains(t, s.Migrate(ctx), "sqlstore: migrate never_migrated", "migrate on a closed pool")
}

// TestClaimWaitsOnTheRowLock proves that a racing claim really waits
// for the transaction holding the key (seen in the server's lock waits)
// before it learns the outcome, on the servers that report lock waits.
func TestClaimWaitsOnTheRowLock(t *testing.T) {
	ctx := context.Background()
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		var waiting string
		switch db.Dialect {
		case testdb.PostgresDialect:
			waiting = "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1"
		case testdb.MySQLDialect:
			// InnoDB refreshes this table at most every 0.1 s: poll slower.
			waiting = "SELECT COUNT(*) FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT' AND trx_query LIKE ?"
		default:
			t.Skip("SQLite does not report who waits for its write lock")
		}
		table := "idem_wait_" + testdb.Suffix()
		s := openSQL(t, db, sqlstore.Options{Table: table})
		k := idempotency.Key{Value: "k"}
		claimed, release := make(chan struct{}), make(chan struct{})
		var releaseOnce sync.Once
		releaseHolder := func() { releaseOnce.Do(func() { close(release) }) }
		t.Cleanup(releaseHolder) // before the database is dropped, even on failure
		holder := make(chan error, 1)
		go func() {
			holder <- s.Atomic(ctx, func(ctx context.Context) error {
				err := s.Claim(ctx, k, "fp")
				close(claimed)
				if err != nil {
					return err
				}
				<-release
				return s.Finish(ctx, k, idempotency.Outcome{Status: 201, Data: []byte(`{"id":1}`)})
			})
		}()
		<-claimed
		racer := make(chan error, 1)
		go func() {
			_, _, err := idempotency.Do(ctx, s, k, "fp", func(context.Context) (idempotency.Outcome, error) {
				return idempotency.Outcome{}, errBoom // must not run
			})
			racer <- err
		}()
		// Wait (for a state, not a duration) until the racer's INSERT
		// waits for the holder's row lock.
		deadline := time.Now().Add(10 * time.Second)
		for n := 0; n == 0; {
			require.NoError(t, db.DB.QueryRow(waiting, "%INSERT INTO "+table+"%").Scan(&n), "read lock waits")
			require.True(t, time.Now().Before(deadline), "the racer's claim never waited for the row lock")
			if n == 0 {
				time.Sleep(150 * time.Millisecond)
			}
		}
		releaseHolder()
		require.NoError(t, <-holder, "the holder commits")
		require.NoError(t, <-racer, "the racer replays the holder's outcome instead of running fn")
	})
}
