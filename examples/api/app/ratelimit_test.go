package app_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
)

// requireRetryAfter checks a 429's Retry-After: whole seconds, at least 1,
// at most the window.
func requireRetryAfter(t *testing.T, r *response, window time.Duration) {
	t.Helper()
	n, err := strconv.Atoi(r.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After is whole seconds: %q", r.Header.Get("Retry-After"))
	assert.GreaterOrEqual(t, n, 1, "Retry-After is at least 1 s")
	assert.LessOrEqual(t, n, int(window.Seconds()), "Retry-After is within the window")
}

func TestLoginRateLimit(t *testing.T) {
	const limit = 3
	s := startSQLite(t, func(cfg *app.Config) {
		cfg.LoginRateLimit = app.Rate{Limit: limit, Window: time.Hour}
		trustLoopback(cfg)
	})
	s.register(t, "dave@example.com", "dave")
	login := func(ip, email, password string) *response {
		return s.do(t, req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": email, "password": password}, Header: map[string]string{"X-Forwarded-For": ip}})
	}

	t.Run("per client IP", func(t *testing.T) {
		for i := range limit {
			r := login("192.0.2.1", fmt.Sprintf("nobody-%d@example.com", i), "password-x")
			require.Equal(t, 401, r.Status, "attempt %d within the limit is judged: %s", i, r.Raw)
		}
		r := login("192.0.2.1", "other@example.com", "password-x")
		require.Equal(t, 429, r.Status, "one address past the limit is refused, whatever the email: %s", r.Raw)
		assert.Equal(t, "RATE_LIMITED", r.code(), "code RATE_LIMITED")
		requireRetryAfter(t, r, time.Hour)
		assert.NotEmpty(t, r.Header.Get("RateLimit-Policy"), "RateLimit-Policy is sent")
		assert.NotEmpty(t, r.Header.Get("RateLimit"), "RateLimit is sent")
		// The right password does not get through either.
		assert.Equal(t, 429, login("192.0.2.1", "dave@example.com", "password-dave").Status, "the limit comes before the password check")
		// Another address is not affected.
		assert.Equal(t, 200, login("192.0.2.2", "dave@example.com", "password-dave").Status, "another address may log in")
	})

	t.Run("per email", func(t *testing.T) {
		for i := range limit {
			r := login(fmt.Sprintf("198.51.100.%d", i+1), "Erin@example.com", "password-x")
			require.Equal(t, 401, r.Status, "attempt %d within the limit is judged: %s", i, r.Raw)
		}
		r := login("198.51.100.99", "erin@EXAMPLE.com", "password-x")
		require.Equal(t, 429, r.Status, "one email past the limit is refused from any address: %s", r.Raw)
		assert.Equal(t, "RATE_LIMITED", r.code(), "code RATE_LIMITED")
		requireRetryAfter(t, r, time.Hour)
	})
}

func TestAPIRateLimit(t *testing.T) {
	const limit = 5
	s := startSQLite(t, func(cfg *app.Config) {
		cfg.APIRateLimit = app.Rate{Limit: limit, Window: time.Hour}
	})
	// Registration and login spend from the client IP's budget, the calls
	// with a token from the user's. An hour's window regains one request
	// every 12 minutes, so no refill can happen while the test runs.
	_, token := s.newUser(t, "frank")
	for i := range limit {
		r := s.expect(t, req{Method: "GET", Path: "/v1/users/me", Token: token}, 200, "")
		assert.Equal(t, `"api";q=5;w=3600`, r.Header.Get("RateLimit-Policy"), "request %d: policy", i)
		assert.True(t, strings.HasPrefix(r.Header.Get("RateLimit"), `"api";r=`), "request %d: quota left: %q", i, r.Header.Get("RateLimit"))
	}
	r := s.expect(t, req{Method: "GET", Path: "/v1/users/me", Token: token}, 429, "RATE_LIMITED")
	requireRetryAfter(t, r, time.Hour)
	assert.Equal(t, `"api";q=5;w=3600`, r.Header.Get("RateLimit-Policy"), "429 carries the policy")
	assert.True(t, strings.HasPrefix(r.Header.Get("RateLimit"), `"api";r=0;`), "429 says no quota is left: %q", r.Header.Get("RateLimit"))

	// Another user has a budget of their own; anonymous calls use the IP's.
	_, other := s.newUser(t, "grace")
	s.expect(t, req{Method: "GET", Path: "/v1/users/me", Token: other}, 200, "")
	s.expect(t, req{Method: "GET", Path: "/healthz"}, 200, "")
}
