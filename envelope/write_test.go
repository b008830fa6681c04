package envelope

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errorLog is a response writer that records the errors envelope hands
// it, as middleware.Logger's writer does.
type errorLog struct {
	http.ResponseWriter
	errs []error
}

func (l *errorLog) RecordError(err error)       { l.errs = append(l.errs, err) }
func (l *errorLog) Unwrap() http.ResponseWriter { return l.ResponseWriter }

var _ ErrorRecorder = (*errorLog)(nil)

// testRequest returns a request whose context carries request id "req-1"
// and a fixed clock.
func testRequest(t *testing.T, method, target string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	ctx := WithRequestID(r.Context(), "req-1")
	ctx = WithClock(ctx, func() time.Time { return testTime })
	return r.WithContext(ctx)
}

// decodeBody decodes an envelope body, failing the test on invalid JSON.
func decodeBody(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), "body must be JSON: %s", rec.Body.String())
	return body
}

type statusOnly struct{ status int }

func (e statusOnly) Error() string   { return "db: connection to 10.0.0.7 refused" }
func (e statusOnly) HTTPStatus() int { return e.status }

type fullBehaviour struct{}

func (fullBehaviour) Error() string {
	return "repository: duplicate key value violates unique constraint"
}
func (fullBehaviour) HTTPStatus() int              { return http.StatusConflict }
func (fullBehaviour) ErrorCode() string            { return "EMAIL_TAKEN" }
func (fullBehaviour) PublicMessage() string        { return "email already registered" }
func (fullBehaviour) ErrorDetails() map[string]any { return map[string]any{"field": "email"} }
func (fullBehaviour) ResponseHeader() http.Header {
	return http.Header{"WWW-Authenticate": {"Bearer"}} // not canonical on purpose
}

type outerCode struct{ err error }

func (o outerCode) Error() string     { return "outer: " + o.err.Error() }
func (o outerCode) Unwrap() error     { return o.err }
func (o outerCode) ErrorCode() string { return "OUTER_CODE" }

func TestWriteErrorMapping(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		status  int
		code    string
		message string
		details map[string]any
		header  map[string]string
		logged  bool
	}{
		{"envelope error", NotFound("user", "7"), 404, CodeNotFound, "user not found", map[string]any{"resource": "user", "id": "7"}, nil, false},
		{"wrapped envelope error", fmt.Errorf("handler: %w", Conflict("taken")), 409, CodeConflict, "taken", nil, nil, false},
		{"custom code", New(422, "INSUFFICIENT_FUNDS", "insufficient funds"), 422, "INSUFFICIENT_FUNDS", "insufficient funds", nil, nil, false},
		{"status behaviour only", fmt.Errorf("get: %w", statusOnly{404}), 404, CodeNotFound, "resource not found", nil, nil, false},
		{"status behaviour, derived code", statusOnly{422}, 422, "UNPROCESSABLE_ENTITY", "unprocessable entity", nil, nil, false},
		{"every behaviour", fmt.Errorf("register: %w", fullBehaviour{}), 409, "EMAIL_TAKEN", "email already registered", map[string]any{"field": "email"}, map[string]string{"WWW-Authenticate": "Bearer"}, false},
		{"outer code does not leak onto inner status", outerCode{statusOnly{404}}, 404, CodeNotFound, "resource not found", nil, nil, false},
		{"behaviour with a 5xx status is logged", statusOnly{503}, 503, CodeUnavailable, "service unavailable", nil, nil, true},
		{"behaviour with a non-error status is a 500", statusOnly{200}, 500, CodeInternal, "an unexpected error occurred", nil, nil, true},
		{"method not allowed sets Allow", MethodNotAllowed("GET", "POST"), 405, CodeMethodNotAllowed, "method not allowed", nil, map[string]string{"Allow": "GET, POST"}, false},
		{"rate limited sets Retry-After", RateLimited(2500 * time.Millisecond), 429, CodeRateLimited, "too many requests", map[string]any{"retryAfter": 3.0}, map[string]string{"Retry-After": "3"}, false},
		{"max bytes", fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 10}), 413, CodePayloadTooLarge, "request body too large", map[string]any{"limit": 10.0}, nil, false},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), 504, CodeTimeout, "request timed out", nil, nil, true},
		{"canceled", fmt.Errorf("query: %w", context.Canceled), 499, CodeClientClosedRequest, "client closed the request", nil, nil, false},
		{"unknown", errors.New("pq: SELECT secret FROM users failed"), 500, CodeInternal, "an unexpected error occurred", nil, nil, true},
		{"internal with cause", Internal(errors.New("disk /var/lib full")), 500, CodeInternal, "an unexpected error occurred", nil, nil, true},
		{"nil error", nil, 500, CodeInternal, "an unexpected error occurred", nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRequest(t, "GET", "/v1/things")
			rec := httptest.NewRecorder()
			log := &errorLog{ResponseWriter: rec}
			require.NoError(t, WriteError(plainWrapper{log}, r, tt.err), "WriteError on a fresh writer succeeds")

			assert.Equal(t, tt.status, rec.Code, "status")
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"), "content type")
			body := decodeBody(t, rec)
			assert.NotContains(t, body, "data", "an error response has no data")
			want := map[string]any{"code": tt.code, "message": tt.message}
			if tt.details != nil {
				want["details"] = tt.details
			}
			assert.Equal(t, want, body["error"], "error member")
			assert.Equal(t, map[string]any{"timestamp": "2026-01-02T03:04:05.6Z", "requestId": "req-1"}, body["meta"], "meta")
			for k, v := range tt.header {
				assert.Equal(t, v, rec.Header().Get(k), "header %s", k)
			}
			if tt.err != nil {
				assert.NotContains(t, rec.Body.String(), tt.err.Error(), "error text never reaches the client")
			}

			require.Len(t, log.errs, 1, "the error is handed to the recorder once, whatever the status")
			if tt.err != nil {
				assert.Equal(t, tt.err, log.errs[0], "the recorder gets the whole cause")
			} else {
				assert.ErrorContains(t, log.errs[0], "nil error", "a nil error is named")
			}
		})
	}
}

