package app

import (
	"errors"
	"net/http"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/errkind"
)

// Errors the services return; handlers pass them to the envelope as is.
// They report their kind through package errkind (a service never speaks
// HTTP); only the service's own code, INSUFFICIENT_FUNDS, needs a status
// outside errkind's table and so is built with envelope.New. Per-field problems
// are envelope.FieldErrors. Match them with errors.Is.
var (
	// ErrForbidden: the caller is authenticated but may not do this.
	ErrForbidden error = errkind.New(errkind.Forbidden, "you may not access this resource")
	// ErrInvalidCredentials: unknown email or wrong password, one message
	// for both.
	ErrInvalidCredentials error = errkind.New(errkind.Unauthorized, "invalid email or password")
	// ErrEmailTaken: the email is registered already (case-insensitive).
	// With Config.QuietRegister the client is never told (see Register).
	ErrEmailTaken error = errkind.New(errkind.Conflict, "email already registered")
	// ErrInsufficientFunds: the source account cannot cover the transfer.
	ErrInsufficientFunds error = envelope.New(http.StatusUnprocessableEntity, "INSUFFICIENT_FUNDS", "insufficient funds")
)

// ErrAdminPassword is returned by New when ADMIN_EMAIL names an existing
// account whose password is not ADMIN_PASSWORD: the account is not made an
// admin, and the service does not start (README, "Admin account").
var ErrAdminPassword = errors.New("app: ADMIN_EMAIL names an existing account whose password is not ADMIN_PASSWORD")

// accountNotFound is the error for an account id that does not exist. An
// id that cannot be one (validID) is not echoed.
func accountNotFound(id string) error {
	details := map[string]any{"resource": "account"}
	if validID(id) {
		details["id"] = id
	}
	return &errkind.Error{Kind: errkind.NotFound, Message: "account not found", Details: details}
}

// fieldError returns a 400 VALIDATION_ERROR for one field.
func fieldError(field, problem string) error {
	var v envelope.FieldErrors
	v.Add(field, problem)
	return v.Err()
}

// required adds "is required" to v for field when its value is empty.
func required(v *envelope.FieldErrors, field, value string) {
	if value == "" {
		v.Add(field, "is required")
	}
}
