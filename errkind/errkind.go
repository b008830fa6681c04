// Package errkind is svckit's error contract: the kinds of failure a client
// can be told about, their stable codes, and the small interfaces through
// which an error reports them. It imports nothing HTTP, so the data layer
// (repository, txn, dialect) can say "not found" or "unavailable, retry in
// a second" without speaking HTTP; envelope renders what an error reports.
//
// # Reporting
//
// An error reports its kind with an ErrorKind method (Kinder). The same
// value may also have
//
//	ErrorCode() string            // Coder: a code of its own, else Kind.Code
//	PublicMessage() string        // PublicMessager: client-safe text, else Kind.Message
//	ErrorDetails() map[string]any // Detailer: error.details
//	RetryAfter() time.Duration    // RetryAfterer: when to try again (Retry-After)
//	HTTPStatus() int              // HTTPStatuser: a status outside the table
//
// Inspect finds the reporter in an error's chain with errors.As and reads
// them all from that one value, so an outer error never lends its code to an
// inner error's kind. The text of Error() is for logs and is never shown to
// clients. A producer asserts the contract at compile time:
//
//	var _ errkind.Kinder = (*NotFoundError)(nil)
//
// Error is the one ready-made error type that carries a kind: producers
// without a type of their own use it (New), and envelope's constructors
// (envelope.NotFound, envelope.New, …) return it.
//
// # Who reports what
//
// repository: NotFound, Conflict, BadRequest (unknown fields, bad
// cursors). dialect: Unavailable (connection lost, too many connections),
// Timeout (statement cancelled at a deadline), BadRequest (text the
// database cannot store), Conflict (constraint violations). txn,
// idempotency and auth/sqlstore pass driver errors through dialect.Wrap;
// txn's ErrPoolTimeout (no pool connection within Options.ConnWait) is
// Unavailable.
// auth, middleware and ratelimit report Unauthorized, Forbidden and
// RateLimited through the same interfaces. An application adds its own
// codes with envelope.New(422, "INSUFFICIENT_FUNDS", …), an Error with a
// Status, or any type that has ErrorCode and HTTPStatus.
package errkind

import (
	"strconv"
	"time"
)

// Kind is a class of failure with a stable code, a standard client message
// and a conventional HTTP status. The zero value, Unknown, means the error
// does not say.
type Kind uint8

// The kinds, in the order of their HTTP statuses. Each is named after its
// code in CamelCase, without a trailing _ERROR.
const (
	Unknown              Kind = iota // the error reports no kind
	BadRequest                       // malformed or unacceptable input
	Validation                       // well-formed input that fails validation, per field
	Unauthorized                     // no or invalid credentials
	Forbidden                        // valid credentials without the right
	NotFound                         // the resource does not exist
	MethodNotAllowed                 // the resource does not support the method
	Conflict                         // conflicts with the current state (unique key, …)
	PayloadTooLarge                  // the request body is too large
	UnsupportedMediaType             // the request body's media type is not accepted
	RateLimited                      // too many requests; RetryAfter says when to retry
	ClientClosedRequest              // the client gave up before the answer was ready
	Internal                         // a fault of the server; details are logged, not sent
	Unavailable                      // a dependency is down or saturated; retry later
	Timeout                          // the request outlived its deadline
	numKinds
)

// The earlier names of kinds, kept for one release.
const (
	// Deprecated: use Unauthorized.
	Unauthenticated = Unauthorized
	// Deprecated: use Forbidden.
	PermissionDenied = Forbidden
	// Deprecated: use PayloadTooLarge.
	TooLarge = PayloadTooLarge
	// Deprecated: use UnsupportedMediaType.
	UnsupportedMedia = UnsupportedMediaType
	// Deprecated: use ClientClosedRequest.
	Canceled = ClientClosedRequest
)

