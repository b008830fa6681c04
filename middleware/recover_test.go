package middleware_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/middleware"
)

func TestRecover(t *testing.T) {
	tests := []struct {
		name  string
		value any
	}{
		{"string", "boom"},
		{"error", errors.New("secret database text")},
		{"nil", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			h := middleware.Chain(
				middleware.RequestID,
				middleware.RecoverWithOptions(middleware.RecoverOptions{Logger: logs.logger()}),
			).ThenFunc(func(http.ResponseWriter, *http.Request) { panic(tt.value) })
			req := httptest.NewRequest("GET", "/x", nil)
			req.Header.Set("X-Request-Id", "rid-1")
			rec := serve(h, req)

			require.Equal(t, http.StatusInternalServerError, rec.Code, "a panic is a 500")
			e := decodeEnvelope(t, rec.Body.Bytes())
			require.NotNil(t, e.Error, "error envelope")
			assert.Equal(t, "INTERNAL_ERROR", e.Error.Code, "code")
			assert.Equal(t, "rid-1", e.Meta.RequestID, "request id in meta")
			assert.NotContains(t, rec.Body.String(), "secret", "the panic value never reaches the client")
			assert.NotContains(t, rec.Body.String(), "goroutine", "the stack never reaches the client")

			lines := logs.lines(t)
			require.Len(t, lines, 1, "one log line per panic: %s", logs.String())
			assert.Equal(t, "ERROR", lines[0]["level"], "logged as an error")
			assert.Equal(t, "rid-1", lines[0]["requestId"], "with the request id")
			assert.Contains(t, lines[0]["stack"], "recover_test.go", "with the stack")
		})
	}
}

func TestRecoverAbortHandler(t *testing.T) {
	var logs logBuffer
	h := middleware.RecoverWithOptions(middleware.RecoverOptions{Logger: logs.logger()})(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() {
		serve(h, httptest.NewRequest("GET", "/", nil))
	}, "http.ErrAbortHandler goes through")
	assert.Empty(t, logs.String(), "an abort is not a bug to log")
}

func TestRecoverAfterResponseStarted(t *testing.T) {
	var logs logBuffer
	h := middleware.RecoverWithOptions(middleware.RecoverOptions{Logger: logs.logger()})(
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, "partial")
			panic("late")
		}))
	rec := httptest.NewRecorder()
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() {
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	}, "the connection is aborted instead of writing twice")
	assert.Equal(t, http.StatusAccepted, rec.Code, "the status is untouched")
	assert.Equal(t, "partial", rec.Body.String(), "nothing is appended to the body")
	lines := logs.lines(t)
	require.Len(t, lines, 1, "the panic is still logged")
	assert.Equal(t, true, lines[0]["responseStarted"], "the log says the response had started")
}

// TestRecoverOverServer checks the abort end to end: the client sees a
// broken response, and the server keeps serving.
func TestRecoverOverServer(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/late", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "100")
		_, _ = io.WriteString(w, "partial")
		panic("late")
	})
	mux.HandleFunc("/early", func(http.ResponseWriter, *http.Request) { panic("early") })
	quiet := slog.New(slog.DiscardHandler)
	srv := httptest.NewUnstartedServer(middleware.RecoverWithOptions(middleware.RecoverOptions{Logger: quiet})(mux))
	srv.Config.ErrorLog = nil
	srv.Start()
	defer srv.Close()

	res, err := srv.Client().Get(srv.URL + "/early")
	require.NoError(t, err, "early panic is answered")
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusInternalServerError, res.StatusCode, "500 before anything was written")
	assert.True(t, strings.Contains(string(body), "INTERNAL_ERROR"), "envelope body: %s", body)

	res, err = srv.Client().Get(srv.URL + "/late")
	if err == nil {
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	assert.Error(t, err, "a late panic breaks the response instead of ending it cleanly")
}
