package repository

import (
	"errors"
	"fmt"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/errkind"
)

// The errors callers branch on, matched with errors.Is. Each reports its
// errkind kind and a client-safe message (ErrorKind, PublicMessage,
// ErrorDetails), so envelope renders them without this package speaking
// HTTP: ErrNotFound as NotFound, ErrConflict as Conflict, ErrInvalidField
// and ErrInvalidCursor as BadRequest. Other database errors pass through
// dialect.Wrap: a lost connection reports Unavailable, a statement past its
// deadline Timeout; the driver's text stays in the chain for logs.
var (
	// ErrNotFound is returned when no row has the requested id.
	ErrNotFound error = &kindError{errkind.NotFound, "resource not found", "repository: not found"}
	// ErrConflict is matched by a *ConflictError: a unique violation.
	ErrConflict error = &kindError{errkind.Conflict, "resource already exists", "repository: conflict"}
	// ErrInvalidField is matched by a *FieldError: a field name that does
	// not map to a column, or a value that does not fit it.
	ErrInvalidField error = &kindError{errkind.BadRequest, "invalid field", "repository: invalid field"}
	// ErrInvalidCursor is returned for a pagination cursor that is
	// malformed, tampered with, or made for another ordering.
	ErrInvalidCursor error = &kindError{errkind.BadRequest, "invalid cursor", "repository: invalid cursor"}
	// ErrNotInTx is returned by the locking reads when ctx carries no
	// transaction: a lock outside a transaction ends with the statement.
	ErrNotInTx = errors.New("repository: row lock outside a transaction")
)

// The contract each error type keeps.
var (
	_ errkind.Kinder         = (*kindError)(nil)
	_ errkind.PublicMessager = (*kindError)(nil)
	_ errkind.Kinder         = (*ConflictError)(nil)
	_ errkind.PublicMessager = (*ConflictError)(nil)
	_ errkind.Kinder         = (*FieldError)(nil)
	_ errkind.PublicMessager = (*FieldError)(nil)
	_ errkind.Detailer       = (*FieldError)(nil)
)

// kindError is the type of the sentinel errors above.
type kindError struct {
	kind    errkind.Kind
	public  string
	message string
}

func (e *kindError) Error() string { return e.message }

// ErrorKind returns the kind the error reports.
func (e *kindError) ErrorKind() errkind.Kind { return e.kind }

// PublicMessage returns a message safe to show clients.
func (e *kindError) PublicMessage() string { return e.public }

// dbError wraps an error of the database in op on table, classified by
// dialect.Wrap so that it reports its kind.
func dbError(op, table string, err error) error {
	return fmt.Errorf("repository: %s %s: %w", op, table, dialect.Wrap(err))
}

// ConflictError reports a unique violation. It matches ErrConflict with
// errors.Is and keeps the driver's error (nil from the in-memory repository)
// in the chain for errors.As.
//
// A client sees only 409 CONFLICT and a generic message: never the table,
// the column or the constraint, which describe the schema. The application
// reads them with errors.As, to log them or to return an error of its own
// that names the field in its API's words (say, "email already
// registered") when it decides the client may know.
type ConflictError struct {
	Table string // table (or in-memory collection) name
	Field string // the unique column, when known; "" otherwise
	Err   error  // the driver error, nil in memory
}

// Error describes the conflict, including the driver message. It is not
// meant for clients; see PublicMessage.
func (e *ConflictError) Error() string {
	msg := "repository: conflict on " + e.Table
	if e.Field != "" {
		msg += "." + e.Field
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the driver error.
func (e *ConflictError) Unwrap() error { return e.Err }

// Is reports whether target is ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ErrorKind returns errkind.Conflict.
func (e *ConflictError) ErrorKind() errkind.Kind { return errkind.Conflict }

// PublicMessage returns a message safe to show clients.
func (e *ConflictError) PublicMessage() string { return "resource already exists" }

// FieldError reports a field name that is not a mapped column (in an order,
// a filter or an update) or a value that cannot be used for it. It matches
// ErrInvalidField with errors.Is and reports errkind.BadRequest.
type FieldError struct {
	Param  string // where the field came from: "orderBy", "filter", "set", "cursor"
	Field  string // the name as given (truncated to 64 bytes)
	Reason string // "unknown field", "not writable", "bad value", ...
	Err    error  // an underlying conversion error, if any
}

// newFieldError truncates field so hostile input cannot bloat the message.
func newFieldError(param, field, reason string, err error) *FieldError {
	if len(field) > 64 {
		field = field[:64]
	}
	return &FieldError{Param: param, Field: field, Reason: reason, Err: err}
}

// Error describes the problem.
func (e *FieldError) Error() string {
	msg := fmt.Sprintf("repository: %s: %s %q", e.Param, e.Reason, e.Field)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error, if any.
func (e *FieldError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInvalidField.
func (e *FieldError) Is(target error) bool { return target == ErrInvalidField }

// ErrorKind returns errkind.BadRequest.
func (e *FieldError) ErrorKind() errkind.Kind { return errkind.BadRequest }

// PublicMessage returns a message safe to show clients. For an update
// ("set", a PATCH body) it names the field and the reason, `field "title":
// null not allowed`, since "set" is the repository's word, not the
// client's.
func (e *FieldError) PublicMessage() string {
	if e.Param == "set" {
		return fmt.Sprintf("field %q: %s", e.Field, e.Reason)
	}
	return "invalid " + e.Param + " field"
}

// ErrorDetails returns the parameter, field and reason; for an update only
// the field and the reason, as the field is a member of the request body.
func (e *FieldError) ErrorDetails() map[string]any {
	if e.Param == "set" {
		return map[string]any{"field": e.Field, "reason": e.Reason}
	}
	return map[string]any{"param": e.Param, "field": e.Field, "reason": e.Reason}
}
