package envelope

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/errkind"
)

func TestConstructors(t *testing.T) {
	tests := []struct {
		name    string
		err     *errkind.Error
		status  int
		code    string
		message string
		details map[string]any
		header  http.Header
	}{
		{"BadRequest", BadRequest("bad id"), 400, CodeBadRequest, "bad id", nil, nil},
		{"Validation", Validation("check fields", map[string]string{"email": "invalid"}), 400, CodeValidation, "check fields", map[string]any{"email": "invalid"}, nil},
		{"Validation no fields", Validation("", nil), 400, CodeValidation, "request validation failed", nil, nil},
		{"Unauthorized", Unauthorized("token expired"), 401, CodeUnauthorized, "token expired", nil, nil},
		{"Unauthorized default message", Unauthorized(""), 401, CodeUnauthorized, "authentication required", nil, nil},
		{"Forbidden", Forbidden("admins only"), 403, CodeForbidden, "admins only", nil, nil},
		{"NotFound", NotFound("user", "42"), 404, CodeNotFound, "user not found", map[string]any{"resource": "user", "id": "42"}, nil},
		{"NotFound no resource", NotFound("", ""), 404, CodeNotFound, "resource not found", map[string]any{"resource": "resource"}, nil},
		{"MethodNotAllowed", MethodNotAllowed("GET", "HEAD"), 405, CodeMethodNotAllowed, "method not allowed", nil, http.Header{"Allow": {"GET, HEAD"}}},
		{"Conflict", Conflict("email taken"), 409, CodeConflict, "email taken", nil, nil},
		{"PayloadTooLarge", PayloadTooLarge(1024), 413, CodePayloadTooLarge, "request body too large", map[string]any{"limit": int64(1024)}, nil},
		{"UnsupportedMediaType", UnsupportedMediaType("use JSON"), 415, CodeUnsupportedMediaType, "use JSON", nil, nil},
		{"RateLimited rounds up", RateLimited(1500 * time.Millisecond), 429, CodeRateLimited, "too many requests", map[string]any{"retryAfter": int64(2)}, http.Header{"Retry-After": {"2"}}},
		{"RateLimited at least one second", RateLimited(0), 429, CodeRateLimited, "too many requests", map[string]any{"retryAfter": int64(1)}, http.Header{"Retry-After": {"1"}}},
		{"RateLimited whole seconds", RateLimited(3 * time.Second), 429, CodeRateLimited, "too many requests", map[string]any{"retryAfter": int64(3)}, http.Header{"Retry-After": {"3"}}},
		{"Internal", Internal(errors.New("disk full")), 500, CodeInternal, "an unexpected error occurred", nil, nil},
		{"Unavailable", Unavailable("maintenance"), 503, CodeUnavailable, "maintenance", nil, nil},
		{"Timeout", Timeout(), 504, CodeTimeout, "request timed out", nil, nil},
		{"New custom code", New(422, "INSUFFICIENT_FUNDS", "insufficient funds"), 422, "INSUFFICIENT_FUNDS", "insufficient funds", nil, nil},
		{"New custom status no code", New(422, "", ""), 422, "UNPROCESSABLE_ENTITY", "unprocessable entity", nil, nil},
		{"New zero", New(0, "", ""), 500, CodeInternal, "an unexpected error occurred", nil, nil},
		{"New code only", New(0, CodeConflict, ""), 409, CodeConflict, "conflict with the current state of the resource", nil, nil},
		{"internal message is never public", New(0, CodeInternal, "SELECT * FROM users"), 500, CodeInternal, "an unexpected error occurred", nil, nil},
		{"New unknown code without status", New(0, "WEIRD", ""), 500, "WEIRD", "internal server error", nil, nil},
		{"code only", &errkind.Error{Code: CodeConflict}, 409, CodeConflict, "conflict with the current state of the resource", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.status, tt.err.HTTPStatus(), "status")
			assert.Equal(t, tt.code, tt.err.ErrorCode(), "code")
			assert.Equal(t, tt.message, tt.err.PublicMessage(), "message")
			assert.Equal(t, tt.details, tt.err.ErrorDetails(), "details")
			if tt.header == nil {
				assert.Nil(t, tt.err.Header, "headers")
			} else {
				assert.Equal(t, tt.header, http.Header(tt.err.Header), "headers")
			}
		})
	}
}

