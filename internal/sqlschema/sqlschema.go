// Package sqlschema runs the schema scripts svckit's SQL stores embed.
package sqlschema

import (
	"context"
	"database/sql"
	"strings"

	"github.com/svckit/svckit/repository"
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
// expected to be idempotent (IF NOT EXISTS): a unique violation, which
// PostgreSQL reports when another instance creates the same object at the
// same moment, is retried once, and the retry then sees the object.
func Apply(ctx context.Context, db *sql.DB, d repository.Dialect, stmts []string) error {
	for _, stmt := range stmts {
		_, err := db.ExecContext(ctx, stmt)
		if err != nil && d.IsUniqueViolation(err) {
			_, err = db.ExecContext(ctx, stmt)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
