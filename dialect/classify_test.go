package dialect_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/errkind"
)

// MySQLError has the shape of go-sql-driver's type but lives in another
// package: Classify must not read it.
type MySQLError struct {
	Number   uint16
	SQLState [5]byte
	Message  string
}

func (e *MySQLError) Error() string { return "lookalike" }

func TestClassifyDriverValues(t *testing.T) {
	pg := func(code string) error { return &pgconn.PgError{Code: code, Message: "m"} }
	my := func(n uint16) error { return &mysql.MySQLError{Number: n, Message: "m"} }
	wrap := func(err error) error { return fmt.Errorf("store: %w", err) }
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name string
		err  error
		want dialect.Class
	}{
		{"nil", nil, dialect.Other},
		{"plain", errors.New("boom"), dialect.Other},
		{"pg unique", wrap(pg("23505")), dialect.UniqueViolation},
		{"pg fk", pg("23503"), dialect.ForeignKeyViolation},
		{"pg serialization", pg("40001"), dialect.SerializationFailure},
		{"pg deadlock", pg("40P01"), dialect.Deadlock},
		{"pg lock_not_available", pg("55P03"), dialect.LockTimeout},
		{"pg admin_shutdown", pg("57P01"), dialect.ConnectionLost},
		{"pg crash_shutdown", pg("57P02"), dialect.ConnectionLost},
		{"pg cannot_connect_now", pg("57P03"), dialect.ConnectionLost},
		{"pg connection_failure", pg("08006"), dialect.ConnectionLost},
		{"pg too many", pg("53300"), dialect.TooManyConnections},
		{"pg 22021", pg("22021"), dialect.InvalidText},
		{"pg 22P05", pg("22P05"), dialect.InvalidText},
		{"pg query_canceled", pg("57014"), dialect.Timeout},
		{"pg syntax", pg("42601"), dialect.Other},
		{"pg duplicate_table", pg("42P07"), dialect.DuplicateObject},
		{"pg duplicate_object", pg("42710"), dialect.DuplicateObject},
		{"mysql table exists", my(1050), dialect.DuplicateObject},
		{"mysql dup", wrap(my(1062)), dialect.UniqueViolation},
		{"mysql fk", my(1452), dialect.ForeignKeyViolation},
		{"mysql deadlock", my(1213), dialect.Deadlock},
		{"mysql lock wait", my(1205), dialect.LockTimeout},
		{"mariadb record changed", my(1020), dialect.RecordChanged},
		{"mysql server gone", my(2006), dialect.ConnectionLost},
		{"mysql lost", my(2013), dialect.ConnectionLost},
		{"mysql shutdown", my(1053), dialect.ConnectionLost},
		{"mysql too many", my(1040), dialect.TooManyConnections},
		{"mysql interrupted", my(1317), dialect.Timeout},
		{"mysql other", my(1064), dialect.Other},
		{"mysql invalid conn", wrap(mysql.ErrInvalidConn), dialect.ConnectionLost},
		{"bad conn", wrap(driver.ErrBadConn), dialect.ConnectionLost},
		{"unexpected EOF is a truncated body, not a lost connection", wrap(io.ErrUnexpectedEOF), dialect.Other},
		{"refused", wrap(refused), dialect.ConnectionLost},
		{"deadline beats driver", errors.Join(pg("57014"), context.DeadlineExceeded), dialect.Timeout},
		{"canceled", wrap(context.Canceled), dialect.Canceled},
		{"joined", errors.Join(errors.New("x"), my(1213)), dialect.Deadlock},
		{"lookalike type is not read", &MySQLError{Number: 1062}, dialect.Other},
		{"same text, not the sentinel", fmt.Errorf("%w", errors.New("app: invalid connection")), dialect.Other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, dialect.Classify(tt.err), "class of %v", tt.err)
		})
	}
}

func TestClassKinds(t *testing.T) {
	tests := []struct {
		class     dialect.Class
		kind      errkind.Kind
		transient bool
	}{
		{dialect.Other, errkind.Unknown, false},
		{dialect.UniqueViolation, errkind.Conflict, false},
		{dialect.ForeignKeyViolation, errkind.Conflict, false},
		{dialect.SerializationFailure, errkind.Unavailable, true},
		{dialect.Deadlock, errkind.Unavailable, true},
		{dialect.LockTimeout, errkind.Unavailable, true},
		{dialect.RecordChanged, errkind.Unavailable, true},
		{dialect.ConnectionLost, errkind.Unavailable, false},
		{dialect.TooManyConnections, errkind.Unavailable, false},
		{dialect.InvalidText, errkind.BadRequest, false},
		{dialect.Timeout, errkind.Timeout, false},
		{dialect.Canceled, errkind.ClientClosedRequest, false},
		{dialect.DuplicateObject, errkind.Conflict, false},
	}
	for _, tt := range tests {
		t.Run(tt.class.String(), func(t *testing.T) {
			assert.Equal(t, tt.kind, tt.class.Kind(), "kind")
			assert.Equal(t, tt.transient, tt.class.Transient(), "transient")
		})
	}
}

func TestWrap(t *testing.T) {
	assert.NoError(t, dialect.Wrap(nil))
	gone := fmt.Errorf("query: %w", driver.ErrBadConn)
	w := dialect.Wrap(gone)
	var de *dialect.Error
	assert.ErrorAs(t, w, &de)
	assert.Equal(t, dialect.ConnectionLost, de.Class)
	assert.ErrorIs(t, w, driver.ErrBadConn, "the driver's error stays in the chain")
	r, ok := errkind.Inspect(w)
	assert.True(t, ok, "a wrapped error reports a kind")
	assert.Equal(t, errkind.Report{Kind: errkind.Unavailable, Status: 503, Code: errkind.CodeUnavailable,
		Message: "service unavailable", RetryAfter: dialect.RetryAfter, Source: w}, r)
	assert.Equal(t, "query: driver: bad connection", w.Error(), "Wrap adds a kind, not words")

	reported := errkind.New(errkind.NotFound, "").Wrap(driver.ErrBadConn)
	assert.Same(t, reported, dialect.Wrap(reported), "an error that reports a kind is left alone")
	assert.Same(t, w, dialect.Wrap(w), "Wrap is idempotent")

	conflict := &dialect.Error{Class: dialect.UniqueViolation, Err: errors.New("dup")}
	assert.Zero(t, conflict.RetryAfter(), "only Unavailable says when to retry")
}
