package errkind_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/errkind"
)

// wireTable is the contract clients rely on: kind, code, status. Written
// out here (not with the constants) so that a changed code fails the test.
const wireTable = `
BadRequest BAD_REQUEST 400
Validation VALIDATION_ERROR 400
Unauthorized UNAUTHORIZED 401
Forbidden FORBIDDEN 403
NotFound NOT_FOUND 404
MethodNotAllowed METHOD_NOT_ALLOWED 405
Conflict CONFLICT 409
PayloadTooLarge PAYLOAD_TOO_LARGE 413
UnsupportedMediaType UNSUPPORTED_MEDIA_TYPE 415
RateLimited RATE_LIMITED 429
ClientClosedRequest CLIENT_CLOSED_REQUEST 499
Internal INTERNAL_ERROR 500
Unavailable UNAVAILABLE 503
Timeout TIMEOUT 504
`

func TestKindTable(t *testing.T) {
	kinds := []errkind.Kind{errkind.BadRequest, errkind.Validation, errkind.Unauthorized,
		errkind.Forbidden, errkind.NotFound, errkind.MethodNotAllowed, errkind.Conflict,
		errkind.PayloadTooLarge, errkind.UnsupportedMediaType, errkind.RateLimited, errkind.ClientClosedRequest,
		errkind.Internal, errkind.Unavailable, errkind.Timeout}
	lines := strings.Fields(wireTable)
	require.Len(t, lines, 3*len(kinds), "one line per kind")
	for i, k := range kinds {
		name, code, status := lines[3*i], lines[3*i+1], lines[3*i+2]
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, code, k.Code(), "code")
			assert.Equal(t, code, k.String(), "String is the code")
			assert.Equal(t, status, strconv.Itoa(k.HTTPStatus()), "status")
			assert.NotEmpty(t, k.Message(), "every kind has a standard message")
			assert.Equal(t, k, errkind.ParseCode(code), "ParseCode inverts Code")
			s := k.HTTPStatus()
			assert.Equal(t, s >= 400 && s < 500, k.ClientFault(), "ClientFault is 4xx")
		})
	}
	assert.Equal(t, errkind.BadRequest, errkind.FromHTTPStatus(400), "400 is BadRequest, not Validation")
	assert.Equal(t, errkind.Unknown, errkind.FromHTTPStatus(422), "422 is not in the table")
	assert.Equal(t, errkind.Unknown, errkind.ParseCode("INSUFFICIENT_FUNDS"), "an application's code")
	assert.Equal(t, "Kind(0)", errkind.Unknown.String())
	assert.Equal(t, "Kind(200)", errkind.Kind(200).String())
	assert.Zero(t, errkind.Kind(200).HTTPStatus(), "out of range")
}

// appError is an application's error with its own status and code.
type appError struct{ cause error }

func (e *appError) Error() string         { return "app: insufficient funds" }
func (e *appError) Unwrap() error         { return e.cause }
func (e *appError) HTTPStatus() int       { return 422 }
func (e *appError) ErrorCode() string     { return "INSUFFICIENT_FUNDS" }
func (e *appError) PublicMessage() string { return "insufficient funds" }

// redirect reports a status that is not an error status.
type redirect struct{}

func (redirect) Error() string   { return "redirect" }
func (redirect) HTTPStatus() int { return 302 }

func TestInspect(t *testing.T) {
	notFound := errkind.New(errkind.NotFound, "user not found")
	wantNotFound := errkind.Report{Kind: errkind.NotFound, Status: 404, Code: errkind.CodeNotFound, Message: "user not found"}
	tests := []struct {
		name string
		err  error
		ok   bool
		want errkind.Report
	}{
		{"plain", errors.New("boom"), false, errkind.Report{}},
		{"nil", nil, false, errkind.Report{}},
		{"kind", notFound, true, wantNotFound},
		{"wrapped kind", fmt.Errorf("load: %w", notFound), true,
			wantNotFound},
		{"standard message", errkind.New(errkind.Unavailable, ""), true,
			errkind.Report{Kind: errkind.Unavailable, Status: 503, Code: "UNAVAILABLE", Message: "service unavailable"}},
		{"retry after", &errkind.Error{Kind: errkind.Unavailable, Retry: 2 * time.Second}, true,
			errkind.Report{Kind: errkind.Unavailable, Status: 503, Code: "UNAVAILABLE", Message: "service unavailable", RetryAfter: 2 * time.Second}},
		{"internal hides message", errkind.New(errkind.Internal, "db password is hunter2"), true,
			errkind.Report{Kind: errkind.Internal, Status: 500, Code: "INTERNAL_ERROR", Message: "an unexpected error occurred"}},
		{"details", &errkind.Error{Kind: errkind.Validation, Details: map[string]any{"email": "required"}}, true,
			errkind.Report{Kind: errkind.Validation, Status: 400, Code: "VALIDATION_ERROR", Message: "request validation failed", Details: map[string]any{"email": "required"}}},
		{"application status", &appError{}, true,
			errkind.Report{Kind: errkind.Unknown, Status: 422, Code: "INSUFFICIENT_FUNDS", Message: "insufficient funds"}},
		{"outer status beats inner kind", &appError{cause: notFound}, true,
			errkind.Report{Kind: errkind.Unknown, Status: 422, Code: "INSUFFICIENT_FUNDS", Message: "insufficient funds"}},
		{"outer kind beats inner status", errkind.New(errkind.Conflict, "").Wrap(&appError{}), true,
			errkind.Report{Kind: errkind.Conflict, Status: 409, Code: errkind.CodeConflict, Message: "conflict with the current state of the resource"}},
		{"status outside 400-599", redirect{}, false, errkind.Report{}},
		{"joined: first reporter", errors.Join(errors.New("x"), notFound), true,
			wantNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := errkind.Inspect(tt.err)
			require.Equal(t, tt.ok, ok, "whether the chain reports")
			if ok {
				assert.NotNil(t, got.Source, "Source is the reporting error")
				got.Source = nil
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want errkind.Kind
	}{
		{"nil", nil, errkind.Unknown},
		{"plain", errors.New("boom"), errkind.Internal},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), errkind.Timeout},
		{"canceled", fmt.Errorf("query: %w", context.Canceled), errkind.ClientClosedRequest},
		{"reported beats context", errkind.New(errkind.Unavailable, "").Wrap(context.DeadlineExceeded), errkind.Unavailable},
		{"application status", &appError{}, errkind.Unknown},
		{"status 302 reports nothing", redirect{}, errkind.Internal},
		{"kind", fmt.Errorf("x: %w", errkind.New(errkind.Forbidden, "")), errkind.Forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, errkind.Of(tt.err))
		})
	}
}

