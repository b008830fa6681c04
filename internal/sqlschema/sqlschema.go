// Package sqlschema runs the schema scripts svckit's SQL stores embed.
package sqlschema

import (
	"context"
	"database/sql"
	"strings"

	"github.com/svckit/svckit/dialect"
)

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

// Apply executes stmts in order on db, which speaks d. Statements are
// expected to be idempotent (IF NOT EXISTS). PostgreSQL checks IF NOT EXISTS
// before it locks anything, so when another instance creates the same object
// at the same moment it fails with a unique violation on its catalog or
// "already exists" (42P07, 42710); such a statement is run again, up to
// three times in all, and then sees the object.
func Apply(ctx context.Context, db *sql.DB, d dialect.Dialect, stmts []string) error {
	for _, stmt := range stmts {
		var err error
		for range 3 {
			_, err = db.ExecContext(ctx, stmt)
			if err == nil || !lostCreateRace(d, err) {
				break
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// lostCreateRace reports whether err is how PostgreSQL fails an IF NOT EXISTS
// statement that raced with the same statement elsewhere.
func lostCreateRace(d dialect.Dialect, err error) bool {
	if d != dialect.Postgres {
		return false
	}
	c := dialect.Classify(err)
	return c == dialect.UniqueViolation || c == dialect.DuplicateObject
}
