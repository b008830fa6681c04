// Package envelope writes JSON API responses in one shape,
// {data, error, meta}, and turns Go errors into stable error codes and HTTP
// statuses.
//
// A success is {"data": …, "meta": {…}} and a failure is
// {"error": {"code", "message", "details"?}, "meta": {…}}, never both.
// meta carries pagination or cursor, an RFC 3339 timestamp and the request
// id. Handle, HandleResult and HandleNoContent turn a function returning a
// value and an error into an http.Handler; Write and WriteError are the
// lower-level writers; Decode reads and validates a JSON request body.
//
// # Errors by behaviour
//
// Errors from packages that do not import envelope (repository, auth, txn)
// render with the right status through behaviour: any error in the chain that
// has a method
//
//	HTTPStatus() int
//
// is written with that status (it must be 400–599), and with the code
// returned by an optional
//
//	ErrorCode() string
//
// (else the standard code for the status). The same value may also have
//
//	PublicMessage() string          // client-safe message (else the standard one)
//	ErrorDetails() map[string]any   // error.details
//	ResponseHeader() http.Header    // headers such as Retry-After
//
// The text of Error() is never sent to the client. context.DeadlineExceeded
// is 504 TIMEOUT, context.Canceled 499 CLIENT_CLOSED_REQUEST, and
// *http.MaxBytesError 413. Everything else is a 500 INTERNAL_ERROR with a
// generic message; the cause is logged, never sent.
//
// # Logging
//
// For every 5xx response WriteError logs the full error chain, the request
// id, method and path (and the stack of a recovered panic) through the
// *slog.Logger carried by the request context (WithLogger), or
// slog.Default() when there is none. Nothing else is logged except a warning
// when a response is attempted after the header was sent.
//
// # Writing twice
//
// A second response after the header was sent would be appended to the
// first. Write and WriteError refuse it, log a warning and return
// ErrHeaderWritten when they can tell (see HeaderWritten): always inside
// Handle, HandleResult, HandleNoContent and Track, and with any writer that
// has a HeaderWritten() bool method. A panic after the header was sent is turned
// into http.ErrAbortHandler, which cuts the connection.
//
// # Problem details
//
// When the client's Accept header ranks application/problem+json at least
// as high as application/json, errors are written as RFC 9457 problem
// documents: type "about:blank", title, status and detail, with code,
// details, timestamp and requestId as extension members.
package envelope