func TestWriteErrorNilRequest(t *testing.T) {
	rec := httptest.NewRecorder()
	require.NoError(t, WriteError(rec, nil, BadRequest("x")), "nil request is allowed")
	assert.Equal(t, 400, rec.Code, "status")
	body := decodeBody(t, rec)
	meta := body["meta"].(map[string]any)
	assert.NotContains(t, meta, "requestId", "no request id without a context")
	assert.NotEmpty(t, meta["timestamp"], "timestamp from the real clock")
}

func TestWriteErrorUnencodableDetails(t *testing.T) {
	r := testRequest(t, "GET", "/")
	rec := httptest.NewRecorder()
	log := &errorLog{ResponseWriter: rec}
	err := BadRequest("bad").WithDetail("fn", func() {})
	require.NoError(t, WriteError(log, r, err), "still written")
	assert.Equal(t, 400, rec.Code, "status kept")
	body := decodeBody(t, rec)
	assert.Equal(t, map[string]any{"code": "BAD_REQUEST", "message": "bad"}, body["error"], "details dropped, rest kept")
	require.Len(t, log.errs, 2, "the error and the dropped details are recorded")
	var unsupported *json.UnsupportedTypeError
	assert.ErrorAs(t, log.errs[1], &unsupported, "the encoding failure is recorded")
}