func TestError(t *testing.T) {
	cause := errors.New("driver: connection refused")
	e := errkind.New(errkind.Unavailable, "").Wrap(cause)
	assert.ErrorIs(t, e, cause, "the cause stays in the chain")
	assert.Equal(t, "UNAVAILABLE: service unavailable: driver: connection refused", e.Error())
	assert.Equal(t, "UNAVAILABLE", e.ErrorCode())
	custom := &errkind.Error{Kind: errkind.Conflict, Code: "EMAIL_TAKEN", Message: "email taken"}
	assert.Equal(t, "EMAIL_TAKEN: email taken", custom.Error())
	assert.Nil(t, custom.Unwrap())
}

// TestErrorFields: each field of Error falls back to the kind's row of the
// table, the kind to the code and then to the status.
func TestErrorFields(t *testing.T) {
	tests := []struct {
		name    string
		err     *errkind.Error
		kind    errkind.Kind
		status  int
		code    string
		message string
		text    string
	}{
		{"zero", &errkind.Error{}, errkind.Unknown, 0, "", "", "Kind(0): "},
		{"kind only", &errkind.Error{Kind: errkind.NotFound}, errkind.NotFound, 404, "NOT_FOUND", "resource not found", "NOT_FOUND: resource not found"},
		{"code only", &errkind.Error{Code: errkind.CodeConflict}, errkind.Conflict, 409, "CONFLICT", "conflict with the current state of the resource", "CONFLICT: conflict with the current state of the resource"},
		{"status only", &errkind.Error{Status: 404}, errkind.NotFound, 404, "NOT_FOUND", "resource not found", "NOT_FOUND: resource not found"},
		{"own code and status", &errkind.Error{Status: 422, Code: "INSUFFICIENT_FUNDS", Message: "insufficient funds"}, errkind.Unknown, 422, "INSUFFICIENT_FUNDS", "insufficient funds", "INSUFFICIENT_FUNDS: insufficient funds"},
		{"status beats the kind's", &errkind.Error{Kind: errkind.BadRequest, Status: 422}, errkind.BadRequest, 422, "BAD_REQUEST", "bad request", "BAD_REQUEST: bad request"},
		{"internal message stays in the log", errkind.New(errkind.Internal, "disk full"), errkind.Internal, 500, "INTERNAL_ERROR", "an unexpected error occurred", "INTERNAL_ERROR: disk full"},
		{"own code keeps the kind's message", &errkind.Error{Kind: errkind.Conflict, Code: "EMAIL_TAKEN"}, errkind.Conflict, 409, "EMAIL_TAKEN", "conflict with the current state of the resource", "EMAIL_TAKEN: conflict with the current state of the resource"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.kind, tt.err.ErrorKind(), "kind")
			assert.Equal(t, tt.status, tt.err.HTTPStatus(), "status")
			assert.Equal(t, tt.code, tt.err.ErrorCode(), "code")
			assert.Equal(t, tt.message, tt.err.PublicMessage(), "public message")
			assert.Equal(t, tt.text, tt.err.Error(), "text for logs")
		})
	}
}

func TestErrorIsWithDetail(t *testing.T) {
	errFunds := &errkind.Error{Status: 422, Code: "INSUFFICIENT_FUNDS", Message: "insufficient funds"}
	wrapped := errFunds.Wrap(errors.New("balance 3 < 5"))
	assert.ErrorIs(t, fmt.Errorf("transfer: %w", wrapped), errFunds, "a copy matches its original by code and status")
	assert.NotErrorIs(t, wrapped, &errkind.Error{Status: 422, Code: "OTHER"}, "another code does not match")
	assert.NotErrorIs(t, wrapped, &errkind.Error{Status: 409, Code: "INSUFFICIENT_FUNDS"}, "another status does not match")

	base := errkind.New(errkind.NotFound, "user not found")
	more := base.WithDetail("id", "7")
	assert.Equal(t, map[string]any{"id": "7"}, more.Details, "detail added")
	assert.Nil(t, base.Details, "the original is untouched")
	assert.ErrorIs(t, more, base, "and still matches it")

	h := http.Header{"Allow": {"GET"}}
	e := &errkind.Error{Kind: errkind.MethodNotAllowed, Header: h}
	assert.Equal(t, "GET", http.Header(e.Header).Get("Allow"), "an http.Header is assigned as it is")
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int64
	}{{0, 1}, {-time.Second, 1}, {time.Millisecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {90 * time.Second, 90}} {
		assert.Equal(t, tt.want, errkind.RetryAfterSeconds(tt.d), "%v", tt.d)
	}
}
