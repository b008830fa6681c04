package repository

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/errkind"
)

type pgErr struct{ code string }

func (e *pgErr) Error() string    { return "pg error " + e.code }
func (e *pgErr) SQLState() string { return e.code }

func TestErrorsReportKinds(t *testing.T) {
	for _, tc := range []struct {
		err    error
		target error
		kind   errkind.Kind
	}{
		{fmt.Errorf("repository: users 7: %w", ErrNotFound), ErrNotFound, errkind.NotFound},
		{&ConflictError{Table: "users", Field: "email", Err: &pgErr{"23505"}}, ErrConflict, errkind.Conflict},
		{newFieldError("orderBy", "x", "unknown field", nil), ErrInvalidField, errkind.BadRequest},
		{fmt.Errorf("%w: bad", ErrInvalidCursor), ErrInvalidCursor, errkind.BadRequest},
	} {
		assert.ErrorIs(t, tc.err, tc.target, "%v matches its sentinel", tc.err)
		r, ok := errkind.Inspect(tc.err)
		require.True(t, ok, "%v reports through the contract", tc.err)
		assert.Equal(t, tc.kind, r.Kind, "%v kind", tc.err)
		assert.NotContains(t, r.Message, "repository:", "public messages carry no internals")
	}
	gone := dbError("find", "users", &pgErr{"57P01"})
	r, ok := errkind.Inspect(gone)
	require.True(t, ok, "a lost connection reports a kind")
	assert.Equal(t, errkind.Unavailable, r.Kind, "57P01 is Unavailable")
	assert.Equal(t, dialect.RetryAfter, r.RetryAfter, "with a Retry-After")
	assert.Equal(t, errkind.Internal, errkind.Of(dbError("find", "users", errors.New("syntax"))), "an unclassified error stays internal")
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
	r := NewSQL[u, int64](nil, dialect.Postgres, "users", Options[int64]{})
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