func TestWrite(t *testing.T) {
	t.Run("fills meta", func(t *testing.T) {
		r := testRequest(t, "GET", "/")
		rec := httptest.NewRecorder()
		require.NoError(t, Write(rec, r, 0, item{ID: "1"}, nil), "write")
		assert.Equal(t, 200, rec.Code, "status 0 means 200")
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"), "content type")
		assert.Equal(t, `{"data":{"id":"1"},"meta":{"timestamp":"2026-01-02T03:04:05.6Z","requestId":"req-1"}}`, rec.Body.String(), "body")
	})
	t.Run("keeps given meta", func(t *testing.T) {
		r := testRequest(t, "GET", "/")
		rec := httptest.NewRecorder()
		p := NewPagination(1, 2, 3)
		meta := &Meta{Pagination: &p, Timestamp: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), RequestID: "given"}
		require.NoError(t, Write(rec, r, http.StatusCreated, []int(nil), meta), "write")
		assert.Equal(t, 201, rec.Code, "status")
		assert.Equal(t, `{"data":[],"meta":{"pagination":{"page":1,"pageSize":2,"total":3,"totalPages":2},"timestamp":"2020-01-01T00:00:00Z","requestId":"given"}}`, rec.Body.String(), "body")
		assert.Equal(t, "given", meta.RequestID, "caller's meta not modified")
	})
	t.Run("no content", func(t *testing.T) {
		for _, status := range []int{http.StatusNoContent, http.StatusNotModified} {
			r := testRequest(t, "GET", "/")
			rec := httptest.NewRecorder()
			require.NoError(t, Write(rec, r, status, item{ID: "x"}, nil), "write")
			assert.Equal(t, status, rec.Code, "status")
			assert.Empty(t, rec.Body.String(), "no body for %d", status)
		}
	})
	t.Run("unencodable data is a 500", func(t *testing.T) {
		r := testRequest(t, "GET", "/")
		rec := httptest.NewRecorder()
		log := &errorLog{ResponseWriter: rec}
		err := Write(log, r, 200, map[string]any{"f": func() {}}, nil)
		var unsupported *json.UnsupportedTypeError
		assert.ErrorAs(t, err, &unsupported, "the encoding error is returned")
		assert.Equal(t, 500, rec.Code, "status")
		assert.Equal(t, CodeInternal, decodeBody(t, rec)["error"].(map[string]any)["code"], "generic 500")
		require.Len(t, log.errs, 1, "the encoding error is recorded")
		assert.ErrorAs(t, log.errs[0], &unsupported, "the encoding error is recorded")
	})
	t.Run("invalid status is a 500", func(t *testing.T) {
		for _, status := range []int{-1, 99, 101, 600, 1000} {
			r := testRequest(t, "GET", "/")
			rec := httptest.NewRecorder()
			log := &errorLog{ResponseWriter: rec}
			assert.Error(t, Write(log, r, status, 1, nil), "status %d is refused", status)
			assert.Equal(t, 500, rec.Code, "status %d becomes a 500", status)
			assert.Len(t, log.errs, 1, "status %d is recorded", status)
		}
	})
	t.Run("write error is returned", func(t *testing.T) {
		r := testRequest(t, "GET", "/")
		w := &failingWriter{ResponseRecorder: httptest.NewRecorder()}
		assert.ErrorIs(t, Write(w, r, 200, 1, nil), errBrokenPipe, "Write reports the transport error")
		assert.ErrorIs(t, WriteError(w, r, BadRequest("x")), errBrokenPipe, "WriteError reports the transport error")
	})
}

var errBrokenPipe = errors.New("broken pipe")

type failingWriter struct{ *httptest.ResponseRecorder }

func (f *failingWriter) Write([]byte) (int, error) { return 0, errBrokenPipe }

// sentWriter is a middleware-style wrapper that knows the header was sent.
type sentWriter struct {
	http.ResponseWriter
	sent bool
}

func (s *sentWriter) HeaderWritten() bool         { return s.sent }
func (s *sentWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

type plainWrapper struct{ http.ResponseWriter }

func (p plainWrapper) Unwrap() http.ResponseWriter { return p.ResponseWriter }

func TestHeaderWritten(t *testing.T) {
	rec := httptest.NewRecorder()
	assert.False(t, HeaderWritten(rec), "a writer that cannot tell reports false")
	assert.False(t, HeaderWritten(nil), "nil writer")
	inner := &sentWriter{ResponseWriter: rec, sent: true}
	assert.True(t, HeaderWritten(inner), "the method is used")
	assert.True(t, HeaderWritten(plainWrapper{plainWrapper{inner}}), "found through Unwrap")
	assert.False(t, HeaderWritten(plainWrapper{rec}), "Unwrap chain without the method")
}

func TestWriteAfterHeaderSent(t *testing.T) {
	tests := []struct {
		name  string
		write func(w http.ResponseWriter, r *http.Request) error
	}{
		{"Write", func(w http.ResponseWriter, r *http.Request) error { return Write(w, r, 200, "second", nil) }},
		{"WriteError", func(w http.ResponseWriter, r *http.Request) error { return WriteError(w, r, errors.New("boom")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRequest(t, "GET", "/late")
			rec := httptest.NewRecorder()
			log := &errorLog{ResponseWriter: rec}
			w := &trackingWriter{ResponseWriter: log}
			require.NoError(t, Write(w, r, 201, "first", nil), "first write")
			first := rec.Body.String()

			err := tt.write(plainWrapper{w}, r)
			assert.ErrorIs(t, err, ErrHeaderWritten, "second response is refused")
			assert.Equal(t, first, rec.Body.String(), "first response is not mangled")
			assert.Equal(t, 201, rec.Code, "status unchanged")
			require.Len(t, log.errs, 1, "the dropped write is recorded")
			assert.ErrorIs(t, log.errs[0], ErrHeaderWritten, "as ErrHeaderWritten")
		})
	}
}
