package envelope

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHandle(t *testing.T) {
	tests := []struct {
		name   string
		fn     func(r *http.Request) (item, error)
		status int
		body   string
	}{
		{"value", func(*http.Request) (item, error) { return item{ID: "1"}, nil }, 200,
			`{"data":{"id":"1"},"meta":{"timestamp":"2026-01-02T03:04:05.6Z","requestId":"req-1"}}`},
		{"error", func(*http.Request) (item, error) { return item{ID: "ignored"}, NotFound("item", "") }, 404,
			`{"error":{"code":"NOT_FOUND","message":"item not found","details":{"resource":"item"}},"meta":{"timestamp":"2026-01-02T03:04:05.6Z","requestId":"req-1"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRequest(t, "GET", "/items/1")
			rec := httptest.NewRecorder()
			Handle(tt.fn).ServeHTTP(rec, r)
			assert.Equal(t, tt.status, rec.Code, "status")
			assert.Equal(t, tt.body, rec.Body.String(), "body")
		})
	}
}

// TestHandleDoesNotRecover: panics are middleware.Recover's, once per
// request; the adapters let them through untouched.
func TestHandleDoesNotRecover(t *testing.T) {
	tests := []struct {
		name string
		h    http.Handler
	}{
		{"Handle", Handle(func(*http.Request) (int, error) { panic("boom") })},
		{"HandleResult", HandleResult(func(*http.Request) (Result[int], error) { panic("boom") })},
		{"HandleNoContent", HandleNoContent(func(*http.Request) error { panic("boom") })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			assert.PanicsWithValue(t, "boom", func() { tt.h.ServeHTTP(rec, testRequest(t, "GET", "/")) }, "the panic goes on")
			assert.Empty(t, rec.Body.String(), "nothing written")
		})
	}
}

// TestHandleReusesTracker: behind a writer that tracks the header (as
// middleware's does), the adapters add no tracker of their own.
func TestHandleReusesTracker(t *testing.T) {
	outer := &sentWriter{ResponseWriter: httptest.NewRecorder()}
	for name, w := range map[string]http.ResponseWriter{"direct": outer, "through Unwrap": plainWrapper{outer}} {
		t.Run(name, func(t *testing.T) {
			var got http.ResponseWriter
			Track(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { got = w })).ServeHTTP(w, testRequest(t, "GET", "/"))
			assert.Equal(t, w, got, "the writer is passed through")
		})
	}
}

func TestTrack(t *testing.T) {
	r := testRequest(t, "GET", "/plain")
	rec := httptest.NewRecorder()
	log := &errorLog{ResponseWriter: rec}
	var second error
	h := Track(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = Write(w, r, http.StatusOK, "first", nil)
		second = WriteError(w, r, Conflict("too late"))
	}))
	h.ServeHTTP(log, r)
	assert.ErrorIs(t, second, ErrHeaderWritten, "the second response is refused")
	assert.Equal(t, 200, rec.Code, "first status kept")
	assert.Equal(t, `{"data":"first","meta":{"timestamp":"2026-01-02T03:04:05.6Z","requestId":"req-1"}}`, rec.Body.String(), "first body intact")
	require.Len(t, log.errs, 1, "the refused write is recorded once")
	assert.ErrorIs(t, log.errs[0], ErrHeaderWritten, "as ErrHeaderWritten")

	var inner http.ResponseWriter
	Track(Track(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { inner = w }))).ServeHTTP(rec, r)
	tw, ok := inner.(*trackingWriter)
	require.True(t, ok, "the handler gets a tracking writer")
	assert.Same(t, rec, tw.ResponseWriter, "Track does not wrap a writer that already tracks")
}

func TestHandleResult(t *testing.T) {
	tests := []struct {
		name   string
		fn     func(r *http.Request) (Result[[]int], error)
		status int
		header map[string]string
		body   string
	}{
		{"ok", func(*http.Request) (Result[[]int], error) { return OK([]int{1}), nil }, 200, nil,
			`{"data":[1],"meta":{"timestamp":"2026-01-02T03:04:05.6Z","requestId":"req-1"}}`},
		{"zero result", func(*http.Request) (Result[[]int], error) { return Result[[]int]{}, nil }, 200, nil,
			`{"data":[],"meta":{"timestamp":"2026-01-02T03:04:05.6Z","requestId":"req-1"}}`},
		{"created with location", func(*http.Request) (Result[[]int], error) {
			res := Created([]int{7})
			res.Header = http.Header{"Location": {"/items/7"}}
			return res, nil
		}, 201, map[string]string{"Location": "/items/7"},
			`{"data":[7],"meta":{"timestamp":"2026-01-02T03:04:05.6Z","requestId":"req-1"}}`},
		{"paginated", func(*http.Request) (Result[[]int], error) { return Paginated([]int{3}, 2, 2, 3), nil }, 200, nil,
			`{"data":[3],"meta":{"pagination":{"page":2,"pageSize":2,"total":3,"totalPages":2},"timestamp":"2026-01-02T03:04:05.6Z","requestId":"req-1"}}`},
		{"page out of range", func(*http.Request) (Result[[]int], error) { return Paginated([]int(nil), 5, 2, 3), nil }, 200, nil,
			`{"data":[],"meta":{"pagination":{"page":5,"pageSize":2,"total":3,"totalPages":2},"timestamp":"2026-01-02T03:04:05.6Z","requestId":"req-1"}}`},
		{"cursor", func(*http.Request) (Result[[]int], error) { return CursorPage([]int{1}, "abc"), nil }, 200, nil,
			`{"data":[1],"meta":{"cursor":{"next":"abc","hasMore":true},"timestamp":"2026-01-02T03:04:05.6Z","requestId":"req-1"}}`},
		{"no content", func(*http.Request) (Result[[]int], error) { return Result[[]int]{Status: 204}, nil }, 204, nil, ``},
		{"error", func(*http.Request) (Result[[]int], error) { return Result[[]int]{}, Forbidden("") }, 403, nil,
			`{"error":{"code":"FORBIDDEN","message":"permission denied"},"meta":{"timestamp":"2026-01-02T03:04:05.6Z","requestId":"req-1"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRequest(t, "GET", "/items")
			rec := httptest.NewRecorder()
			HandleResult(tt.fn).ServeHTTP(rec, r)
			assert.Equal(t, tt.status, rec.Code, "status")
			assert.Equal(t, tt.body, rec.Body.String(), "body")
			for k, v := range tt.header {
				assert.Equal(t, v, rec.Header().Get(k), "header %s", k)
			}
		})
	}
}

func TestHandleNoContent(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{"success", nil, 204},
		{"error", Unauthorized("invalid token"), 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRequest(t, "POST", "/logout")
			rec := httptest.NewRecorder()
			HandleNoContent(func(*http.Request) error { return tt.err }).ServeHTTP(rec, r)
			assert.Equal(t, tt.status, rec.Code, "status")
			if tt.err == nil {
				assert.Empty(t, rec.Body.String(), "204 has no body")
			} else {
				assert.True(t, strings.HasPrefix(rec.Body.String(), `{"error":`), "error envelope")
			}
		})
	}
}

func TestTrackingWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	tw := &trackingWriter{ResponseWriter: rec}
	assert.False(t, tw.HeaderWritten(), "fresh writer")
	tw.WriteHeader(http.StatusEarlyHints)
	assert.False(t, tw.HeaderWritten(), "1xx informational headers do not start the response")
	require.NoError(t, http.NewResponseController(tw).Flush(), "flush reaches the recorder through the wrapper")
	assert.True(t, tw.HeaderWritten(), "flush sends the header")
	assert.True(t, rec.Flushed, "recorder saw the flush")
	assert.Same(t, rec, tw.Unwrap(), "Unwrap returns the wrapped writer")

	tw2 := &trackingWriter{ResponseWriter: httptest.NewRecorder()}
	_, err := tw2.Write([]byte("x"))
	require.NoError(t, err, "write")
	assert.True(t, tw2.HeaderWritten(), "a body write sends the header")

	tw3 := &trackingWriter{ResponseWriter: httptest.NewRecorder()}
	tw3.WriteHeader(http.StatusAccepted)
	assert.True(t, tw3.HeaderWritten(), "a final status sends the header")
}
