package sqlstore_test

import (
	"context"
	"database/sql"
	"io/fs"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/auth/internal/storetest"
	"github.com/svckit/svckit/auth/sqlstore"
	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/migrate"
	"github.com/svckit/svckit/txn"
)

// open migrates a store on db. A small pool keeps the contract's 100
// goroutines queueing in database/sql rather than in SQLite's busy handler
// or against the servers' connection limits (shared with other tests).
func open(t *testing.T, db *testdb.DB) *sqlstore.Store {
	t.Helper()
	d, err := dialect.Parse(db.Dialect)
	require.NoError(t, err, "dialect of %s", db.Name)
	db.DB.SetMaxOpenConns(16)
	if d == dialect.SQLite {
		db.DB.SetMaxOpenConns(4)
	}
	s := sqlstore.New(db.DB, d)
	require.NoError(t, s.Migrate(context.Background()), "Migrate")
	require.NoError(t, s.Migrate(context.Background()), "Migrate must be idempotent")
	return s
}

func TestContract(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		s := open(t, db)
		n := 0
		storetest.Run(t, func(t *testing.T) auth.RefreshStore {
			// Families and hashes are random per subtest except the
			// family names; a fresh table per subtest keeps them apart.
			n++
			if n > 1 {
				for _, table := range []string{"svckit_refresh_tokens", "svckit_refresh_families"} {
					_, err := db.DB.Exec("DELETE FROM " + table)
					require.NoError(t, err, "empty %s", table)
				}
			}
			return s
		})
	})
}

func TestStoresOnlyHashes(t *testing.T) {
	db := testdb.SQLite(t)
	s := open(t, db)
	svc := storetest.NewService(t, s, 0)
	p, err := svc.Issue(context.Background(), auth.User{ID: "alice"})
	require.NoError(t, err, "Issue")
	rc, err := svc.VerifyRefresh(context.Background(), p.RefreshToken)
	require.NoError(t, err, "VerifyRefresh")
	var stored string
	require.NoError(t, db.DB.QueryRow("SELECT jti_hash FROM svckit_refresh_tokens").Scan(&stored), "read the row")
	assert.Equal(t, auth.HashJTI(rc.ID).String(), stored, "the row must hold the SHA-256 of the jti")
	assert.NotContains(t, stored, rc.ID, "the raw jti must not be stored")
}

func TestDeleteExpired(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		s := open(t, db)
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i, ttl := range []time.Duration{time.Minute, time.Hour} {
			tok := auth.RefreshToken{Hash: auth.HashJTI(ttl.String()), Family: "f" + string(rune('a'+i)), Subject: "u",
				ExpiresAt: now.Add(ttl), FamilyExpiresAt: now.Add(ttl)}
			require.NoError(t, s.Create(ctx, tok), "Create")
		}
		n, err := s.DeleteExpired(ctx, now.Add(30*time.Minute))
		require.NoError(t, err, "DeleteExpired")
		assert.Equal(t, int64(1), n, "only the expired token must go")
		var families int
		require.NoError(t, db.DB.QueryRow("SELECT COUNT(*) FROM svckit_refresh_families").Scan(&families), "count")
		assert.Equal(t, 1, families, "only the expired family must go")
	})
}

// TestJoinsCallerTransaction shows RevokeSubject inside a caller's
// transaction (say, deleting a user) is undone with it.
func TestJoinsCallerTransaction(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		s := open(t, db)
		svc := storetest.NewService(t, s, 0)
		p, err := svc.Issue(ctx, auth.User{ID: "alice"})
		require.NoError(t, err, "Issue")
		errRollback := sql.ErrTxDone
		err = txn.Do(ctx, db.DB, func(ctx context.Context) error {
			require.NoError(t, s.RevokeSubject(ctx, "alice", time.Now()), "RevokeSubject in the transaction")
			return errRollback
		})
		require.ErrorIs(t, err, errRollback, "the transaction must roll back")
		_, err = svc.Refresh(ctx, p.RefreshToken)
		assert.NoError(t, err, "a rolled-back revocation must not stick")
	})
}

func TestNewPanicsOnBadDialect(t *testing.T) {
	assert.PanicsWithValue(t, "sqlstore: New needs a *sql.DB and a valid dialect.Dialect",
		func() { sqlstore.New(testdb.SQLite(t).DB, 0) }, "an invalid dialect is a programmer error")
}

// The files Schema returns are what a team running its own migration tool
// applies: the one named for each engine creates tables the store works on.
func TestSchemaFiles(t *testing.T) {
	names, err := fs.Glob(sqlstore.Schema(), "*")
	require.NoError(t, err, "list the schema files")
	assert.Equal(t, []string{"mysql.sql", "standard.sql"}, names, "one file for MySQL, one for PostgreSQL and SQLite")
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		file := "standard.sql"
		if db.Dialect == testdb.MySQLDialect {
			file = "mysql.sql"
		}
		body, err := fs.ReadFile(sqlstore.Schema(), file)
		require.NoError(t, err, "read %s", file)
		for _, stmt := range migrate.Statements(string(body)) {
			_, err := db.DB.Exec(stmt)
			require.NoError(t, err, "%s applies on %s: %s", file, db.Name, stmt)
		}
		d, err := dialect.Parse(db.Dialect)
		require.NoError(t, err, "dialect of %s", db.Name)
		s := sqlstore.New(db.DB, d)
		now := time.Now()
		tok := auth.RefreshToken{Hash: auth.HashJTI("j"), Family: "f", Subject: "u", ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(time.Hour)}
		require.NoError(t, s.Create(context.Background(), tok), "the store writes to tables made from %s", file)
		n, err := s.DeleteExpired(context.Background(), now.Add(2*time.Hour))
		require.NoError(t, err, "DeleteExpired")
		assert.Equal(t, int64(1), n, "the store finds the token it wrote")
	})
}