func TestErrorWrapIsUnwrap(t *testing.T) {
	errFunds := New(422, "INSUFFICIENT_FUNDS", "insufficient funds")
	cause := errors.New("balance 3 < 5")
	wrapped := errFunds.Wrap(cause)

	assert.NotSame(t, errFunds, wrapped, "Wrap returns a copy")
	assert.Nil(t, errFunds.Err, "Wrap leaves the original alone")
	assert.ErrorIs(t, wrapped, cause, "the cause is in the chain")
	assert.ErrorIs(t, fmt.Errorf("transfer: %w", wrapped), errFunds, "errors.Is matches an application error by code and status")
	assert.NotErrorIs(t, wrapped, New(422, "OTHER", ""), "another code does not match")
	assert.NotErrorIs(t, wrapped, New(409, "INSUFFICIENT_FUNDS", ""), "another status does not match")
	assert.Equal(t, "INSUFFICIENT_FUNDS: insufficient funds: balance 3 < 5", wrapped.Error(), "Error text is for logs")

	var target *errkind.Error
	require.ErrorAs(t, fmt.Errorf("x: %w", wrapped), &target, "errors.As finds the *errkind.Error")
	assert.Equal(t, "INSUFFICIENT_FUNDS", target.Code, "found the right error")
}

func TestErrorWithDetail(t *testing.T) {
	base := NotFound("user", "1")
	more := base.WithDetail("hint", "check the id")
	assert.Equal(t, map[string]any{"resource": "user", "id": "1", "hint": "check the id"}, more.Details, "detail added")
	assert.Equal(t, map[string]any{"resource": "user", "id": "1"}, base.Details, "original details untouched")

	fresh := BadRequest("x").WithDetail("offset", 3)
	assert.Equal(t, map[string]any{"offset": 3}, fresh.Details, "details created when there were none")
}

func TestConstructorsReturnFreshValues(t *testing.T) {
	a, b := RateLimited(time.Second), RateLimited(time.Second)
	http.Header(a.Header).Set("Retry-After", "99")
	a.Details["retryAfter"] = 99
	assert.Equal(t, "1", http.Header(b.Header).Get("Retry-After"), "headers are not shared between errors")
	assert.Equal(t, int64(1), b.Details["retryAfter"], "details are not shared between errors")
}

func TestCodeOf(t *testing.T) {
	tests := []struct {
		status int
		want   string
	}{
		{400, CodeBadRequest}, {401, CodeUnauthorized}, {403, CodeForbidden}, {404, CodeNotFound},
		{405, CodeMethodNotAllowed}, {409, CodeConflict}, {413, CodePayloadTooLarge}, {415, CodeUnsupportedMediaType},
		{429, CodeRateLimited}, {499, CodeClientClosedRequest}, {500, CodeInternal}, {503, CodeUnavailable}, {504, CodeTimeout},
		{422, "UNPROCESSABLE_ENTITY"}, {418, "IM_A_TEAPOT"}, {410, "GONE"}, {431, "REQUEST_HEADER_FIELDS_TOO_LARGE"},
		{502, "BAD_GATEWAY"}, {505, "HTTP_VERSION_NOT_SUPPORTED"}, {599, "HTTP_599"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			code := codeOf(tt.status)
			assert.Equal(t, tt.want, code, "code for %d", tt.status)
			assert.Regexp(t, `^[A-Z0-9]+(_[A-Z0-9]+)*$`, code, "codes are UPPER_SNAKE")
			if s := errkind.ParseCode(code).HTTPStatus(); s != 0 {
				assert.Equal(t, tt.status, s, "standard codes map back to their status")
			}
		})
	}
}
