package app

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/migrate"
)

//go:embed migrations
var migrationFiles embed.FS

// Migrations returns the example's schema files: a directory per dialect
// (postgres, sqlite, mysql) of versioned scripts, 001_init.sql and on. Migrate
// runs them; to run them with a migration tool of your own, give it these
// (and idempotency.SQL's Schema).
func Migrations() fs.FS { return migrationFiles }

// Migrate applies the embedded migrations of dialect d that db has not
// recorded in schema_migrations yet, in file-name order, recording each,
// then creates the idempotency-key table of svckit's idempotency package.
// Instances starting at the same moment on a fresh database take turns: the
// migrations hold a lock for the database (a PostgreSQL advisory lock,
// MySQL's GET_LOCK, SQLite's write lock), so each runs once. A failing
// statement is reported with its file and releases the lock.
func Migrate(ctx context.Context, db *sql.DB, d dialect.Dialect) error {
	migs, err := migrate.FromFS(migrationFiles, path.Join("migrations", d.String()))
	if err != nil {
		return fmt.Errorf("app: migrations for %s: %w", d, err)
	}
	if err := migrate.Run(ctx, db, d, "schema_migrations", migs); err != nil {
		return fmt.Errorf("app: migrate: %w", err)
	}
	return newIdempotencyStore(db, d).Migrate(ctx)
}
