package middleware_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/middleware"
	"github.com/svckit/svckit/ratelimit"
	"github.com/svckit/svckit/ratelimit/redisstore"
)

// newAPI builds a service the way an application would: a router-wide
// chain, then per-route auth and rate limits.
func newAPI(t *testing.T, logs *logBuffer, apiLimiter *ratelimit.Limiter) http.Handler {
	t.Helper()
	v := newVerifier()
	ip := middleware.ClientIP{TrustedProxies: mustProxies(t, "127.0.0.0/8, ::1")}
	loginLimit := middleware.RateLimitWithOptions(middleware.RateLimitOptions{
		Limiter: ratelimit.New(ratelimit.Limit{Rate: 2, Period: time.Hour}, nil),
		Policy:  "login",
	})
	api := middleware.Chain(auth.Bearer(v), middleware.RateLimit(apiLimiter, middleware.KeyByUser))

	mux := http.NewServeMux()
	mux.Handle("POST /login", loginLimit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			_ = envelope.WriteError(w, r, err)
			return
		}
		_ = envelope.Write(w, r, http.StatusOK, map[string]int{"read": len(body)}, nil)
	})))
	mux.Handle("GET /me", api.ThenFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := auth.ClaimsFrom(r.Context())
		_ = envelope.Write(w, r, http.StatusOK, map[string]string{"sub": c.Subject}, nil)
	}))
	mux.Handle("GET /admin", api.Append(auth.RequireRole("admin")).ThenFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = envelope.Write(w, r, http.StatusOK, "welcome", nil)
	}))
	mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("handler bug") })
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })

	return middleware.Chain(
		middleware.RequestID,
		middleware.RecoverWithOptions(middleware.RecoverOptions{Logger: logs.logger()}),
		ip.Handler,
		middleware.LoggerWithOptions(middleware.LoggerOptions{Logger: logs.logger()}),
		middleware.SecurityHeaders,
		middleware.MaxBytes(64),
		timeoutFor("/slow", 5*time.Millisecond),
	).Then(mux)
}

