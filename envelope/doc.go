// Package envelope writes JSON API responses in one shape,
// {data, error, meta}, and turns Go errors into stable error codes and HTTP
// statuses.
//
// Errors from packages that do not import envelope (repository, auth, txn)
// render with the right status through behaviour: any error in the chain that
// has a method
//
//	HTTPStatus() int
//
// is written with that status, and with the code returned by an optional
//
//	ErrorCode() string
//
// (else the standard code for the status). Everything else is a 500
// INTERNAL_ERROR with a generic message; the cause is logged, never sent.
package envelope
