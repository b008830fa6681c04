package sqlschema_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/sqlschema"
	"github.com/svckit/svckit/internal/testdb"
)

func TestStatements(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   []string
	}{
		{"empty", "", nil},
		{"comments only", "-- a\n  -- b\n", nil},
		{"one without semicolon", "CREATE TABLE t (id INT)", []string{"CREATE TABLE t (id INT)"}},
		{"several with comments and blanks", "-- tables\nCREATE TABLE a (x INT);\n\n  -- index; with a semicolon\nCREATE INDEX i ON a (x);\n;\n",
			[]string{"CREATE TABLE a (x INT)", "CREATE INDEX i ON a (x)"}},
		{"multi-line statement", "CREATE TABLE a (\n  x INT\n);", []string{"CREATE TABLE a (\n  x INT\n)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, sqlschema.Statements(tt.script), "statements")
		})
	}
}

// TestApplyConcurrently runs the same idempotent script from many goroutines
// at once on every engine, as instances starting together do: all succeed.
func TestApplyConcurrently(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		d, err := dialect.Parse(db.Dialect)
		require.NoError(t, err, "dialect")
		stmts := sqlschema.Statements(`
			CREATE TABLE IF NOT EXISTS sqlschema_t (id INT PRIMARY KEY, v INT);
			CREATE INDEX IF NOT EXISTS sqlschema_t_v ON sqlschema_t (v);`)
		if d == dialect.MySQL {
			// MySQL has no CREATE INDEX IF NOT EXISTS; MariaDB has.
			stmts = stmts[:1]
		}
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { errs[i] = sqlschema.Apply(context.Background(), db.DB, d, stmts) })
		}
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err, "instance "+strconv.Itoa(i))
		}
		_, err = db.DB.Exec("INSERT INTO sqlschema_t (id, v) VALUES (1, 2)")
		assert.NoError(t, err, "the table exists")
	})
}
