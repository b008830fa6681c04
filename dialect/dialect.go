package dialect

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Dialect names the SQL database a store talks to. It hides the few
// differences svckit cares about: placeholders, identifier quoting,
// RETURNING and FOR UPDATE. (Errors need no dialect: see Classify.)
//
// The zero value is invalid; use one of the constants or Parse.
type Dialect int

// The supported dialects.
const (
	// Postgres is PostgreSQL (any driver; pgx in svckit's tests).
	Postgres Dialect = iota + 1
	// SQLite is SQLite 3.35 or later (modernc.org/sqlite in svckit's tests).
	SQLite
	// MySQL is MySQL 8 or MariaDB 10.5 or later (go-sql-driver/mysql).
	MySQL
)

// ErrUnknown is returned by Parse for a name it does not know.
var ErrUnknown = errors.New("dialect: unknown dialect")

// Parse returns the dialect for a database or driver name:
// "postgres", "postgresql" or "pgx"; "sqlite" or "sqlite3"; "mysql" or
// "mariadb". Case is ignored.
func Parse(name string) (Dialect, error) {
	switch strings.ToLower(name) {
	case "postgres", "postgresql", "pgx":
		return Postgres, nil
	case "sqlite", "sqlite3":
		return SQLite, nil
	case "mysql", "mariadb":
		return MySQL, nil
	}
	return 0, fmt.Errorf("%w %q", ErrUnknown, name)
}

// String returns "postgres", "sqlite", "mysql" or "Dialect(n)".
func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "postgres"
	case SQLite:
		return "sqlite"
	case MySQL:
		return "mysql"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// Valid reports whether d is one of the supported dialects.
func (d Dialect) Valid() bool { return d >= Postgres && d <= MySQL }

// Placeholder returns the bind parameter for the n-th argument (counting
// from 1): "$n" on PostgreSQL, "?" elsewhere.
func (d Dialect) Placeholder(n int) string {
	if d == Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// Rebind rewrites the "?" placeholders of q into d's form ("$1", "$2", … on
// PostgreSQL), for queries written once for every dialect. It does not parse
// SQL: q must not hold "?" in literals, identifiers or comments.
func (d Dialect) Rebind(q string) string {
	if d != Postgres {
		return q
	}
	b := make([]byte, 0, len(q)+8)
	n := 0
	for i := range len(q) {
		if q[i] != '?' {
			b = append(b, q[i])
			continue
		}
		n++
		b = d.AppendPlaceholder(b, n)
	}
	return string(b)
}

// AppendPlaceholder appends Placeholder(n) to b, for query builders that
// write into one buffer.
func (d Dialect) AppendPlaceholder(b []byte, n int) []byte {
	if d == Postgres {
		return strconv.AppendInt(append(b, '$'), int64(n), 10)
	}
	return append(b, '?')
}

// Quote returns ident as a quoted identifier: "ident" on PostgreSQL and
// SQLite, `ident` on MySQL, with embedded quote characters doubled. A dotted
// name ("schema.table") is quoted part by part.
func (d Dialect) Quote(ident string) string {
	q := `"`
	if d == MySQL {
		q = "`"
	}
	parts := strings.Split(ident, ".")
	for i, p := range parts {
		parts[i] = q + strings.ReplaceAll(p, q, q+q) + q
	}
	return strings.Join(parts, ".")
}

// Returning reports whether INSERT ... RETURNING is available (PostgreSQL
// and SQLite 3.35+). MySQL reports false: generated ids come from
// LastInsertId there.
func (d Dialect) Returning() bool { return d == Postgres || d == SQLite }

// ForUpdate returns the clause appended to a SELECT to lock the rows it
// reads: " FOR UPDATE" on PostgreSQL and MySQL, "" on SQLite, whose write
// transactions (BEGIN IMMEDIATE) already hold the database lock.
func (d Dialect) ForUpdate() string {
	if d == SQLite {
		return ""
	}
	return " FOR UPDATE"
}
