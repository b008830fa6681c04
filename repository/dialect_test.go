package repository

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDialect(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Dialect
	}{
		{"postgres", Postgres}, {"pgx", Postgres}, {"PostgreSQL", Postgres},
		{"sqlite", SQLite}, {"sqlite3", SQLite}, {"mysql", MySQL}, {"MariaDB", MySQL},
	} {
		got, err := ParseDialect(tc.in)
		require.NoError(t, err, "ParseDialect(%q)", tc.in)
		assert.Equal(t, tc.want, got, "ParseDialect(%q)", tc.in)
		assert.True(t, got.Valid(), "%v is valid", got)
	}
	for _, bad := range []string{"", "oracle", "postgres "} {
		_, err := ParseDialect(bad)
		assert.ErrorIs(t, err, ErrUnknownDialect, "ParseDialect(%q) fails", bad)
	}
	assert.False(t, Dialect(0).Valid(), "the zero dialect is invalid")
	assert.Equal(t, "Dialect(0)", Dialect(0).String(), "invalid dialects print their number")
}

func TestDialectText(t *testing.T) {
	for _, tc := range []struct {
		d                 Dialect
		name, p1, p12, fu string
		quoted, dotted    string
		returning         bool
	}{
		{Postgres, "postgres", "$1", "$12", " FOR UPDATE", `"we""ird"`, `"s"."t"`, true},
		{SQLite, "sqlite", "?", "?", "", `"we""ird"`, `"s"."t"`, true},
		{MySQL, "mysql", "?", "?", " FOR UPDATE", "`we\"ird`", "`s`.`t`", false},
	} {
		assert.Equal(t, tc.name, tc.d.String(), "String")
		assert.Equal(t, tc.p1, tc.d.Placeholder(1), "%v placeholder 1", tc.d)
		assert.Equal(t, tc.p12, tc.d.Placeholder(12), "%v placeholder 12", tc.d)
		assert.Equal(t, tc.p12, string(tc.d.appendPlaceholder(nil, 12)), "%v appendPlaceholder", tc.d)
		assert.Equal(t, tc.fu, tc.d.ForUpdate(), "%v ForUpdate", tc.d)
		assert.Equal(t, tc.quoted, tc.d.Quote(`we"ird`), "%v Quote", tc.d)
		assert.Equal(t, tc.dotted, tc.d.Quote("s.t"), "%v Quote dotted", tc.d)
		assert.Equal(t, tc.returning, tc.d.Returning(), "%v Returning", tc.d)
	}
	assert.Equal(t, "`a``b`", MySQL.Quote("a`b"), "MySQL doubles backticks")
}

type pgErr struct{ code string }

func (e *pgErr) Error() string    { return "pg error " + e.code }
func (e *pgErr) SQLState() string { return e.code }

type liteErr struct{ code int }

func (e *liteErr) Error() string { return fmt.Sprintf("sqlite error %d", e.code) }
func (e *liteErr) Code() int     { return e.code }

// MySQLError has the shape of go-sql-driver's error type.
type MySQLError struct {
	Number   uint16
	SQLState [5]byte
	Message  string
}

func (e *MySQLError) Error() string { return fmt.Sprintf("Error %d: %s", e.Number, e.Message) }

func TestIsUniqueViolation(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("context: %w", err) }
	for _, tc := range []struct {
		name string
		d    Dialect
		err  error
		want bool
	}{
		{"pg 23505", Postgres, &pgErr{"23505"}, true},
		{"pg wrapped", Postgres, wrap(&pgErr{"23505"}), true},
		{"pg joined", Postgres, errors.Join(errors.New("x"), &pgErr{"23505"}), true},
		{"pg fk", Postgres, &pgErr{"23503"}, false},
		{"sqlite unique", SQLite, &liteErr{2067}, true},
		{"sqlite pk", SQLite, wrap(&liteErr{1555}), true},
		{"sqlite not null", SQLite, &liteErr{1299}, false},
		{"mysql 1062", MySQL, wrap(&MySQLError{Number: 1062, Message: "Duplicate entry"}), true},
		{"mysql 1213", MySQL, &MySQLError{Number: 1213, Message: "Deadlock"}, false},
		{"mysql text fallback", MySQL, errors.New("Error 1062 (23000): Duplicate entry 'a' for key 'email'"), true},
		{"mysql other text", MySQL, errors.New("Error 1452: fk"), false},
		{"wrong dialect", MySQL, &pgErr{"23505"}, false},
		{"nil", Postgres, nil, false},
	} {
		assert.Equal(t, tc.want, tc.d.IsUniqueViolation(tc.err), tc.name)
	}
}

