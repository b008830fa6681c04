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
	CodeClientClosedRequest  = errkind.CodeClientClosedRequest  // 499
	CodeInternal             = errkind.CodeInternal             // 500
	CodeUnavailable          = errkind.CodeUnavailable          // 503
	CodeTimeout              = errkind.CodeTimeout              // 504
)

// CodeClientClosed is the earlier name of CodeClientClosedRequest.
//
// Deprecated: use CodeClientClosedRequest.
const CodeClientClosed = CodeClientClosedRequest

// StatusClientClosedRequest is the non-standard status (as used by nginx)
// that WriteError gives context.Canceled: the client went away before the
// response was ready, so nobody reads it, and it is not a server fault.
const StatusClientClosedRequest = errkind.StatusClientClosedRequest

// Error is the earlier name of errkind.Error, the one error type that
// carries a kind, which the constructors of this package return.
//
// Deprecated: use errkind.Error.
type Error = errkind.Error

// New returns an error with the given status, code and message. It is how
// applications define their own codes:
//
//	envelope.New(422, "INSUFFICIENT_FUNDS", "insufficient funds")
//
// A zero status means the standard status of code, or 500; an empty code
// means the standard code of status, or one derived from its status text
// (UNPROCESSABLE_ENTITY); an empty message means the standard message of
// code, or the status text in lower case.
func New(status int, code, message string) *errkind.Error {
	e := &errkind.Error{Status: status, Code: code, Message: message}
	standard := errkind.ParseCode(code) != errkind.Unknown
	if status == 0 && !standard {
		e.Status = http.StatusInternalServerError
	}
	if code == "" {
		e.Code = codeOf(e.HTTPStatus())
		standard = errkind.ParseCode(e.Code) != errkind.Unknown
	}
	if message == "" && !standard {
		e.Message = messageOf(e.Code, e.Status)
	}
	return e
}

// BadRequest returns a 400 BAD_REQUEST error.
func BadRequest(message string) *errkind.Error {
	return errkind.New(errkind.BadRequest, message)
}

// Validation returns a 400 VALIDATION_ERROR whose details hold one message
// per invalid field. See also FieldErrors.
func Validation(message string, fields map[string]string) *errkind.Error {
	e := errkind.New(errkind.Validation, message)
	if len(fields) > 0 {
		e.Details = make(map[string]any, len(fields))
		for k, v := range fields {
			e.Details[k] = v
		}
	}
	return e
}

// Unauthorized returns a 401 UNAUTHORIZED error.
func Unauthorized(message string) *errkind.Error {
	return errkind.New(errkind.Unauthorized, message)
}

// Forbidden returns a 403 FORBIDDEN error.
func Forbidden(message string) *errkind.Error {
	return errkind.New(errkind.Forbidden, message)
}

// NotFound returns a 404 NOT_FOUND error with the message "<resource> not
// found" and details {"resource", "id"}. The id goes only to details.
func NotFound(resource, id string) *errkind.Error {
	if resource == "" {
		resource = "resource"
	}
	e := errkind.New(errkind.NotFound, resource+" not found")
	e.Details = map[string]any{"resource": resource}
	if id != "" {
		e.Details["id"] = id
	}
	return e
}

// MethodNotAllowed returns a 405 METHOD_NOT_ALLOWED error that sets the
// Allow header to the given methods.
func MethodNotAllowed(allow ...string) *errkind.Error {
	e := errkind.New(errkind.MethodNotAllowed, "")
	e.Header = http.Header{"Allow": {strings.Join(allow, ", ")}}
	return e
}

// Conflict returns a 409 CONFLICT error.
func Conflict(message string) *errkind.Error {
	return errkind.New(errkind.Conflict, message)
}

// PayloadTooLarge returns a 413 PAYLOAD_TOO_LARGE error with details
// {"limit": limit} (bytes).
func PayloadTooLarge(limit int64) *errkind.Error {
	e := errkind.New(errkind.PayloadTooLarge, "")
	e.Details = map[string]any{"limit": limit}
	return e
}

// UnsupportedMediaType returns a 415 UNSUPPORTED_MEDIA_TYPE error.
func UnsupportedMediaType(message string) *errkind.Error {
	return errkind.New(errkind.UnsupportedMediaType, message)
}

// RateLimited returns a 429 RATE_LIMITED error that sets Retry-After to
// retryAfter in whole seconds, rounded up, at least 1, and repeats it in
// details {"retryAfter": seconds}.
func RateLimited(retryAfter time.Duration) *errkind.Error {
	secs := errkind.RetryAfterSeconds(retryAfter)
	e := errkind.New(errkind.RateLimited, "")
	e.Retry = time.Duration(secs) * time.Second
	e.Header = http.Header{"Retry-After": {strconv.FormatInt(secs, 10)}}
	e.Details = map[string]any{"retryAfter": secs}
	return e
}

// Internal returns a 500 INTERNAL_ERROR wrapping cause. The client sees
// only the generic message; the cause is logged.
func Internal(cause error) *errkind.Error {
	return &errkind.Error{Kind: errkind.Internal, Err: cause}
}

// Unavailable returns a 503 UNAVAILABLE error.
func Unavailable(message string) *errkind.Error {
	return errkind.New(errkind.Unavailable, message)
}

// Timeout returns a 504 TIMEOUT error.
func Timeout() *errkind.Error {
	return errkind.New(errkind.Timeout, "")
}

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