// timeoutFor applies a short Timeout on one path only.
func timeoutFor(path string, d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		short := middleware.Timeout(d)(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == path {
				short.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

type call struct {
	method, path, token, body, xff string
}

func do(t *testing.T, srv *httptest.Server, c call) (*http.Response, envelopeBody) {
	t.Helper()
	req, err := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
	require.NoError(t, err, "build request")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.xff != "" {
		req.Header.Set("X-Forwarded-For", c.xff)
	}
	res, err := srv.Client().Do(req)
	require.NoError(t, err, "%s %s", c.method, c.path)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err, "read body")
	var e envelopeBody
	if len(b) > 0 {
		require.NoError(t, json.Unmarshal(b, &e), "envelope body: %s", b)
	}
	return res, e
}

func TestAllTogether(t *testing.T) {
	var logs logBuffer
	limiter := ratelimit.New(ratelimit.Limit{Rate: 3, Period: time.Hour}, nil)
	srv := httptest.NewServer(newAPI(t, &logs, limiter))
	defer srv.Close()

	user := validToken(t, "u1", "user")
	admin := validToken(t, "a1", "admin")
	tests := []struct {
		name   string
		call   call
		status int
		code   string
	}{
		{"me", call{"GET", "/me", user, "", ""}, 200, ""},
		{"me without token", call{"GET", "/me", "", "", ""}, 401, "UNAUTHORIZED"},
		{"admin as user", call{"GET", "/admin", user, "", ""}, 403, "FORBIDDEN"},
		{"admin as admin", call{"GET", "/admin", admin, "", ""}, 200, ""},
		{"me again", call{"GET", "/me", user, "", ""}, 200, ""},
		{"user budget spent", call{"GET", "/me", user, "", ""}, 429, "RATE_LIMITED"},
		{"admin has its own budget", call{"GET", "/admin", admin, "", ""}, 200, ""},
		{"panic", call{"GET", "/panic", "", "", ""}, 500, "INTERNAL_ERROR"},
		{"slow", call{"GET", "/slow", "", "", ""}, 504, "TIMEOUT"},
		{"body too large", call{"POST", "/login", "", strings.Repeat("x", 65), "198.51.100.1"}, 413, "PAYLOAD_TOO_LARGE"},
		{"login 1 from client A", call{"POST", "/login", "", "{}", "198.51.100.1"}, 200, ""},
		{"login 2 from client A", call{"POST", "/login", "", "{}", "198.51.100.1"}, 200, ""},
		{"login 3 from client A", call{"POST", "/login", "", "{}", "198.51.100.1"}, 429, "RATE_LIMITED"},
		{"login from client B through the proxy", call{"POST", "/login", "", "{}", "198.51.100.2"}, 200, ""},
	}
	for _, tt := range tests {
		res, e := do(t, srv, tt.call)
		require.Equal(t, tt.status, res.StatusCode, "%s: status", tt.name)
		id := res.Header.Get("X-Request-Id")
		assert.Regexp(t, uuidV7, id, "%s: request id", tt.name)
		assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), "%s: security headers", tt.name)
		if tt.code != "" {
			require.NotNil(t, e.Error, "%s: error envelope", tt.name)
			assert.Equal(t, tt.code, e.Error.Code, "%s: code", tt.name)
			assert.Equal(t, id, e.Meta.RequestID, "%s: meta.requestId is the header", tt.name)
		}
		if tt.call.path == "/me" || tt.call.path == "/admin" {
			if tt.status != 401 {
				assert.Equal(t, `"default";q=3;w=3600`, res.Header.Get("RateLimit-Policy"), "%s: policy", tt.name)
				assert.NotEmpty(t, res.Header.Get("RateLimit"), "%s: quota", tt.name)
			}
		}
		if tt.status == 429 {
			assert.NotEmpty(t, res.Header.Get("Retry-After"), "%s: Retry-After", tt.name)
		}
		if tt.status == 401 {
			assert.Equal(t, "Bearer", res.Header.Get("WWW-Authenticate"), "%s: challenge", tt.name)
		}
	}

	lines := logs.lines(t)
	var access, panics int
	clients := map[any]bool{}
	for _, l := range lines {
		switch l["msg"] {
		case "http request":
			access++
			clients[l["clientIp"]] = true
		case "middleware: panic recovered":
			panics++
		}
	}
	assert.Equal(t, len(tests), access, "one access line per request")
	assert.Equal(t, map[any]bool{"127.0.0.1": true, "198.51.100.1": true, "198.51.100.2": true}, clients,
		"the forwarded client behind the trusted proxy is logged")
	assert.Equal(t, 1, panics, "one panic line")
	assert.NotContains(t, logs.String(), user, "tokens never reach the logs")
	routes := map[string]bool{}
	for _, l := range lines {
		if r, ok := l["route"].(string); ok {
			routes[r] = true
		}
	}
	assert.True(t, routes["GET /me"], "route patterns are logged: %v", routes)
	assert.True(t, routes["POST /login"], "also behind middleware that derive requests: %v", routes)
}

// TestSharedRedisBudget runs two instances of the service on one Redis and
// 200 concurrent clients: together they serve exactly one budget.
func TestSharedRedisBudget(t *testing.T) {
	client, prefix := testdb.Redis(t)
	limit := ratelimit.Limit{Rate: 100, Period: time.Hour}
	var logs logBuffer
	var servers []*httptest.Server
	for range 2 {
		// A generous deadline: this test is about one budget shared by
		// two instances, not about how a slow Redis is handled (that is
		// redisstore's own tests), and 200 concurrent decisions on a
		// loaded machine under -race can outlive the 50 ms default.
		l := ratelimit.New(limit, redisstore.New(client, redisstore.Options{Prefix: prefix, Timeout: 5 * time.Second}))
		srv := httptest.NewServer(newAPI(t, &logs, l))
		defer srv.Close()
		servers = append(servers, srv)
	}
	token := validToken(t, "shared-user")
	var ok, limited atomic.Int64
	var wg sync.WaitGroup
	for i := range 200 {
		srv := servers[i%2]
		wg.Go(func() {
			req, _ := http.NewRequest("GET", srv.URL+"/me", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Errorf("request: %v", err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			switch res.StatusCode {
			case http.StatusOK:
				ok.Add(1)
			case http.StatusTooManyRequests:
				limited.Add(1)
			}
		})
	}
	wg.Wait()
	assert.InDelta(t, 100, ok.Load(), 1, "two instances serve one budget, ±1 at an interval boundary")
	assert.Equal(t, int64(200), ok.Load()+limited.Load(), "every other request is limited")
}
