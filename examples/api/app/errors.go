package app

import (
	"maps"
	"net/http"
)

// Error is the error type of the service's own failures. It carries the
// status, code and client-safe message the envelope renders, found through
// the HTTPStatus, ErrorCode, PublicMessage and ErrorDetails methods. Treat
// an Error as immutable once returned; the sentinels below are shared.
type Error struct {
	Status  int
	Code    string
	Message string
	Details map[string]any
}

// Error returns the message with the package prefix, for logs.
func (e *Error) Error() string { return "app: " + e.Message }

// HTTPStatus returns the status the error renders with.
func (e *Error) HTTPStatus() int { return e.Status }

// ErrorCode returns the UPPER_SNAKE code.
func (e *Error) ErrorCode() string { return e.Code }

// PublicMessage returns the client-safe message.
func (e *Error) PublicMessage() string { return e.Message }

// ErrorDetails returns the details, if any.
func (e *Error) ErrorDetails() map[string]any { return e.Details }

// Errors the services return; handlers pass them to the envelope as is.
var (
	// ErrForbidden: the caller is authenticated but may not do this.
	ErrForbidden = &Error{Status: http.StatusForbidden, Code: "FORBIDDEN", Message: "you may not access this resource"}
	// ErrInvalidCredentials: unknown email or wrong password, one message
	// for both.
	ErrInvalidCredentials = &Error{Status: http.StatusUnauthorized, Code: "UNAUTHORIZED", Message: "invalid email or password"}
	// ErrEmailTaken: the email is registered already (case-insensitive).
	ErrEmailTaken = &Error{Status: http.StatusConflict, Code: "CONFLICT", Message: "email already registered"}
	// ErrInsufficientFunds: the source account cannot cover the transfer.
	ErrInsufficientFunds = &Error{Status: http.StatusUnprocessableEntity, Code: "INSUFFICIENT_FUNDS", Message: "insufficient funds"}
	// ErrIdempotencyMismatch: the Idempotency-Key was used with another body.
	ErrIdempotencyMismatch = &Error{Status: http.StatusConflict, Code: "CONFLICT", Message: "Idempotency-Key reused with a different request"}
)

// badRequest returns a 400 BAD_REQUEST with message.
func badRequest(message string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "BAD_REQUEST", Message: message}
}

// ValidationErrors collects per-field problems of a request body.
// The zero value is empty and ready to use.
type ValidationErrors map[string]string

// Add records a problem with field, keeping the first one.
func (v *ValidationErrors) Add(field, problem string) {
	if *v == nil {
		*v = ValidationErrors{}
	}
	if _, ok := (*v)[field]; !ok {
		(*v)[field] = problem
	}
}

// Err returns nil when nothing was added, else a 400 VALIDATION_ERROR with
// one detail per field.
func (v ValidationErrors) Err() error {
	if len(v) == 0 {
		return nil
	}
	details := make(map[string]any, len(v))
	for k, p := range maps.All(v) {
		details[k] = p
	}
	return &Error{Status: http.StatusBadRequest, Code: "VALIDATION_ERROR", Message: "request validation failed", Details: details}
}
