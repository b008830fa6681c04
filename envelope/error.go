package envelope

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/svckit/svckit/errkind"
)

// Standard error codes and the status each renders with. They are the
// codes of package errkind, which declares them; the status of each comes
// from errkind.Kind.HTTPStatus.
const (
	CodeBadRequest           = errkind.CodeBadRequest           // 400
	CodeValidation           = errkind.CodeValidation           // 400
	CodeUnauthorized         = errkind.CodeUnauthorized         // 401
	CodeForbidden            = errkind.CodeForbidden            // 403
	CodeNotFound             = errkind.CodeNotFound             // 404
	CodeMethodNotAllowed     = errkind.CodeMethodNotAllowed     // 405
	CodeConflict             = errkind.CodeConflict             // 409
	CodePayloadTooLarge      = errkind.CodePayloadTooLarge      // 413
	CodeUnsupportedMediaType = errkind.CodeUnsupportedMediaType // 415
	CodeRateLimited          = errkind.CodeRateLimited          // 429
	CodeClientClosed         = errkind.CodeClientClosed         // 499
	CodeInternal             = errkind.CodeInternal             // 500
	CodeUnavailable          = errkind.CodeUnavailable          // 503
	CodeTimeout              = errkind.CodeTimeout              // 504
)

// StatusClientClosedRequest is the non-standard status (as used by nginx)
// that WriteError gives context.Canceled: the client went away before the
// response was ready, so nobody reads it, and it is not a server fault.
const StatusClientClosedRequest = errkind.StatusClientClosedRequest

// The contract *Error keeps.
var (
	_ errkind.Kinder         = (*Error)(nil)
	_ errkind.HTTPStatuser   = (*Error)(nil)
	_ errkind.Coder          = (*Error)(nil)
	_ errkind.PublicMessager = (*Error)(nil)
	_ errkind.Detailer       = (*Error)(nil)
	_ ResponseHeaderer       = (*Error)(nil)
)

// Error is an error with everything needed to render it: the HTTP status, a
// stable code, a client-safe message, optional details and response
// headers, and the wrapped cause (logged for 5xx, never sent).
//
// Build one with a constructor (NotFound, Validation, …) or with New for an
// application's own code. The zero value renders as 500 INTERNAL_ERROR; a
// zero Status with a standard Code takes that code's status. Treat an Error
// as immutable once returned: Wrap and WithDetail return copies.
type Error struct {
	// Status is the HTTP status; 0 means the standard status of Code, or 500.
	Status int
	// Code is the UPPER_SNAKE code; "" means the standard code of Status.
	Code string
	// Message is sent to the client; "" means the standard message of Code.
	Message string
	// Details is rendered as error.details when non-empty.
	Details map[string]any
	// Header holds response headers to set, such as Retry-After or Allow.
	Header http.Header
	// Err is the cause. It is logged for 5xx statuses and never sent.
	Err error
}

// New returns an Error with the given status, code and message. It is how
// applications define their own codes:
//
//	envelope.New(422, "INSUFFICIENT_FUNDS", "insufficient funds")
func New(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// BadRequest returns a 400 BAD_REQUEST error.
func BadRequest(message string) *Error {
	return New(http.StatusBadRequest, CodeBadRequest, message)
}

// Validation returns a 400 VALIDATION_ERROR whose details hold one message
// per invalid field. See also FieldErrors.
func Validation(message string, fields map[string]string) *Error {
	e := New(http.StatusBadRequest, CodeValidation, message)
	if len(fields) > 0 {
		e.Details = make(map[string]any, len(fields))
		for k, v := range fields {
			e.Details[k] = v
		}
	}
	return e
}

// Unauthorized returns a 401 UNAUTHORIZED error.
func Unauthorized(message string) *Error {
	return New(http.StatusUnauthorized, CodeUnauthorized, message)
}

// Forbidden returns a 403 FORBIDDEN error.
func Forbidden(message string) *Error {
	return New(http.StatusForbidden, CodeForbidden, message)
}

// NotFound returns a 404 NOT_FOUND error with the message "<resource> not
// found" and details {"resource", "id"}. The id goes only to details.
func NotFound(resource, id string) *Error {
	if resource == "" {
		resource = "resource"
	}
	e := New(http.StatusNotFound, CodeNotFound, resource+" not found")
	e.Details = map[string]any{"resource": resource}
	if id != "" {
		e.Details["id"] = id
	}
	return e
}

// MethodNotAllowed returns a 405 METHOD_NOT_ALLOWED error that sets the
// Allow header to the given methods.
func MethodNotAllowed(allow ...string) *Error {
	e := New(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "")
	e.Header = http.Header{"Allow": {strings.Join(allow, ", ")}}
	return e
}

// Conflict returns a 409 CONFLICT error.
func Conflict(message string) *Error {
	return New(http.StatusConflict, CodeConflict, message)
}

// PayloadTooLarge returns a 413 PAYLOAD_TOO_LARGE error with details
// {"limit": limit} (bytes).
func PayloadTooLarge(limit int64) *Error {
	e := New(http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "")
	e.Details = map[string]any{"limit": limit}
	return e
}

// UnsupportedMediaType returns a 415 UNSUPPORTED_MEDIA_TYPE error.
func UnsupportedMediaType(message string) *Error {
	return New(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, message)
}

// RateLimited returns a 429 RATE_LIMITED error that sets Retry-After to
// retryAfter in whole seconds, rounded up, at least 1, and repeats it in
// details {"retryAfter": seconds}.
func RateLimited(retryAfter time.Duration) *Error {
	secs := errkind.RetryAfterSeconds(retryAfter)
	e := New(http.StatusTooManyRequests, CodeRateLimited, "")
	e.Header = http.Header{"Retry-After": {strconv.FormatInt(secs, 10)}}
	e.Details = map[string]any{"retryAfter": secs}
	return e
}

// Internal returns a 500 INTERNAL_ERROR wrapping cause. The client sees
// only the generic message; the cause is logged.
func Internal(cause error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Err: cause}
}

