package dialect_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/dialect"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want dialect.Dialect
	}{
		{"postgres", dialect.Postgres}, {"pgx", dialect.Postgres}, {"PostgreSQL", dialect.Postgres},
		{"sqlite", dialect.SQLite}, {"sqlite3", dialect.SQLite}, {"mysql", dialect.MySQL}, {"MariaDB", dialect.MySQL},
	} {
		got, err := dialect.Parse(tc.in)
		require.NoError(t, err, "Parse(%q)", tc.in)
		assert.Equal(t, tc.want, got, "Parse(%q)", tc.in)
		assert.True(t, got.Valid(), "%v is valid", got)
	}
	for _, bad := range []string{"", "oracle", "postgres "} {
		_, err := dialect.Parse(bad)
		assert.ErrorIs(t, err, dialect.ErrUnknown, "Parse(%q) fails", bad)
	}
	assert.False(t, dialect.Dialect(0).Valid(), "the zero dialect is invalid")
	assert.Equal(t, "Dialect(0)", dialect.Dialect(0).String(), "invalid dialects print their number")
}

func TestText(t *testing.T) {
	for _, tc := range []struct {
		d                 dialect.Dialect
		name, p1, p12, fu string
		quoted, dotted    string
		returning         bool
	}{
		{dialect.Postgres, "postgres", "$1", "$12", " FOR UPDATE", `"we""ird"`, `"s"."t"`, true},
		{dialect.SQLite, "sqlite", "?", "?", "", `"we""ird"`, `"s"."t"`, true},
		{dialect.MySQL, "mysql", "?", "?", " FOR UPDATE", "`we\"ird`", "`s`.`t`", false},
	} {
		assert.Equal(t, tc.name, tc.d.String(), "String")
		assert.Equal(t, tc.p1, tc.d.Placeholder(1), "%v placeholder 1", tc.d)
		assert.Equal(t, tc.p12, tc.d.Placeholder(12), "%v placeholder 12", tc.d)
		assert.Equal(t, tc.p12, string(tc.d.AppendPlaceholder(nil, 12)), "%v AppendPlaceholder", tc.d)
		assert.Equal(t, tc.fu, tc.d.ForUpdate(), "%v ForUpdate", tc.d)
		assert.Equal(t, tc.quoted, tc.d.Quote(`we"ird`), "%v Quote", tc.d)
		assert.Equal(t, tc.dotted, tc.d.Quote("s.t"), "%v Quote dotted", tc.d)
		assert.Equal(t, tc.returning, tc.d.Returning(), "%v Returning", tc.d)
	}
	assert.Equal(t, "`a``b`", dialect.MySQL.Quote("a`b"), "MySQL doubles backticks")
}

func TestRebind(t *testing.T) {
	q := "SELECT a FROM t WHERE b = ? AND c IN (?, ?)"
	assert.Equal(t, "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)", dialect.Postgres.Rebind(q))
	assert.Equal(t, q, dialect.MySQL.Rebind(q))
	assert.Equal(t, q, dialect.SQLite.Rebind(q))
}
