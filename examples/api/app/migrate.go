package app

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/svckit/svckit/dialect"
)

//go:embed migrations
var migrationFiles embed.FS

// Migrate applies the embedded migrations of dialect d that db has not seen
// yet, in file-name order, and records each one in schema_migrations, then
// creates the idempotency-key table of svckit's idempotency package. Every
// statement is idempotent (IF NOT EXISTS), so two instances starting at
// once do not trip over each other.
func Migrate(ctx context.Context, db *sql.DB, d dialect.Dialect) error {
	dir := path.Join("migrations", d.String())
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return fmt.Errorf("app: migrations for %s: %w", d, err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version VARCHAR(100) NOT NULL PRIMARY KEY)`); err != nil {
		return fmt.Errorf("app: create schema_migrations: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(name, ".sql")
		var n int
		q := "SELECT COUNT(*) FROM schema_migrations WHERE version = " + d.Placeholder(1)
		if err := db.QueryRowContext(ctx, q, version).Scan(&n); err != nil {
			return fmt.Errorf("app: read schema_migrations: %w", err)
		}
		if n > 0 {
			continue
		}
		body, err := migrationFiles.ReadFile(path.Join(dir, name))
		if err != nil {
			return fmt.Errorf("app: migration %s: %w", name, err)
		}
		for _, stmt := range statements(string(body)) {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("app: migration %s: %w", name, err)
			}
		}
		ins := "INSERT INTO schema_migrations (version) VALUES (" + d.Placeholder(1) + ")"
		if _, err := db.ExecContext(ctx, ins, version); err != nil && dialect.Classify(err) != dialect.UniqueViolation {
			return fmt.Errorf("app: record migration %s: %w", name, err)
		}
	}
	return newIdempotencyStore(db, d).Migrate(ctx)
}

// statements splits a migration file on semicolons that end a line and
// drops comment-only lines.
func statements(body string) []string {
	var out []string
	var cur strings.Builder
	for line := range strings.SplitSeq(body, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}
