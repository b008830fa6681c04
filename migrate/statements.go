// Package migrate applies versioned SQL schema scripts to a database
// through database/sql, each once, under a lock that every instance of a
// service takes, so that instances starting at the same moment on a fresh
// database take turns instead of failing on each other's CREATEs:
//
//	migs, err := migrate.FromFS(migrations, "migrations") // 001_users.sql, 002_….sql
//	err = migrate.Run(ctx, db, dialect.Postgres, "svckit_schema_migrations", migs)
//
// svckit's SQL stores (auth/sqlstore, idempotency/sqlstore, outbox) and the
// example service run their schemas with it, recording versions in a table
// of the caller's choice (svckit's own use svckit_schema_migrations, which
// an application's migrations can share). The lock is one per database (on PostgreSQL per database and
// current schema) and shared by all of them: a PostgreSQL session advisory
// lock, MySQL/MariaDB GET_LOCK, SQLite's write lock (BEGIN IMMEDIATE).
//
// It is small on purpose. pressly/goose v3 locks only on PostgreSQL, and
// golang-migrate v4 links a database driver into the library for each
// engine, while svckit's SQL code speaks database/sql and imports no
// driver. The scripts stay plain files (the stores and the example export
// them as an fs.FS), so a team that runs its migrations with one of those
// tools gives them the files instead.
package migrate

import "strings"

// Statements splits a script into its statements: lines that are "--"
// comments are dropped, the rest is split on ";" and blank statements are
// dropped. Scripts must not put ";" inside literals.
func Statements(script string) []string {
	var lines []string
	for line := range strings.SplitSeq(script, "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "--") {
			lines = append(lines, line)
		}
	}
	var out []string
	for stmt := range strings.SplitSeq(strings.Join(lines, "\n"), ";") {
		if stmt = strings.TrimSpace(stmt); stmt != "" {
			out = append(out, stmt)
		}
	}
	return out
}
