package middleware_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/middleware"
)

// plainWriter is a ResponseWriter with no optional interface.
type plainWriter struct {
	h      http.Header
	status int
}

func (p *plainWriter) Header() http.Header         { return p.h }
func (p *plainWriter) Write(b []byte) (int, error) { return len(b), nil }
func (p *plainWriter) WriteHeader(code int)        { p.status = code }

// wrapped runs fn behind Logger, Recover and Timeout, which wrap the writer.
func wrapped(fn http.HandlerFunc) http.Handler {
	quiet := slog.New(slog.DiscardHandler)
	return middleware.Chain(
		middleware.LoggerWithOptions(middleware.LoggerOptions{Logger: quiet}),
		middleware.RecoverWithOptions(middleware.RecoverOptions{Logger: quiet}),
		middleware.Timeout(time.Hour),
	).Then(fn)
}

func TestWriterFlushAndController(t *testing.T) {
	var flushErr, deadlineErr error
	var isFlusher bool
	h := wrapped(func(w http.ResponseWriter, _ *http.Request) {
		_, isFlusher = w.(http.Flusher)
		_, _ = io.WriteString(w, "a")
		rc := http.NewResponseController(w)
		flushErr = rc.Flush()
		deadlineErr = rc.SetWriteDeadline(time.Time{})
	})
	rec := serve(h, httptest.NewRequest("GET", "/", nil))
	assert.True(t, isFlusher, "the wrapper is a Flusher")
	assert.NoError(t, flushErr, "ResponseController flushes through the wrapper")
	assert.True(t, rec.Flushed, "the recorder was flushed")
	assert.ErrorIs(t, deadlineErr, http.ErrNotSupported, "ResponseController unwraps down to the recorder")
}

func TestWriterHijack(t *testing.T) {
	var hijackErr error
	h := wrapped(func(w http.ResponseWriter, _ *http.Request) {
		_, _, hijackErr = http.NewResponseController(w).Hijack()
	})
	serve(h, httptest.NewRequest("GET", "/", nil))
	assert.ErrorIs(t, hijackErr, http.ErrNotSupported, "a recorder cannot be hijacked")

	srv := httptest.NewServer(wrapped(func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack through the wrapper: %v", err)
			return
		}
		_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		conn.Close()
	}))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	require.NoError(t, err, "request")
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, "hijacked", string(body), "the handler owned the connection")
}

func TestWriterFlushStartsResponse(t *testing.T) {
	pw := &plainWriter{h: http.Header{}}
	h := wrapped(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		w.(http.Flusher).Flush()
		panic("after flush")
	})
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() {
		h.ServeHTTP(pw, httptest.NewRequest("GET", "/", nil))
	}, "a flush starts the response, so a later panic aborts")
	assert.Equal(t, http.StatusEarlyHints, pw.status, "1xx passes through and is not taken as the final status")
}

func TestWriterInformationalThenError(t *testing.T) {
	h := wrapped(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		panic("after 103")
	})
	pw := &plainWriter{h: http.Header{}}
	h.ServeHTTP(pw, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, http.StatusInternalServerError, pw.status, "a 1xx does not start the response: Recover still answers")
}

func TestWriterReadFrom(t *testing.T) {
	var logs logBuffer
	h := middleware.LoggerWithOptions(middleware.LoggerOptions{Logger: logs.logger()})(
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, isReaderFrom := w.(io.ReaderFrom)
			assert.True(t, isReaderFrom, "the wrapper keeps io.ReaderFrom")
			_, _ = io.Copy(w, strings.NewReader("streamed body"))
		}))
	rec := serve(h, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, "streamed body", rec.Body.String(), "body copied")
	lines := logs.lines(t)
	require.Len(t, lines, 1, "one line")
	assert.Equal(t, float64(len("streamed body")), lines[0]["bytes"], "bytes counted through ReadFrom")
	assert.Equal(t, float64(200), lines[0]["status"], "implicit 200")
}
