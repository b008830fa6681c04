package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/middleware"
)

// steppingClock advances by step on every call.
func steppingClock(step time.Duration) func() time.Time {
	now := testNow()
	return func() time.Time {
		now = now.Add(step)
		return now
	}
}

func TestLogger(t *testing.T) {
	var logs logBuffer
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "hello")
	})
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	})
	h := middleware.Chain(
		middleware.RequestID,
		middleware.ClientIP{}.Handler,
		middleware.LoggerWithOptions(middleware.LoggerOptions{Logger: logs.logger(), Now: steppingClock(25 * time.Millisecond)}),
	).Then(mux)

	req := httptest.NewRequest("GET", "/users/7?token=secret-query", nil)
	req.RemoteAddr = "192.0.2.10:5555"
	req.Header.Set("X-Request-Id", "rid-log")
	req.Header.Set("Authorization", "Bearer secret-token")
	req.Header.Set("Cookie", "session=secret-cookie")
	serve(h, req)
	req = httptest.NewRequest("GET", "/fail", nil)
	serve(h, req)

	lines := logs.lines(t)
	require.Len(t, lines, 2, "one line per request")
	want := map[string]any{
		"level": "INFO", "msg": "http request", "method": "GET", "route": "GET /users/{id}",
		"path": "/users/7", "status": float64(201), "bytes": float64(5),
		"duration": float64(25 * time.Millisecond), "requestId": "rid-log", "clientIp": "192.0.2.10",
	}
	for k, v := range want {
		assert.Equal(t, v, lines[0][k], "field %s", k)
	}
	assert.NotContains(t, logs.String(), "secret", "no header, cookie or query string is logged")
	assert.Equal(t, "ERROR", lines[1]["level"], "5xx logged as errors")
	assert.Equal(t, float64(502), lines[1]["status"], "status of the second request")
}

func TestLoggerDefaultsAndPanics(t *testing.T) {
	var logs logBuffer
	h := middleware.LoggerWithOptions(middleware.LoggerOptions{Logger: logs.logger()})(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	assert.Panics(t, func() { serve(h, httptest.NewRequest("GET", "/p", nil)) }, "Logger does not recover")
	lines := logs.lines(t)
	require.Len(t, lines, 1, "the aborted request is logged")
	assert.Equal(t, float64(500), lines[0]["status"], "an aborted request counts as 500")
	assert.Equal(t, true, lines[0]["aborted"], "and says so")

	logs = logBuffer{}
	h = middleware.LoggerWithOptions(middleware.LoggerOptions{Logger: logs.logger()})(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	serve(h, httptest.NewRequest("GET", "/empty", nil))
	lines = logs.lines(t)
	require.Len(t, lines, 1, "one line")
	assert.Equal(t, float64(200), lines[0]["status"], "a handler writing nothing is a 200")
	assert.Equal(t, float64(0), lines[0]["bytes"], "and no bytes")
	assert.Equal(t, "192.0.2.1", lines[0]["clientIp"], "client ip falls back to the peer address")
}

// TestLoggerRouteThroughDerivedRequests puts Logger outermost: the
// middleware between it and the mux derive new requests, and the route
// pattern still reaches the log.
func TestLoggerRouteThroughDerivedRequests(t *testing.T) {
	var logs logBuffer
	mux := http.NewServeMux()
	mux.HandleFunc("POST /items/{id}", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	h := middleware.Chain(
		middleware.LoggerWithOptions(middleware.LoggerOptions{Logger: logs.logger()}),
		middleware.RequestID,
		middleware.ClientIP{}.Handler,
		middleware.MaxBytes(1024),
		middleware.Timeout(time.Hour),
		auth.OptionalBearer(newVerifier()),
	).Then(mux)
	serve(h, httptest.NewRequest("POST", "/items/3", strings.NewReader("{}")))
	lines := logs.lines(t)
	require.Len(t, lines, 1, "one line")
	assert.Equal(t, "POST /items/{id}", lines[0]["route"], "the pattern set on the innermost request")
	assert.Equal(t, float64(204), lines[0]["status"], "status")
}
