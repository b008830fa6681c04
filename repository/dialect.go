package repository

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Dialect names the SQL database a repository talks to. It hides the few
// differences svckit cares about: placeholders, identifier quoting,
// RETURNING, FOR UPDATE and the error codes of unique violations.
//
// The zero value is invalid; use one of the constants or ParseDialect.
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

// ErrUnknownDialect is returned by ParseDialect for a name it does not know.
var ErrUnknownDialect = errors.New("repository: unknown dialect")

// ParseDialect returns the dialect for a database or driver name:
// "postgres", "postgresql" or "pgx"; "sqlite" or "sqlite3"; "mysql" or
// "mariadb". Case is ignored.
func ParseDialect(name string) (Dialect, error) {
	switch strings.ToLower(name) {
	case "postgres", "postgresql", "pgx":
		return Postgres, nil
	case "sqlite", "sqlite3":
		return SQLite, nil
	case "mysql", "mariadb":
		return MySQL, nil
	}
	return 0, fmt.Errorf("%w %q", ErrUnknownDialect, name)
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
		b = d.appendPlaceholder(b, n)
	}
	return string(b)
}

// appendPlaceholder appends Placeholder(n) to b without allocating.
func (d Dialect) appendPlaceholder(b []byte, n int) []byte {
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

// IsUniqueViolation reports whether err, or any error in its chain, is a
// unique-constraint violation reported by the driver of this dialect:
//
//   - PostgreSQL: SQLSTATE 23505, read through a SQLState() string method
//     (pgx's *pgconn.PgError and lib/pq both provide one);
//   - SQLite: extended codes 2067 (SQLITE_CONSTRAINT_UNIQUE) and 1555
//     (SQLITE_CONSTRAINT_PRIMARYKEY), read through a Code() int method
//     (modernc.org/sqlite's *sqlite.Error);
//   - MySQL/MariaDB: error 1062 (ER_DUP_ENTRY). go-sql-driver's MySQLError
//     exposes the number only as a field, and this package does not import
//     drivers, so the field "Number" is read by reflection; failing that, the
//     message prefix "Error 1062" is the last resort.
func (d Dialect) IsUniqueViolation(err error) bool {
	for _, e := range chain(err) {
		switch d {
		case Postgres:
			if s, ok := e.(interface{ SQLState() string }); ok && s.SQLState() == "23505" {
				return true
			}
		case SQLite:
			if c, ok := e.(interface{ Code() int }); ok && (c.Code() == 2067 || c.Code() == 1555) {
				return true
			}
		case MySQL:
			if n, ok := mysqlNumber(e); ok {
				if n == 1062 {
					return true
				}
				continue
			}
			if strings.HasPrefix(e.Error(), "Error 1062") {
				return true
			}
		}
	}
	return false
}

// chain flattens err's Unwrap tree, depth first, err itself first.
func chain(err error) []error {
	var out []error
	var walk func(error)
	walk = func(e error) {
		if e == nil || len(out) > 32 {
			return
		}
		out = append(out, e)
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	return out
}

// mysqlNumber reads the uint16 field Number of a pointer to a struct type
// named MySQLError (go-sql-driver/mysql), without importing the driver.
func mysqlNumber(err error) (uint16, bool) {
	v := reflect.ValueOf(err)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return 0, false
	}
	v = v.Elem()
	if v.Type().Name() != "MySQLError" {
		return 0, false
	}
	f := v.FieldByName("Number")
	if !f.IsValid() || f.Kind() != reflect.Uint16 {
		return 0, false
	}
	return uint16(f.Uint()), true
}
