package app

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"

	"github.com/svckit/svckit/auth/sqlstore"
	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/migrate"
	"github.com/svckit/svckit/outbox"
)

//go:embed migrations
var migrationFiles embed.FS

// MigrationsTable records every migration the service applies, its own
// files and the schemas of svckit's stores (refresh tokens, idempotency
// keys) alike: one table, as svckit's CONVENTIONS.md has it.
const MigrationsTable = "svckit_schema_migrations"

// Migrations returns the example's schema files: a directory per dialect
// (postgres, sqlite, mysql) of versioned scripts, 001_init.sql and on. Migrate
// runs them; to run them with a migration tool of your own, give it these
// (and the Schema of idempotency's and auth/sqlstore's SQL stores).
func Migrations() fs.FS { return migrationFiles }

// Migrate applies the embedded migrations of dialect d that MigrationsTable
// does not record yet, in file-name order, recording each, then the
// schemas of the refresh-token and idempotency-key stores and of the
// outbox (its outbox, inbox and lease tables). Instances
// starting at the same moment on a fresh database take turns: the
// migrations hold a lock for the database (a PostgreSQL advisory lock,
// MySQL's GET_LOCK, SQLite's write lock), so each runs once. A failing
// statement is reported with its file and releases the lock.
//
// A database migrated before the example shared svckit's table has its
// versions in a table of its own, schema_migrations: the first migration
// moves them over (see carryOver), so nothing runs twice.
func Migrate(ctx context.Context, db *sql.DB, d dialect.Dialect) error {
	migs, err := ownMigrations(d)
	if err != nil {
		return err
	}
	if err := migrate.Run(ctx, db, d, MigrationsTable, migs); err != nil {
		return fmt.Errorf("app: migrate: %w", err)
	}
	if err := sqlstore.New(db, d).Migrate(ctx); err != nil {
		return fmt.Errorf("app: migrate refresh tokens: %w", err)
	}
	if err := newIdempotencyStore(db, d).Migrate(ctx); err != nil {
		return err
	}
	return outbox.New(db, d, outbox.Options{}).Migrate(ctx)
}

// ownMigrations are the service's migrations for d: carryOver, then the
// files.
func ownMigrations(d dialect.Dialect) ([]migrate.Migration, error) {
	files, err := migrate.FromFS(migrationFiles, path.Join("migrations", d.String()))
	if err != nil {
		return nil, fmt.Errorf("app: migrations for %s: %w", d, err)
	}
	return append([]migrate.Migration{carryOver(d)}, files...), nil
}

// legacyTable is where the example recorded its versions before it shared
// MigrationsTable.
const legacyTable = "schema_migrations"

// carryOver is the migration that moves the versions of legacyTable into
// MigrationsTable and drops legacyTable, under the migration lock, before
// 001_init is looked up. It touches legacyTable only when that table holds
// the example's first version, 001_init, so another tool's table of that
// name is left alone. On a new database it does nothing; a service of your
// own that never ran as the example may delete it.
func carryOver(d dialect.Dialect) migrate.Migration {
	return migrate.Migration{
		Version: "000_carry_over_schema_migrations",
		File:    "app/migrate.go (carryOver)",
		Func: func(ctx context.Context, q migrate.Querier) error {
			old, err := migrate.Applied(ctx, q, d, legacyTable)
			if err != nil || !slices.Contains(old, "001_init") {
				return err
			}
			have, err := migrate.Applied(ctx, q, d, MigrationsTable)
			if err != nil {
				return err
			}
			ins := "INSERT INTO " + MigrationsTable + " (version) VALUES (" + d.Placeholder(1) + ")"
			for _, v := range old {
				if slices.Contains(have, v) {
					continue
				}
				if _, err := q.ExecContext(ctx, ins, v); err != nil {
					return fmt.Errorf("record %s: %w", v, err)
				}
			}
			_, err = q.ExecContext(ctx, "DROP TABLE "+legacyTable)
			return err
		},
	}
}

// MigrationState is one migration and whether the database has applied it.
type MigrationState struct {
	Version string
	File    string // "" for a version recorded by svckit's stores or another release
	Applied bool
}

// MigrationStatus lists the service's migrations for d, in order, each
// applied or pending, then the other versions MigrationsTable records (the
// schemas of svckit's stores). It changes nothing.
func MigrationStatus(ctx context.Context, db *sql.DB, d dialect.Dialect) ([]MigrationState, error) {
	migs, err := ownMigrations(d)
	if err != nil {
		return nil, err
	}
	applied, err := migrate.Applied(ctx, db, d, MigrationsTable)
	if err != nil {
		return nil, fmt.Errorf("app: migration status: %w", err)
	}
	var out []MigrationState
	for _, m := range migs[1:] { // carryOver is bookkeeping, not the schema
		out = append(out, MigrationState{Version: m.Version, File: m.File, Applied: slices.Contains(applied, m.Version)})
	}
	for _, v := range applied {
		if v == migs[0].Version || slices.ContainsFunc(migs, func(m migrate.Migration) bool { return m.Version == v }) {
			continue
		}
		out = append(out, MigrationState{Version: v, Applied: true})
	}
	return out, nil
}
