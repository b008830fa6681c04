package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/overload"
)

// TestShed: with the overload limit full, a /v1 request waits its queue
// time (half the request deadline) and is answered 503 UNAVAILABLE with Retry-After before any
// authentication or database work, and counted in /metrics, while /healthz,
// /readyz, /metrics and CORS preflights (which the CORS middleware answers
// with no work behind them, and which a browser needs to send the write
// they ask about) are never shed.
func TestShed(t *testing.T) {
	a, err := New(context.Background(), Config{
		Database:     Database{Driver: "sqlite", Dialect: "sqlite", DSN: SQLiteDSN(t.TempDir() + "/shed.db")},
		JWTSecret:    []byte("shed-secret-shed-secret-shed-secret-sh"),
		Logger:       slog.New(slog.DiscardHandler),
		PasswordCost: 64,
		// The queue wait is half of it: 500 ms between the queue's 503 and
		// the deadline's 504, so a goroutine scheduled late on a busy
		// machine still meets the queue's end first.
		RequestTimeout: time.Second,
		CORSOrigins:    []string{"https://app.example"},
	})
	require.NoError(t, err, "New")
	defer a.Close()
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()

	// Fill the limit: writes may hold all of it.
	var held []overload.Permit
	for range a.shed.Limit() {
		p, err := a.shed.Acquire(context.Background(), overload.Write)
		require.NoError(t, err)
		held = append(held, p)
	}
	defer func() {
		for _, p := range held {
			p.Release()
		}
	}()

	preflight := http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"POST"}}
	for _, tt := range []struct {
		method, path string
		header       http.Header
		status       int
	}{
		{http.MethodGet, "/v1/users/me", nil, http.StatusServiceUnavailable}, // no token: shed before the 401
		{http.MethodPost, "/v1/transfers", nil, http.StatusServiceUnavailable},
		{http.MethodOptions, "/v1/transfers", preflight, http.StatusNoContent},
		{http.MethodOptions, "/v1/users/me", http.Header{"Origin": {"https://app.example"}}, http.StatusServiceUnavailable}, // not a preflight: a read
		{http.MethodGet, "/healthz", nil, http.StatusOK},
		{http.MethodGet, "/readyz", nil, http.StatusOK},
		{http.MethodGet, "/metrics", nil, http.StatusOK},
	} {
		var reqBody io.Reader = strings.NewReader("{}")
		if tt.method == http.MethodOptions {
			reqBody = nil
		}
		req, err := http.NewRequest(tt.method, srv.URL+tt.path, reqBody)
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		for k, v := range tt.header {
			req.Header[k] = v
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err, "%s %s", tt.method, tt.path)
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, tt.status, res.StatusCode, "%s %s: %s", tt.method, tt.path, raw)
		if tt.header.Get("Access-Control-Request-Method") != "" {
			assert.Equal(t, "https://app.example", res.Header.Get("Access-Control-Allow-Origin"), "the preflight's answer")
		}
		if tt.status != http.StatusServiceUnavailable {
			continue
		}
		assert.Equal(t, "1", res.Header.Get("Retry-After"), "Retry-After")
		assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), "the security headers of every response")
		var body struct {
			Error struct{ Code string }      `json:"error"`
			Meta  struct{ RequestID string } `json:"meta"`
		}
		require.NoError(t, json.Unmarshal(raw, &body), "the envelope")
		assert.Equal(t, "UNAVAILABLE", body.Error.Code)
		assert.Equal(t, res.Header.Get("X-Request-Id"), body.Meta.RequestID, "a shed request has its request id")
	}

	res, err := http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`svckit_overload_shed_total{`, `svckit_overload_limit{`, `svckit_overload_inflight{`} {
		assert.Contains(t, string(raw), want, "/metrics exposes the overload metrics")
	}
	assert.Regexp(t, `svckit_overload_shed_total\{[^}]*svckit_overload_class="read"[^}]*\} 2`, string(raw), "two shed reads: the GET and the OPTIONS that is no preflight")
	assert.Regexp(t, `svckit_overload_shed_total\{[^}]*svckit_overload_class="write"[^}]*\} 1`, string(raw), "one shed write")
}
