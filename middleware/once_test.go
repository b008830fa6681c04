package middleware_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/middleware"
)

// onceChain is the recommended order: Logger in front of Recover, so the
// panic lands in the request's one line.
func onceChain(access, recoverLog *logBuffer, h http.Handler) http.Handler {
	return middleware.Chain(
		middleware.RequestID,
		middleware.ClientIP{}.Handler,
		middleware.LoggerWithOptions(middleware.LoggerOptions{Logger: access.logger()}),
		middleware.RecoverWithOptions(middleware.RecoverOptions{Logger: recoverLog.logger()}),
		middleware.SecurityHeaders,
		middleware.Timeout(time.Minute),
	).Then(h)
}

// TestOneLogLinePerRequest (issue 17 item 4): the cause of a failure is
// logged once, in the request's line, with no logger smuggled through the
// context and nothing sent to slog.Default.
func TestOneLogLinePerRequest(t *testing.T) {
	tests := []struct {
		name      string
		h         http.Handler
		status    int
		wantError string // "" means no error attribute
		wantPanic string
	}{
		{"ok", envelope.Handle(func(*http.Request) (int, error) { return 1, nil }), 200, "", ""},
		{"client error keeps its cause out", envelope.Handle(func(*http.Request) (int, error) {
			return 0, envelope.NotFound("user", "7")
		}), 404, "", ""},
		{"unknown error", envelope.Handle(func(*http.Request) (int, error) {
			return 0, errors.New("pq: relation users does not exist")
		}), 500, "pq: relation users does not exist", ""},
		{"unavailable with cause", envelope.HandleNoContent(func(*http.Request) error {
			return envelope.Unavailable("db down").Wrap(errors.New("dial tcp 10.0.0.7: refused"))
		}), 503, "dial tcp 10.0.0.7: refused", ""},
		{"panic in Handle", envelope.Handle(func(*http.Request) (int, error) { panic("nil map write") }), 500,
			"middleware: panic: nil map write", "nil map write"},
		{"panic in a plain handler", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(errors.New("index out of range")) }), 500,
			"middleware: panic: index out of range", "index out of range"},
		{"second response refused", envelope.Track(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = envelope.Write(w, r, http.StatusCreated, "first", nil)
			_ = envelope.WriteError(w, r, envelope.Conflict("late"))
		})), 201, envelope.ErrHeaderWritten.Error(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var access, recoverLog logBuffer
			rec := serve(onceChain(&access, &recoverLog, tt.h), httptest.NewRequest("GET", "/x", nil))
			assert.Equal(t, tt.status, rec.Code, "status")
			assert.Empty(t, recoverLog.String(), "Recover leaves the panic to the Logger in front")
			lines := access.lines(t)
			require.Len(t, lines, 1, "one line per request: %s", access.String())
			line := lines[0]
			assert.Equal(t, float64(tt.status), line["status"], "status logged")
			if tt.wantError == "" {
				assert.NotContains(t, line, "error", "no error attribute")
			} else {
				assert.Contains(t, line["error"], tt.wantError, "the cause is in the line")
			}
			if tt.wantPanic == "" {
				assert.NotContains(t, line, "stack", "no stack")
				return
			}
			assert.Equal(t, tt.wantPanic, line["panic"], "panic value")
			assert.Contains(t, line["stack"], "once_test.go", "the stack points at the panicking code")
			assert.NotContains(t, rec.Body.String(), tt.wantPanic, "the panic never reaches the client")
		})
	}
}

// TestRecoverWithoutLoggerLogsItself: without a Logger in front (or with
// one behind it that already wrote its line), Recover logs the panic.
func TestRecoverWithoutLoggerLogsItself(t *testing.T) {
	panicky := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	tests := []struct {
		name        string
		chain       func(access, recoverLog *logBuffer) http.Handler
		accessLines int
	}{
		{"no Logger", func(_, recoverLog *logBuffer) http.Handler {
			return middleware.RecoverWithOptions(middleware.RecoverOptions{Logger: recoverLog.logger()})(panicky)
		}, 0},
		{"Logger behind Recover", func(access, recoverLog *logBuffer) http.Handler {
			return middleware.Chain(
				middleware.RecoverWithOptions(middleware.RecoverOptions{Logger: recoverLog.logger()}),
				middleware.LoggerWithOptions(middleware.LoggerOptions{Logger: access.logger()}),
			).Then(panicky)
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var access, recoverLog logBuffer
			rec := serve(tt.chain(&access, &recoverLog), httptest.NewRequest("GET", "/", nil))
			assert.Equal(t, 500, rec.Code, "status")
			lines := recoverLog.lines(t)
			require.Len(t, lines, 1, "Recover logs the panic")
			assert.Equal(t, "boom", lines[0]["panic"], "panic value")
			assert.Len(t, access.lines(t), tt.accessLines, "access lines")
		})
	}
}

// TestOneTrackerPerRequest (issue 17 item 5): behind the middleware, the
// envelope adapters use the middleware's writer instead of adding theirs.
func TestOneTrackerPerRequest(t *testing.T) {
	var got string
	h := envelope.Track(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { got = fmt.Sprintf("%T", w) }))
	var access, recoverLog logBuffer
	serve(onceChain(&access, &recoverLog, h), httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, "*middleware.responseWriter", got, "the handler writes through the one shared writer")
}

// TestResponseControllerThroughChain (issue 17 item 5): Flush and
// SetWriteDeadline reach the connection through every wrapper of the
// chain, envelope's Routes and Track included, on a real server.
func TestResponseControllerThroughChain(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /stream", envelope.Track(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			_ = envelope.WriteError(w, r, fmt.Errorf("set write deadline: %w", err))
			return
		}
		if err := rc.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
			_ = envelope.WriteError(w, r, fmt.Errorf("set read deadline: %w", err))
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "chunk 0\n")
		if err := rc.Flush(); err != nil {
			_ = envelope.WriteError(w, r, fmt.Errorf("flush: %w", err))
			return
		}
		<-r.Context().Done() // the client reads the chunk, then hangs up
	})))
	var access, recoverLog logBuffer
	chain := onceChain(&access, &recoverLog, envelope.Routes(mux))
	srv := httptest.NewServer(chain)
	defer srv.Close()

	res, err := srv.Client().Get(srv.URL + "/stream")
	require.NoError(t, err, "request")
	defer res.Body.Close()
	require.Equal(t, 200, res.StatusCode, "deadlines were set through the chain")
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	require.NoError(t, err, "the first chunk arrives while the handler still runs, so Flush went through")
	assert.Equal(t, "chunk 0\n", line, "first chunk")
}
