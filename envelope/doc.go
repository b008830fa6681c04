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
// Errors from packages that do not import envelope (repository, txn,
// dialect, auth, idempotency) render with the right status through svckit's
// error contract, package errkind: the first error in the chain that reports
// a kind (ErrorKind() errkind.Kind) or a status (HTTPStatus() int, for an
// application's own code such as 422 INSUFFICIENT_FUNDS) is written with
// that kind's status, code and standard message, which the same value may
// override with
//
//	ErrorCode() string               // its own code (else the kind's, else one derived from the status)
//	PublicMessage() string           // client-safe message (else the standard one)
//	ErrorDetails() map[string]any    // error.details
//	RetryAfter() time.Duration       // sent as Retry-After, in whole seconds
//	ResponseHeader() http.Header     // other headers, such as Allow (ResponseHeaderer)
//	Violations() []errkind.Violation // error.violations, every rule a request broke (errkind.Violator)
//
// The status of each kind comes from one table, errkind.Kind.HTTPStatus. The
// text of Error() is never sent to the client. context.DeadlineExceeded
// is 504 TIMEOUT, context.Canceled 499 CLIENT_CLOSED_REQUEST, and
// *http.MaxBytesError 413. Everything else is a 500 INTERNAL_ERROR with a
// generic message; the cause is logged, never sent. A database error that
// passed through dialect.Wrap (repository, txn and the SQL stores do it)
// reports its kind: a lost connection is 503 UNAVAILABLE with Retry-After.
//
// # Logging
//
// envelope never logs. The error behind a response, whose text never
// reaches the client, goes to the ErrorRecorder among the response writers:
// middleware.Logger's writer is one, and logs it once, in the request's
// line. Without one the cause is dropped.
//
// # Writing twice
//
// A second response after the header was sent would be appended to the
// first. Write and WriteError refuse it and return ErrHeaderWritten when
// they can tell (see HeaderWritten): always inside Handle, HandleResult,
// HandleNoContent and Track, and with any writer that has a HeaderWritten()
// bool method, such as middleware's. A request has one such tracker: the
// adapters reuse one they find among the writers. Panics are not recovered
// here but by middleware.Recover, once per request.
//
// # Package-level caches
//
// svckit keeps no mutable package-level state, with one deliberate
// exception here, the same one encoding/json makes: Write and Decode reuse
// their buffers through sync.Pools, and Decode caches each request type's
// field list for its strict checks. These are caches with no behaviour of
// their own: what a call writes or accepts never depends on them, a pooled
// buffer over 64 KiB is not kept, and the field cache holds one entry per
// Go type the program decodes. They are package-level because Write and
// Decode are functions; what each saves is measured by
// BenchmarkEnvelopeWrite and BenchmarkDecode in the benchmarks module and
// written beside it.
//
// # Problem details
//
// When the client's Accept header ranks application/problem+json at least
// as high as application/json, errors are written as RFC 9457 problem
// documents: type, title, status, detail and instance, with code, details,
// violations, timestamp and requestId as extension members. The type is "about:blank"
// and instance absent unless the request passed Problems, which maps error
// codes to type URIs and computes an instance per request.
package envelope
