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

}

// TestLoginThrottle checks both sides of the login throttle (README, "Rate
// limits"): an attacker is slowed, from one address or many, and the owner,
// from an address of their own, still logs in. LOGIN_RATE_LIMIT is 4 an
// hour: 2 per (email, address), 8 per email, then 1 per (email, address).
func TestLoginThrottle(t *testing.T) {
	s := startSQLite(t, func(cfg *app.Config) {
		cfg.LoginRateLimit = app.Rate{Limit: 4, Window: time.Hour}
		trustLoopback(cfg)
	})
	s.register(t, "victim@example.com", "victim")
	s.register(t, "other@example.com", "other")
	login := func(ip, email, password string) *response {
		return s.do(t, req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": email, "password": password}, Header: map[string]string{"X-Forwarded-For": ip}})
	}
	type attempt struct {
		ip, email, password string
		status              int
		// item is the RateLimit item a 429 must carry: the refusing policy.
		item string
	}
	steps := []struct {
		name     string
		attempts []attempt
	}{
		{"one address on one account: two guesses, then refused", []attempt{
			{"192.0.2.10", "victim@example.com", "guess-1", 401, ""},
			{"192.0.2.10", "Victim@Example.com", "guess-2", 401, ""},
			{"192.0.2.10", "victim@example.com", "guess-3", 429, `"login-pair";r=0;`},
		}},
		{"the same address may still try another account, within its own limit", []attempt{
			{"192.0.2.10", "other@example.com", "guess-1", 401, ""},
		}},
		{"the owner from their own address is not locked out", []attempt{
			{"198.51.100.1", "victim@example.com", "password-victim", 200, ""},
		}},
		{"many addresses spend the account's budget (8 in all)", []attempt{
			{"203.0.113.1", "victim@example.com", "guess", 401, ""},
			{"203.0.113.2", "victim@example.com", "guess", 401, ""},
			{"203.0.113.3", "victim@example.com", "guess", 401, ""},
			{"203.0.113.4", "victim@example.com", "guess", 401, ""},
			{"203.0.113.5", "victim@example.com", "guess", 401, ""},
		}},
		{"under attack, each address gets one attempt", []attempt{
			{"203.0.113.6", "victim@example.com", "guess", 401, ""},
			{"203.0.113.6", "victim@example.com", "guess", 429, `"login-slow";r=0;`},
			{"203.0.113.7", "victim@example.com", "guess", 401, ""},
			{"203.0.113.7", "victim@example.com", "guess", 429, `"login-slow";r=0;`},
		}},
		{"under attack, the owner from another address still logs in", []attempt{
			{"198.51.100.2", "victim@example.com", "password-victim", 200, ""},
		}},
		{"an attack on one account leaves the others alone", []attempt{
			{"198.51.100.3", "other@example.com", "guess", 401, ""},
			{"198.51.100.3", "other@example.com", "password-other", 200, ""},
		}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			for i, a := range step.attempts {
				r := login(a.ip, a.email, a.password)
				require.Equal(t, a.status, r.Status, "attempt %d from %s: %s", i, a.ip, r.Raw)
				if a.status != 429 {
					continue
				}
				assert.Equal(t, "RATE_LIMITED", r.code(), "attempt %d: code RATE_LIMITED", i)
				requireRetryAfter(t, r, time.Hour)
				var refusing string
				for _, item := range r.Header.Values("RateLimit") {
					if strings.HasPrefix(item, a.item) {
						refusing = item
					}
					assert.NotContains(t, item, "login-email", "attempt %d: the per-email count is never sent", i)
				}
				require.NotEmpty(t, refusing, "attempt %d: the refusing policy %s is named: %q", i, a.item, r.Header.Values("RateLimit"))
				assert.Equal(t, refusing[len(a.item)+len("t="):], r.Header.Get("Retry-After"),
					"attempt %d: Retry-After equals the refusing policy's effective window", i)
			}
		})
	}
	t.Run("an email that cannot be valid spends only the address's budget", func(t *testing.T) {
		huge := strings.Repeat("x", 100_000) + "@example.com"
		for i, email := range []string{"not-an-email", huge, "\u212Aate@example.com", huge} {
			r := login("192.0.2.99", email, "guess")
			require.Equal(t, 401, r.Status, "attempt %d is judged: %s", i, r.Raw)
		}
		r := login("192.0.2.99", "not-an-email", "guess")
		require.Equal(t, 429, r.Status, "the address's budget is spent: %s", r.Raw)
		assert.Equal(t, []string{`"login";r=0;t=` + r.Header.Get("Retry-After")}, r.Header.Values("RateLimit"), "refused by the address's limit alone")
	})
}

