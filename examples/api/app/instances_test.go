package app_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
	"github.com/svckit/svckit/internal/testdb"
)

// TestTwoInstances runs two instances on two ports, each with its own
// database pool and Redis client, sharing one PostgreSQL schema and one
// Redis key prefix, as two replicas behind a load balancer would: on one
// Redis server and on a Redis Cluster (REDIS_URL in its redis+cluster form).
func TestTwoInstances(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		_, prefix := testdb.Redis(t)
		twoInstances(t, testdb.RedisURL(t), prefix)
	})
	t.Run("redis-cluster", func(t *testing.T) {
		_, prefix := testdb.RedisCluster(t)
		raw := testdb.RedisClusterURL(t)
		_, rest, _ := strings.Cut(raw, "://")
		twoInstances(t, "redis+cluster://"+rest, prefix)
	})
}

func twoInstances(t *testing.T, redisURL, prefix string) {
	db := testdb.Postgres(t)
	instance := func() *server {
		pool, err := sql.Open(db.Driver, db.DSN)
		require.NoError(t, err, "a second pool opens")
		t.Cleanup(func() { pool.Close() })
		cfg := testConfig()
		cfg.DB = pool
		cfg.Database = app.Database{Driver: db.Driver, Dialect: db.Dialect}
		cfg.RedisURL = redisURL
		cfg.RedisPrefix = prefix
		cfg.LoginRateLimit = app.Rate{Limit: 3, Window: time.Hour}
		trustLoopback(&cfg)
		return start(t, cfg)
	}
	a, b := instance(), instance()
	a.ForwardedFor, b.ForwardedFor = "10.0.0.1", "10.0.0.2"
	xff := map[string]string{"X-Forwarded-For": "203.0.113.9"}
	require.NotEqual(t, a.URL, b.URL, "two ports")

	t.Run("a change on one is seen on the other at once", func(t *testing.T) {
		u := a.register(t, "henry@example.com", "henry")
		token := a.login(t, "henry@example.com", "password-henry").AccessToken
		var got userView
		b.expect(t, req{Method: "GET", Path: "/v1/users/" + u.ID, Token: token}, 200, "").into(t, &got)
		require.Equal(t, "henry", got.Name, "b caches the user")
		a.expect(t, req{Method: "PATCH", Path: "/v1/users/" + u.ID, Token: token, Body: map[string]string{"name": "Henry V"}}, 200, "")
		b.expect(t, req{Method: "GET", Path: "/v1/users/" + u.ID, Token: token}, 200, "").into(t, &got)
		assert.Equal(t, "Henry V", got.Name, "b serves the change made on a")

		// A user created on a after b cached its id as missing is not
		// hidden for long: registration drops the placeholder.
		b.expect(t, req{Method: "GET", Path: "/v1/users/me", Token: token}, 200, "")
	})

	t.Run("the login limit is shared", func(t *testing.T) {
		// One client address trying several accounts, alternating
		// instances: the per-address limit (3) is one budget.
		body := func(i int) map[string]string {
			return map[string]string{"email": fmt.Sprintf("nobody-%d@example.com", i), "password": "password-x"}
		}
		a.expect(t, req{Method: "POST", Path: "/v1/auth/login", Body: body(1), Header: xff}, 401, "UNAUTHORIZED")
		b.expect(t, req{Method: "POST", Path: "/v1/auth/login", Body: body(2), Header: xff}, 401, "UNAUTHORIZED")
		a.expect(t, req{Method: "POST", Path: "/v1/auth/login", Body: body(3), Header: xff}, 401, "UNAUTHORIZED")
		r := b.expect(t, req{Method: "POST", Path: "/v1/auth/login", Body: body(4), Header: xff}, 429, "RATE_LIMITED")
		assert.NotEmpty(t, r.Header.Get("Retry-After"), "429 carries Retry-After")
	})

	t.Run("a refresh token replayed on the other instance revokes the family", func(t *testing.T) {
		a.register(t, "iris@example.com", "iris")
		first := b.login(t, "iris@example.com", "password-iris")
		var second tokenPair
		a.expect(t, req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refreshToken": first.RefreshToken}}, 200, "").into(t, &second)
		b.expect(t, req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refreshToken": first.RefreshToken}}, 401, "UNAUTHORIZED")
		a.expect(t, req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refreshToken": second.RefreshToken}}, 401, "UNAUTHORIZED")
	})

	t.Run("transfers on both instances conserve money", func(t *testing.T) {
		_, ta := a.newUser(t, "jack")
		_, tb := b.newUser(t, "kate")
		ja := a.newAccount(t, ta, "USD", 1000)
		kb := b.newAccount(t, tb, "USD", 1000)
		a.expect(t, req{Method: "POST", Path: "/v1/transfers", Token: ta, Body: map[string]any{"fromAccountId": ja.ID, "toAccountId": kb.ID, "amount": 300}, Header: map[string]string{"Idempotency-Key": "k"}}, 201, "")
		r := b.expect(t, req{Method: "POST", Path: "/v1/transfers", Token: ta, Body: map[string]any{"fromAccountId": ja.ID, "toAccountId": kb.ID, "amount": 300}, Header: map[string]string{"Idempotency-Key": "k"}}, 201, "")
		assert.Equal(t, "true", r.Header.Get("Idempotent-Replayed"), "the retry on the other instance is a replay")
		assert.Equal(t, int64(700), b.balance(t, ta, ja.ID), "money moved once")
		assert.Equal(t, int64(1300), a.balance(t, tb, kb.ID), "money moved once")
	})
}