// Unavailable returns a 503 UNAVAILABLE error.
func Unavailable(message string) *Error {
	return New(http.StatusServiceUnavailable, CodeUnavailable, message)
}

// Timeout returns a 504 TIMEOUT error.
func Timeout() *Error {
	return New(http.StatusGatewayTimeout, CodeTimeout, "")
}

// Wrap returns a copy of e with cause as its wrapped error.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

// WithDetail returns a copy of e with details[key] = value added.
func (e *Error) WithDetail(key string, value any) *Error {
	c := *e
	c.Details = make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		c.Details[k] = v
	}
	c.Details[key] = value
	return &c
}

// Error returns "envelope: <status> <code>: <message>[: <cause>]". It is
// for logs; clients get PublicMessage.
func (e *Error) Error() string {
	s := "envelope: " + strconv.Itoa(e.HTTPStatus()) + " " + e.ErrorCode() + ": " + e.PublicMessage()
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code and status, so
// an application can compare against its own predefined errors with
// errors.Is.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.ErrorCode() == e.ErrorCode() && t.HTTPStatus() == e.HTTPStatus()
}

// ErrorKind returns the kind of the standard Code, else of the status
// (errkind.FromHTTPStatus), else errkind.Unknown: an application's own
// code with a status outside the table (422) reports only its status.
func (e *Error) ErrorKind() errkind.Kind {
	if k := errkind.ParseCode(e.Code); k != errkind.Unknown {
		return k
	}
	return errkind.FromHTTPStatus(e.HTTPStatus())
}

// HTTPStatus returns Status, or the standard status of Code, or 500.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	if s := statusOf(e.Code); s != 0 {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorCode returns Code, or the standard code of the status.
func (e *Error) ErrorCode() string {
	if e.Code != "" {
		return e.Code
	}
	return codeOf(e.HTTPStatus())
}

// PublicMessage returns Message, or the standard message of the code. For
// 500 INTERNAL_ERROR it is always the generic message.
func (e *Error) PublicMessage() string {
	code := e.ErrorCode()
	if e.Message != "" && code != CodeInternal {
		return e.Message
	}
	return messageOf(code, e.HTTPStatus())
}

// ErrorDetails returns Details.
func (e *Error) ErrorDetails() map[string]any { return e.Details }

// ResponseHeader returns Header.
func (e *Error) ResponseHeader() http.Header { return e.Header }

// statusOf returns the status of a standard code, or 0.
func statusOf(code string) int { return errkind.ParseCode(code).HTTPStatus() }

// codeOf returns the standard code of status, or one derived from the
// status text (422 → UNPROCESSABLE_ENTITY, unknown → HTTP_<status>).
func codeOf(status int) string {
	if c := errkind.FromHTTPStatus(status).Code(); c != "" {
		return c
	}
	text := http.StatusText(status)
	if text == "" {
		return "HTTP_" + strconv.Itoa(status)
	}
	var b strings.Builder
	gap := false
	for _, r := range text {
		switch {
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '\'':
			continue
		default:
			gap = true
			continue
		}
		if gap && b.Len() > 0 {
			b.WriteByte('_')
		}
		gap = false
		b.WriteRune(r)
	}
	return b.String()
}

// messageOf returns the standard client message of code, falling back to
// the lower-cased status text.
func messageOf(code string, status int) string {
	if m := errkind.ParseCode(code).Message(); m != "" {
		return m
	}
	if text := http.StatusText(status); text != "" {
		return strings.ToLower(text)
	}
	return "request failed"
}

// ErrHeaderWritten is returned by Write and WriteError when the response
// header was already sent, so nothing more is written.
var ErrHeaderWritten = errors.New("envelope: response header already written")