func TestErrorsRenderByBehaviour(t *testing.T) {
	type renderer interface {
		HTTPStatus() int
		ErrorCode() string
		PublicMessage() string
	}
	for _, tc := range []struct {
		err    error
		target error
		status int
		code   string
	}{
		{fmt.Errorf("repository: users 7: %w", ErrNotFound), ErrNotFound, http.StatusNotFound, "NOT_FOUND"},
		{&ConflictError{Table: "users", Field: "email", Err: &pgErr{"23505"}}, ErrConflict, http.StatusConflict, "CONFLICT"},
		{newFieldError("orderBy", "x", "unknown field", nil), ErrInvalidField, http.StatusBadRequest, "BAD_REQUEST"},
		{fmt.Errorf("%w: bad", ErrInvalidCursor), ErrInvalidCursor, http.StatusBadRequest, "BAD_REQUEST"},
	} {
		assert.ErrorIs(t, tc.err, tc.target, "%v matches its sentinel", tc.err)
		var r renderer
		require.ErrorAs(t, tc.err, &r, "%v renders by behaviour", tc.err)
		assert.Equal(t, tc.status, r.HTTPStatus(), "%v status", tc.err)
		assert.Equal(t, tc.code, r.ErrorCode(), "%v code", tc.err)
		assert.NotContains(t, r.PublicMessage(), "repository:", "public messages carry no internals")
	}
	ce := &ConflictError{Table: "users", Field: "email", Err: &pgErr{"23505"}}
	var pe *pgErr
	require.ErrorAs(t, ce, &pe, "the driver error stays in the chain")
	_, details := any(ce).(interface{ ErrorDetails() map[string]any })
	assert.False(t, details, "a conflict shows clients no details: the column stays in Field for the application")
	assert.Contains(t, ce.Error(), "pg error 23505", "Error keeps the driver text for logs")
	assert.NotErrorIs(t, ce, ErrNotFound, "a conflict is not a not-found")

	long := newFieldError("filter", string(make([]byte, 500)), "unknown field", nil)
	assert.Len(t, long.Field, 64, "hostile field names are truncated")
	assert.Equal(t, "filter", long.ErrorDetails()["param"], "details name the parameter")
}

func TestConflictField(t *testing.T) {
	type u struct {
		ID    int64  `db:"id,pk"`
		Email string `db:"email,unique"`
		Name  string `db:"name,unique"`
	}
	r := NewSQL[u, int64](nil, Postgres, "users", Options[int64]{})
	for msg, want := range map[string]string{
		`duplicate key value violates unique constraint "users_email_key"`:    "email",
		"UNIQUE constraint failed: users.name":                                "name",
		"Error 1062 (23000): Duplicate entry 'name@x' for key 'users.email'":  "email",
		"UNIQUE constraint failed: users.email, users.name":                   "",
		`duplicate key value violates unique constraint "users_pkey"`:         "",
		`duplicate key value violates unique constraint "users_nickname_key"`: "",
	} {
		assert.Equal(t, want, r.conflictField(errors.New(msg)), "conflict field of %q", msg)
	}
}

func TestDialectRebind(t *testing.T) {
	tests := []struct {
		d    Dialect
		q    string
		want string
	}{
		{Postgres, "SELECT 1", "SELECT 1"},
		{Postgres, "UPDATE t SET a = ? WHERE id = ?", "UPDATE t SET a = $1 WHERE id = $2"},
		{Postgres, "VALUES (?,?,?,?,?,?,?,?,?,?,?)", "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"},
		{Postgres, "ünïcode = ?", "ünïcode = $1"},
		{SQLite, "UPDATE t SET a = ? WHERE id = ?", "UPDATE t SET a = ? WHERE id = ?"},
		{MySQL, "a = ?", "a = ?"},
	}
	for _, tt := range tests {
		t.Run(tt.d.String()+"/"+tt.q, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.d.Rebind(tt.q), "rebound")
		})
	}
}

func ExampleDialect_Rebind() {
	q := "UPDATE accounts SET balance = balance - ? WHERE id = ?"
	fmt.Println(Postgres.Rebind(q))
	fmt.Println(MySQL.Rebind(q))
	// Output:
	// UPDATE accounts SET balance = balance - $1 WHERE id = $2
	// UPDATE accounts SET balance = balance - ? WHERE id = ?
}
