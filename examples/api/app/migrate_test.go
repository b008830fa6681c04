package app_test

import (
	"context"
	"io/fs"
	"path"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth/sqlstore"
	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/examples/api/app"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/migrate"
)

// TestMigrateCarriesOverSchemaMigrations starts from a database the
// example migrated before it shared svckit's table (its versions in
// schema_migrations, the stores' in svckit_schema_migrations, a user
// row): Migrate moves the history over, runs nothing twice, keeps the
// data and drops the old table. Another tool's schema_migrations is left
// alone.
func TestMigrateCarriesOverSchemaMigrations(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		d, err := dialect.Parse(db.Dialect)
		require.NoError(t, err, "dialect")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()

		// The example's Migrate before this change.
		files, err := migrate.FromFS(app.Migrations(), path.Join("migrations", d.String()))
		require.NoError(t, err, "the files")
		require.NoError(t, migrate.Run(ctx, db.DB, d, "schema_migrations", files), "the old migration")
		require.NoError(t, sqlstore.New(db.DB, d).Migrate(ctx), "the refresh-token store, as before")
		_, err = db.DB.ExecContext(ctx, "INSERT INTO users (id, email, email_lower, name, roles, password_hash, created_at, updated_at) VALUES ("+
			placeholders(d, 8)+")", "0190c8c6-7b1e-7000-8000-000000000001", "Old@example.com", "old@example.com", "Old", "", "x", time.Now().UTC(), time.Now().UTC())
		require.NoError(t, err, "a user of the old database")

		for range 2 { // and again, as every later start does
			require.NoError(t, app.Migrate(ctx, db.DB, d), "Migrate on the old database")
		}
		legacy, err := migrate.Applied(ctx, db.DB, d, "schema_migrations")
		require.NoError(t, err, "look for schema_migrations")
		assert.Nil(t, legacy, "schema_migrations is gone")
		recorded, err := migrate.Applied(ctx, db.DB, d, app.MigrationsTable)
		require.NoError(t, err, "read the one table")
		for _, f := range files {
			assert.Contains(t, recorded, f.Version, "%s carried over", f.Version)
		}
		assert.Contains(t, recorded, sqlstore.SchemaVersion, "the store's version kept")
		var n int
		require.NoError(t, db.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n), "count users")
		assert.Equal(t, 1, n, "the data is kept")

		status, err := app.MigrationStatus(ctx, db.DB, d)
		require.NoError(t, err, "status")
		for _, s := range status {
			assert.True(t, s.Applied, "%s applied", s.Version)
		}
	})
}

// TestMigrateLeavesAnotherToolsTable: a schema_migrations table that is
// not the example's (another migration tool's, without 001_init) is not
// read, changed or dropped.
func TestMigrateLeavesAnotherToolsTable(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		d, err := dialect.Parse(db.Dialect)
		require.NoError(t, err, "dialect")
		ctx := context.Background()
		_, err = db.DB.ExecContext(ctx, "CREATE TABLE schema_migrations (version VARCHAR(100) NOT NULL PRIMARY KEY, dirty BOOLEAN NOT NULL)")
		require.NoError(t, err, "another tool's table")
		_, err = db.DB.ExecContext(ctx, "INSERT INTO schema_migrations (version, dirty) VALUES ('20240101120000', FALSE)")
		require.NoError(t, err, "its row")
		require.NoError(t, app.Migrate(ctx, db.DB, d), "Migrate")
		other, err := migrate.Applied(ctx, db.DB, d, "schema_migrations")
		require.NoError(t, err, "read the other table")
		assert.Equal(t, []string{"20240101120000"}, other, "left as it was")
		recorded, err := migrate.Applied(ctx, db.DB, d, app.MigrationsTable)
		require.NoError(t, err, "read the one table")
		assert.NotContains(t, recorded, "20240101120000", "nothing of it carried over")
	})
}

// TestMigrationStatus: on a new database every migration is pending; after
// Migrate every one is applied, and the stores' versions follow.
func TestMigrationStatus(t *testing.T) {
	db := testdb.SQLite(t)
	ctx := context.Background()
	before, err := app.MigrationStatus(ctx, db.DB, dialect.SQLite)
	require.NoError(t, err, "status of a new database")
	files, err := fs.Glob(app.Migrations(), "migrations/sqlite/*.sql")
	require.NoError(t, err, "the files")
	require.Len(t, before, len(files), "one line per file")
	for i, s := range before {
		assert.False(t, s.Applied, "%s pending", s.Version)
		assert.Equal(t, files[i], s.File, "in file order")
	}
	require.NoError(t, app.Migrate(ctx, db.DB, dialect.SQLite), "Migrate")
	after, err := app.MigrationStatus(ctx, db.DB, dialect.SQLite)
	require.NoError(t, err, "status")
	var versions []string
	for _, s := range after {
		assert.True(t, s.Applied, "%s applied", s.Version)
		versions = append(versions, s.Version)
	}
	assert.Contains(t, versions, sqlstore.SchemaVersion, "the stores' versions are listed too")
	assert.NotContains(t, versions, "000_carry_over_schema_migrations", "bookkeeping is not listed")
}

// placeholders returns n placeholders of d, comma-separated.
func placeholders(d dialect.Dialect, n int) string {
	s := ""
	for i := 1; i <= n; i++ {
		if i > 1 {
			s += ", "
		}
		s += d.Placeholder(i)
	}
	return s
}