// TestInvalidTokenFloodLimited checks that requests with a made-up bearer
// token spend from the client IP's budget before the token is verified:
// past IP_RATE_LIMIT they are refused 429, not answered 401 for free.
func TestInvalidTokenFloodLimited(t *testing.T) {
	const limit = 5
	s := startSQLite(t, func(cfg *app.Config) {
		cfg.IPRateLimit = app.Rate{Limit: limit, Window: time.Hour}
		trustLoopback(cfg)
	})
	get := func(ip string) *response {
		return s.do(t, req{Method: "GET", Path: "/v1/users/me", Token: "not.a.token", Header: map[string]string{"X-Forwarded-For": ip}})
	}
	for i := range limit {
		r := get("192.0.2.50")
		require.Equal(t, 401, r.Status, "request %d within the limit is verified and refused: %s", i, r.Raw)
		assert.Contains(t, r.Header.Values("RateLimit-Policy"), `"ip";q=5;w=3600`, "request %d: the IP policy is sent", i)
	}
	r := get("192.0.2.50")
	require.Equal(t, 429, r.Status, "past the limit, refused before verification: %s", r.Raw)
	assert.Equal(t, "RATE_LIMITED", r.code(), "code RATE_LIMITED")
	assert.Empty(t, r.Header.Get("WWW-Authenticate"), "the token was never looked at")
	requireRetryAfter(t, r, time.Hour)
	assert.Equal(t, 401, get("192.0.2.51").Status, "another address has its own budget")
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
	// item returns the RateLimit item of policy "api".
	item := func(r *response) string {
		for _, v := range r.Header.Values("RateLimit") {
			if strings.HasPrefix(v, `"api";`) {
				return v
			}
		}
		return ""
	}
	for i := range limit {
		r := s.expect(t, req{Method: "GET", Path: "/v1/users/me", Token: token}, 200, "")
		assert.Contains(t, r.Header.Values("RateLimit-Policy"), `"api";q=5;w=3600`, "request %d: policy", i)
		assert.Equal(t, fmt.Sprintf(`"api";r=%d;t=720`, limit-1-i), item(r), "request %d: quota left, one more every 12 minutes", i)
	}
	r := s.expect(t, req{Method: "GET", Path: "/v1/users/me", Token: token}, 429, "RATE_LIMITED")
	requireRetryAfter(t, r, time.Hour)
	assert.Contains(t, r.Header.Values("RateLimit-Policy"), `"api";q=5;w=3600`, "429 carries the policy")
	assert.Equal(t, `"api";r=0;t=`+r.Header.Get("Retry-After"), item(r), "429 says no quota is left until Retry-After")

	// Another user has a budget of their own; anonymous calls use the IP's.
	_, other := s.newUser(t, "grace")
	s.expect(t, req{Method: "GET", Path: "/v1/users/me", Token: other}, 200, "")
	s.expect(t, req{Method: "GET", Path: "/healthz"}, 200, "")
}

// TestRegisterRateLimit (issue 27, unclear item b): registration, which
// costs a password hash, has its own budget per client address
// (REGISTER_RATE_LIMIT, policy "register"), far below the per-IP rate of
// the API, so a flood of registrations is refused before it can slow the
// logins that share the hashing; logins from the same address keep their
// own budget.
func TestRegisterRateLimit(t *testing.T) {
	s := startSQLite(t, func(cfg *app.Config) {
		cfg.RegisterRateLimit = app.Rate{Limit: 3, Window: time.Hour}
		trustLoopback(cfg)
	})
	s.register(t, "old@example.com", "old")
	const flood = "192.0.2.66"
	register := func(i int, ip string) *response {
		return s.do(t, req{Method: "POST", Path: "/v1/auth/register", Header: map[string]string{"X-Forwarded-For": ip},
			Body: map[string]string{"email": fmt.Sprintf("flood%d@example.com", i), "password": "password-flood", "name": "Flood"}})
	}
	for i := range 3 {
		r := register(i, flood)
		require.Equal(t, 201, r.Status, "registration %d within the budget: %s", i, r.Raw)
	}
	r := register(3, flood)
	require.Equal(t, 429, r.Status, "past the budget: %s", r.Raw)
	assert.Equal(t, "RATE_LIMITED", r.code(), "code")
	assert.Contains(t, r.Header.Values("RateLimit"), `"register";r=0;t=1200`, "the refusing policy")
	assert.Contains(t, r.Header.Values("RateLimit-Policy"), `"register";q=3;w=3600`, "the policy")
	assert.NotEmpty(t, r.Header.Get("Retry-After"), "Retry-After")

	login := s.do(t, req{Method: "POST", Path: "/v1/auth/login", Header: map[string]string{"X-Forwarded-For": flood},
		Body: map[string]string{"email": "old@example.com", "password": "password-old"}})
	assert.Equal(t, 200, login.Status, "a login from the flooding address is not refused: %s", login.Raw)
	other := register(4, "198.51.100.9")
	assert.Equal(t, 201, other.Status, "another address registers: %s", other.Raw)

	cfg, _, err := app.FromEnv(func(k string) string { return map[string]string{"REGISTER_RATE_LIMIT": "7/30s"}[k] })
	require.NoError(t, err, "FromEnv")
	assert.Equal(t, app.Rate{Limit: 7, Window: 30 * time.Second}, cfg.RegisterRateLimit, "REGISTER_RATE_LIMIT")
	cfg, _, err = app.FromEnv(func(string) string { return "" })
	require.NoError(t, err, "FromEnv")
	assert.Equal(t, app.Rate{Limit: 10, Window: time.Minute}, cfg.RegisterRateLimit, "the default")
	_, _, err = app.FromEnv(func(k string) string { return map[string]string{"REGISTER_RATE_LIMIT": "lots"}[k] })
	assert.ErrorIs(t, err, app.ErrConfig, "a bad rate is refused")
}
