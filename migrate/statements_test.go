package migrate_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/svckit/svckit/migrate"
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
			assert.Equal(t, tt.want, migrate.Statements(tt.script), "statements")
		})
	}
}