// The stable codes of the kinds. Clients branch on them; they never change.
const (
	CodeBadRequest           = "BAD_REQUEST"
	CodeValidation           = "VALIDATION_ERROR"
	CodeUnauthorized         = "UNAUTHORIZED"
	CodeForbidden            = "FORBIDDEN"
	CodeNotFound             = "NOT_FOUND"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	CodeConflict             = "CONFLICT"
	CodePayloadTooLarge      = "PAYLOAD_TOO_LARGE"
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	CodeRateLimited          = "RATE_LIMITED"
	CodeClientClosedRequest  = "CLIENT_CLOSED_REQUEST"
	CodeInternal             = "INTERNAL_ERROR"
	CodeUnavailable          = "UNAVAILABLE"
	CodeTimeout              = "TIMEOUT"
)

// CodeClientClosed is the earlier name of CodeClientClosedRequest.
//
// Deprecated: use CodeClientClosedRequest.
const CodeClientClosed = CodeClientClosedRequest

// StatusClientClosedRequest is the non-standard status (nginx's) of
// ClientClosedRequest: the client went away, so nobody reads the answer, and it is not
// a server fault.
const StatusClientClosedRequest = 499

// info is what the table below holds per kind.
type info struct {
	code    string
	status  int
	message string
}

// info is the one table of the contract: code, HTTP status and standard
// client message per kind. (A switch, not a package-level variable, so
// nothing can change it.)
func (k Kind) info() info {
	switch k {
	case BadRequest:
		return info{CodeBadRequest, 400, "bad request"}
	case Validation:
		return info{CodeValidation, 400, "request validation failed"}
	case Unauthorized:
		return info{CodeUnauthorized, 401, "authentication required"}
	case Forbidden:
		return info{CodeForbidden, 403, "permission denied"}
	case NotFound:
		return info{CodeNotFound, 404, "resource not found"}
	case MethodNotAllowed:
		return info{CodeMethodNotAllowed, 405, "method not allowed"}
	case Conflict:
		return info{CodeConflict, 409, "conflict with the current state of the resource"}
	case PayloadTooLarge:
		return info{CodePayloadTooLarge, 413, "request body too large"}
	case UnsupportedMediaType:
		return info{CodeUnsupportedMediaType, 415, "unsupported media type"}
	case RateLimited:
		return info{CodeRateLimited, 429, "too many requests"}
	case ClientClosedRequest:
		return info{CodeClientClosedRequest, StatusClientClosedRequest, "client closed the request"}
	case Internal:
		return info{CodeInternal, 500, "an unexpected error occurred"}
	case Unavailable:
		return info{CodeUnavailable, 503, "service unavailable"}
	case Timeout:
		return info{CodeTimeout, 504, "request timed out"}
	}
	return info{}
}

// Code returns the stable code of k, such as CodeNotFound; "" for Unknown.
func (k Kind) Code() string {
	return k.info().code
}

// HTTPStatus returns the HTTP status k renders with, such as 404; 0 for
// Unknown. This table is the only place svckit maps kinds to statuses.
func (k Kind) HTTPStatus() int {
	return k.info().status
}

// Message returns the standard client message of k, such as "resource not
// found"; "" for Unknown.
func (k Kind) Message() string {
	return k.info().message
}

// String returns the code of k, or "Kind(n)" for Unknown and values out of
// range.
func (k Kind) String() string {
	if c := k.Code(); c != "" {
		return c
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// ClientFault reports whether k is the client's doing (a 4xx status): the
// same request will fail the same way, so it is an answer to keep, not a
// fault to retry.
func (k Kind) ClientFault() bool {
	s := k.HTTPStatus()
	return s >= 400 && s < 500
}

// ParseCode returns the kind whose code is code, or Unknown for an
// application's own code.
func ParseCode(code string) Kind {
	for k := BadRequest; k < numKinds; k++ {
		if k.info().code == code {
			return k
		}
	}
	return Unknown
}

// FromHTTPStatus returns the first kind that renders with status (400 is
// BadRequest, not Validation), or Unknown.
func FromHTTPStatus(status int) Kind {
	for k := BadRequest; k < numKinds; k++ {
		if k.info().status == status {
			return k
		}
	}
	return Unknown
}

// RetryAfterSeconds returns d in whole seconds, rounded up, at least 1: the
// value of a Retry-After header.
func RetryAfterSeconds(d time.Duration) int64 {
	secs := int64((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return secs
}
