package app_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/testdb"
)

// TestContractSQLite walks the whole HTTP contract on an SQLite file with
// in-memory cache and rate limits.
func TestContractSQLite(t *testing.T) {
	contract(t, startSQLite(t, nil))
}

// TestContractPostgresRedis walks the contract on PostgreSQL with Redis for
// the cache and the rate limits.
func TestContractPostgresRedis(t *testing.T) {
	contract(t, startPostgresRedis(t, testdb.Postgres(t), nil))
}

// TestContractPostgresRedisCluster walks the contract on PostgreSQL with a
// Redis Cluster for the cache and the rate limits.
func TestContractPostgresRedisCluster(t *testing.T) {
	contract(t, startPostgresRedisCluster(t, testdb.Postgres(t), nil))
}

// TestContractMySQL walks the contract on MySQL/MariaDB.
func TestContractMySQL(t *testing.T) {
	db := testdb.MySQL(t)
	cfg := testConfig()
	cfg.DB = db.DB
	cfg.Database.Dialect = db.Dialect
	contract(t, start(t, cfg))
}

// contract checks every row of the routes table and the errors common to all
// routes, in order, on one server.
func contract(t *testing.T, s *server) {
	admin := s.login(t, adminEmail, adminPassword).AccessToken

	t.Run("health", func(t *testing.T) {
		var h map[string]string
		s.expect(t, req{Method: "GET", Path: "/healthz"}, 200, "").into(t, &h)
		assert.Equal(t, "ok", h["status"], "healthz says ok")
		s.expect(t, req{Method: "GET", Path: "/readyz"}, 200, "")
	})

	t.Run("request id", func(t *testing.T) {
		for _, tc := range []struct {
			in   string
			kept bool
		}{
			{"abc-DEF_1.2", true},
			{strings.Repeat("a", 64), true},
			{strings.Repeat("a", 65), false},
			{"has space", false},
			{"semi;colon", false},
		} {
			r := s.do(t, req{Method: "GET", Path: "/healthz", Header: map[string]string{"X-Request-Id": tc.in}})
			got := r.Header.Get("X-Request-Id")
			if tc.kept {
				assert.Equal(t, tc.in, got, "a safe inbound id %q is kept", tc.in)
			} else {
				assert.NotEqual(t, tc.in, got, "an unsafe inbound id %q is replaced", tc.in)
			}
		}
		a := s.do(t, req{Method: "GET", Path: "/healthz"})
		b := s.do(t, req{Method: "GET", Path: "/healthz"})
		assert.NotEqual(t, a.Meta.RequestID, b.Meta.RequestID, "generated ids differ")
	})

	var alice, bob userView
	var aliceToken, bobToken string
	t.Run("register", func(t *testing.T) {
		r := s.expect(t, req{Method: "POST", Path: "/v1/auth/register", Body: map[string]string{"email": "Alice@Example.com", "password": "password-alice", "name": "Alice"}}, 201, "")
		r.into(t, &alice)
		assert.NotEmpty(t, alice.ID, "user has an id")
		assert.Equal(t, "Alice", alice.Name, "name is kept")
		assert.Equal(t, []string{"user"}, alice.Roles, "a new user has the role user")
		assert.False(t, alice.CreatedAt.IsZero(), "createdAt is set")
		assert.NotContains(t, string(r.Raw), "password", "no password field in a user")
		bob = s.register(t, "bob@example.com", "bob")

		s.expect(t, req{Method: "POST", Path: "/v1/auth/register", Body: map[string]string{"email": "ALICE@example.COM", "password": "password-other", "name": "Other"}}, 409, "CONFLICT")

		for _, tc := range []struct {
			name  string
			body  map[string]string
			field string
		}{
			{"bad email", map[string]string{"email": "not-an-email", "password": "password-x", "name": "X"}, "email"},
			{"short password", map[string]string{"email": "x1@example.com", "password": "short", "name": "X"}, "password"},
			{"long password", map[string]string{"email": "x2@example.com", "password": strings.Repeat("p", 73), "name": "X"}, "password"},
			{"empty name", map[string]string{"email": "x3@example.com", "password": "password-x", "name": ""}, "name"},
			{"long name", map[string]string{"email": "x4@example.com", "password": "password-x", "name": strings.Repeat("n", 101)}, "name"},
		} {
			r := s.expect(t, req{Method: "POST", Path: "/v1/auth/register", Body: tc.body}, 400, "VALIDATION_ERROR")
			assert.Contains(t, r.Error.Details, tc.field, "%s: details name the field", tc.name)
		}
		r = s.expect(t, req{Method: "POST", Path: "/v1/auth/register", Body: map[string]string{}}, 400, "VALIDATION_ERROR")
		assert.Len(t, r.Error.Details, 3, "every invalid field is reported at once")
		s.expect(t, req{Method: "POST", Path: "/v1/auth/register", Body: map[string]string{"email": "y@example.com", "password": strings.Repeat("p", 72), "name": strings.Repeat("é", 100)}}, 201, "")
	})

	t.Run("login", func(t *testing.T) {
		p := s.login(t, "alice@EXAMPLE.com", "password-alice")
		assert.Equal(t, "Bearer", p.TokenType, "tokenType is Bearer")
		assert.Positive(t, p.ExpiresIn, "expiresIn is positive")
		assert.NotEmpty(t, p.RefreshToken, "a refresh token is issued")
		aliceToken = p.AccessToken
		bobToken = s.login(t, "bob@example.com", "password-bob").AccessToken
		wrong := s.expect(t, req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": "alice@example.com", "password": "password-wrong"}}, 401, "UNAUTHORIZED")
		unknown := s.expect(t, req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": "nobody@example.com", "password": "password-wrong"}}, 401, "UNAUTHORIZED")
		assert.Equal(t, wrong.Error.Message, unknown.Error.Message, "one message for a wrong password and an unknown email")
	})

	t.Run("common errors", func(t *testing.T) {
		s.expect(t, req{Method: "POST", Path: "/v1/auth/login", Body: `{"email":`}, 400, "BAD_REQUEST")
		s.expect(t, req{Method: "POST", Path: "/v1/auth/login", Body: `{"email":"a@b.c","password":"x","extra":1}`}, 400, "BAD_REQUEST")
		s.expect(t, req{Method: "POST", Path: "/v1/auth/login", Body: `[1,2]`}, 400, "BAD_REQUEST")
		big := `{"email":"` + strings.Repeat("a", 1<<20) + `","password":"x"}`
		s.expect(t, req{Method: "POST", Path: "/v1/auth/login", Body: big}, 413, "PAYLOAD_TOO_LARGE")
		s.expect(t, req{Method: "POST", Path: "/v1/auth/login", Body: `{}`, Header: map[string]string{"Content-Type": "text/plain"}}, 415, "UNSUPPORTED_MEDIA_TYPE")
		s.expect(t, req{Method: "GET", Path: "/v1/nothing-here"}, 404, "NOT_FOUND")
		s.expect(t, req{Method: "GET", Path: "/"}, 404, "NOT_FOUND")
		r := s.expect(t, req{Method: "DELETE", Path: "/v1/auth/login"}, 405, "METHOD_NOT_ALLOWED")
		assert.Contains(t, r.Header.Get("Allow"), "POST", "405 lists the allowed methods")
		r = s.expect(t, req{Method: "PUT", Path: "/v1/users/" + alice.ID, Token: aliceToken}, 405, "METHOD_NOT_ALLOWED")
		assert.Contains(t, r.Header.Get("Allow"), "PATCH", "405 lists PATCH")
		assert.Contains(t, r.Header.Get("Allow"), "GET", "405 lists GET")
	})

	t.Run("401 and 403", func(t *testing.T) {
		for _, token := range []string{"", "garbage", "a.b.c"} {
			r := s.expect(t, req{Method: "GET", Path: "/v1/users/me", Token: token}, 401, "UNAUTHORIZED")
			assert.True(t, strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer"), "401 carries WWW-Authenticate: Bearer")
		}
		r := s.expect(t, req{Method: "GET", Path: "/v1/users/me", Header: map[string]string{"Authorization": "Basic YTpi"}}, 401, "UNAUTHORIZED")
		assert.True(t, strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer"), "a Basic header is a missing bearer token")
		s.expect(t, req{Method: "GET", Path: "/v1/users", Token: aliceToken}, 403, "FORBIDDEN")
		s.expect(t, req{Method: "GET", Path: "/v1/users"}, 401, "UNAUTHORIZED")
	})

	t.Run("users", func(t *testing.T) {
		var me userView
		s.expect(t, req{Method: "GET", Path: "/v1/users/me", Token: aliceToken}, 200, "").into(t, &me)
		assert.Equal(t, alice.ID, me.ID, "/me is the caller")
		var got userView
		var other map[string]any
		s.expect(t, req{Method: "GET", Path: "/v1/users/" + bob.ID, Token: aliceToken}, 200, "").into(t, &other)
		assert.Equal(t, map[string]any{"id": bob.ID, "name": bob.Name}, other, "another user sees only id and name")
		s.expect(t, req{Method: "GET", Path: "/v1/users/" + bob.ID, Token: bobToken}, 200, "").into(t, &got)
		assert.Equal(t, bob.Email, got.Email, "the user sees the whole user")
		got = userView{}
		s.expect(t, req{Method: "GET", Path: "/v1/users/" + bob.ID, Token: admin}, 200, "").into(t, &got)
		assert.Equal(t, bob.Email, got.Email, "an admin sees the whole user")
		assert.NotEmpty(t, got.Roles, "an admin sees the roles")
		for range 2 {
			s.expect(t, req{Method: "GET", Path: "/v1/users/usr_missing", Token: aliceToken}, 404, "NOT_FOUND")
		}

		s.expect(t, req{Method: "PATCH", Path: "/v1/users/" + alice.ID, Token: aliceToken, Body: map[string]string{"name": "Alice Cooper"}}, 200, "").into(t, &got)
		assert.Equal(t, "Alice Cooper", got.Name, "PATCH returns the change")
		s.expect(t, req{Method: "GET", Path: "/v1/users/" + alice.ID, Token: aliceToken}, 200, "").into(t, &got)
		assert.Equal(t, "Alice Cooper", got.Name, "the next GET shows the change")
		assert.False(t, got.UpdatedAt.Before(got.CreatedAt), "updatedAt is not before createdAt")

		s.expect(t, req{Method: "PATCH", Path: "/v1/users/" + alice.ID, Token: bobToken, Body: map[string]string{"name": "Mallory"}}, 403, "FORBIDDEN")
		s.expect(t, req{Method: "PATCH", Path: "/v1/users/" + alice.ID, Token: aliceToken, Body: map[string]string{"name": ""}}, 400, "VALIDATION_ERROR")
		s.expect(t, req{Method: "PATCH", Path: "/v1/users/" + alice.ID, Token: aliceToken, Body: map[string]any{"name": nil}}, 400, "VALIDATION_ERROR")
		s.expect(t, req{Method: "PATCH", Path: "/v1/users/" + alice.ID, Token: aliceToken, Body: map[string]string{"email": "x@y.z"}}, 400, "BAD_REQUEST")
		s.expect(t, req{Method: "PATCH", Path: "/v1/users/" + bob.ID, Token: admin, Body: map[string]string{"name": "Robert"}}, 200, "").into(t, &got)
		assert.Equal(t, "Robert", got.Name, "an admin may rename anyone")
		s.expect(t, req{Method: "PATCH", Path: "/v1/users/usr_missing", Token: admin, Body: map[string]string{"name": "Nobody"}}, 404, "NOT_FOUND")
	})

	t.Run("list users", func(t *testing.T) { listUsers(t, s, admin) })

	var aliceUSD, aliceEUR, bobUSD accountView
	t.Run("accounts", func(t *testing.T) {
		for _, c := range []string{"usd", "US", "USDX", "U$D", ""} {
			s.expect(t, req{Method: "POST", Path: "/v1/accounts", Token: aliceToken, Body: map[string]string{"currency": c}}, 400, "VALIDATION_ERROR")
		}
		s.expect(t, req{Method: "POST", Path: "/v1/accounts", Body: map[string]string{"currency": "USD"}}, 401, "UNAUTHORIZED")
		s.expect(t, req{Method: "POST", Path: "/v1/accounts", Token: aliceToken, Body: map[string]string{"currency": "USD"}}, 201, "").into(t, &aliceUSD)
		assert.Equal(t, int64(0), aliceUSD.Balance, "a new account is empty")
		assert.Equal(t, alice.ID, aliceUSD.OwnerID, "the caller owns the account")
		aliceEUR = s.newAccount(t, aliceToken, "EUR", 0)
		bobUSD = s.newAccount(t, bobToken, "USD", 0)

		var got accountView
		s.expect(t, req{Method: "GET", Path: "/v1/accounts/" + aliceUSD.ID, Token: aliceToken}, 200, "").into(t, &got)
		assert.Equal(t, aliceUSD.ID, got.ID, "the owner reads the account")
		s.expect(t, req{Method: "GET", Path: "/v1/accounts/" + aliceUSD.ID, Token: admin}, 200, "")
		s.expect(t, req{Method: "GET", Path: "/v1/accounts/" + aliceUSD.ID, Token: bobToken}, 403, "FORBIDDEN")
		s.expect(t, req{Method: "GET", Path: "/v1/accounts/acc_missing", Token: bobToken}, 404, "NOT_FOUND")

		for _, amount := range []int64{0, -5, 100_000_001} {
			s.expect(t, req{Method: "POST", Path: "/v1/accounts/" + aliceUSD.ID + "/deposits", Token: aliceToken, Body: map[string]int64{"amount": amount}}, 400, "VALIDATION_ERROR")
		}
		s.expect(t, req{Method: "POST", Path: "/v1/accounts/" + aliceUSD.ID + "/deposits", Token: aliceToken, Body: `{"amount":1.5}`}, 400, "BAD_REQUEST")
		s.expect(t, req{Method: "POST", Path: "/v1/accounts/" + aliceUSD.ID + "/deposits", Token: aliceToken, Body: map[string]int64{"amount": 100_000_000}}, 200, "").into(t, &got)
		assert.Equal(t, int64(100_000_000), got.Balance, "the maximum deposit is accepted")
		s.expect(t, req{Method: "POST", Path: "/v1/accounts/" + aliceUSD.ID + "/deposits", Token: bobToken, Body: map[string]int64{"amount": 5}}, 403, "FORBIDDEN")
		s.expect(t, req{Method: "POST", Path: "/v1/accounts/acc_missing/deposits", Token: bobToken, Body: map[string]int64{"amount": 5}}, 404, "NOT_FOUND")
		s.expect(t, req{Method: "POST", Path: "/v1/accounts/" + aliceEUR.ID + "/deposits", Token: admin, Body: map[string]int64{"amount": 700}}, 200, "").into(t, &got)
		assert.Equal(t, int64(700), got.Balance, "an admin may deposit")
	})

	t.Run("own accounts", func(t *testing.T) {
		var mine []accountView
		r := s.expect(t, req{Method: "GET", Path: "/v1/accounts", Token: aliceToken}, 200, "")
		r.into(t, &mine)
		require.Len(t, mine, 2, "alice lists her two accounts and nobody else's")
		assert.Equal(t, []string{aliceEUR.ID, aliceUSD.ID}, []string{mine[0].ID, mine[1].ID}, "newest first")
		require.NotNil(t, r.Meta.Cursor, "cursor pages")
		assert.False(t, r.Meta.Cursor.HasMore, "one page holds both")

		// One per page, walked to the end.
		r = s.expect(t, req{Method: "GET", Path: "/v1/accounts?limit=1", Token: aliceToken}, 200, "")
		r.into(t, &mine)
		require.Len(t, mine, 1, "limit=1")
		assert.Equal(t, aliceEUR.ID, mine[0].ID, "the newest first")
		require.NotNil(t, r.Meta.Cursor.Next, "a next cursor")
		next := *r.Meta.Cursor.Next
		r = s.expect(t, req{Method: "GET", Path: "/v1/accounts?limit=1&cursor=" + next, Token: aliceToken}, 200, "")
		r.into(t, &mine)
		require.Len(t, mine, 1, "the second page")
		assert.Equal(t, aliceUSD.ID, mine[0].ID, "then the older")
		assert.Nil(t, r.Meta.Cursor.Next, "the last page")

		s.expect(t, req{Method: "GET", Path: "/v1/accounts", Token: bobToken}, 200, "").into(t, &mine)
		assert.Equal(t, []string{bobUSD.ID}, []string{mine[0].ID}, "bob sees his own")
		s.expect(t, req{Method: "GET", Path: "/v1/accounts", Token: admin}, 200, "").into(t, &mine)
		assert.Empty(t, mine, "an admin lists only their own accounts here, none")
		s.expect(t, req{Method: "GET", Path: "/v1/accounts"}, 401, "UNAUTHORIZED")
		s.expect(t, req{Method: "GET", Path: "/v1/accounts?limit=0", Token: aliceToken}, 400, "BAD_REQUEST")
		tampered := next[:len(next)-2] + flip(next[len(next)-2:])
		s.expect(t, req{Method: "GET", Path: "/v1/accounts?limit=1&cursor=" + tampered, Token: aliceToken}, 400, "BAD_REQUEST")
	})

	t.Run("include accounts", func(t *testing.T) {
		var users []userView
		before := s.queries()
		s.expect(t, req{Method: "GET", Path: "/v1/users?pageSize=100", Token: admin}, 200, "")
		plain := s.queries() - before
		before = s.queries()
		s.expect(t, req{Method: "GET", Path: "/v1/users?pageSize=100&include=accounts", Token: admin}, 200, "").into(t, &users)
		with := s.queries() - before
		if s.Queries != nil {
			assert.Equal(t, plain+1, with, "include=accounts costs one extra query in all")
		}
		byID := map[string]userView{}
		for _, u := range users {
			byID[u.ID] = u
		}
		assert.Len(t, byID[alice.ID].Accounts, 2, "alice's accounts are embedded")
		assert.Len(t, byID[bob.ID].Accounts, 1, "bob's account is embedded")
		s.expect(t, req{Method: "GET", Path: "/v1/users?include=passwords", Token: admin}, 400, "BAD_REQUEST")
	})

	t.Run("transfers", func(t *testing.T) {
		transfers(t, s, admin, aliceToken, bobToken, aliceUSD, aliceEUR, bobUSD)
	})

	t.Run("refresh and logout", func(t *testing.T) { refreshAndLogout(t, s) })
}

// queries returns the statements counted so far, or 0 when not counted.
func (s *server) queries() int64 {
	if s.Queries == nil {
		return 0
	}
	return s.Queries.Load()
}

func listUsers(t *testing.T, s *server, admin string) {
	for i := range 5 {
		s.register(t, fmt.Sprintf("list-%d@example.com", i), fmt.Sprintf("Lister %c", 'E'-i))
	}
	var all []userView
	r := s.expect(t, req{Method: "GET", Path: "/v1/users", Token: admin}, 200, "")
	r.into(t, &all)
	require.NotNil(t, r.Meta.Pagination, "offset mode reports meta.pagination")
	total := r.Meta.Pagination.Total
	assert.Equal(t, len(all), total, "the first page holds everyone at the default size")
	assert.Equal(t, 1, r.Meta.Pagination.Page, "page defaults to 1")
	assert.Equal(t, 20, r.Meta.Pagination.PageSize, "pageSize defaults to 20")

	var page []userView
	r = s.expect(t, req{Method: "GET", Path: "/v1/users?page=2&pageSize=3&orderBy=email&orderDir=asc", Token: admin}, 200, "")
	r.into(t, &page)
	assert.Equal(t, 2, r.Meta.Pagination.Page, "page 2")
	assert.Equal(t, 3, r.Meta.Pagination.PageSize, "pageSize 3")
	assert.Equal(t, total, r.Meta.Pagination.Total, "total counts every user")
	assert.Equal(t, (total+2)/3, r.Meta.Pagination.TotalPages, "totalPages rounds up")
	emails := make([]string, 0, len(all))
	for _, u := range all {
		emails = append(emails, strings.ToLower(u.Email))
	}
	sort.Strings(emails)
	require.Len(t, page, 3, "a full page")
	assert.Equal(t, emails[3:6], []string{strings.ToLower(page[0].Email), strings.ToLower(page[1].Email), strings.ToLower(page[2].Email)}, "page 2 of emails ascending")

	for _, q := range []string{"page=0", "page=x", "pageSize=0", "pageSize=101", "orderBy=password_hash", "orderBy=id%3Bdrop", "orderBy=id", "orderDir=up", "limit=0", "limit=101"} {
		r := s.do(t, req{Method: "GET", Path: "/v1/users?" + q, Token: admin})
		assert.Equal(t, 400, r.Status, "%s is refused", q)
		assert.Contains(t, []string{"BAD_REQUEST", "VALIDATION_ERROR"}, r.code(), "%s is a client error", q)
	}

	// Cursor mode, newest first, walked to the end.
	var seen []string
	path := "/v1/users?limit=2&orderBy=createdAt&orderDir=desc"
	var last *response
	for range 50 {
		var items []userView
		last = s.expect(t, req{Method: "GET", Path: path, Token: admin}, 200, "")
		last.into(t, &items)
		require.NotNil(t, last.Meta.Cursor, "cursor mode reports meta.cursor")
		assert.Nil(t, last.Meta.Pagination, "cursor mode has no offset pagination")
		for _, u := range items {
			seen = append(seen, u.ID)
		}
		if !last.Meta.Cursor.HasMore {
			break
		}
		require.NotNil(t, last.Meta.Cursor.Next, "hasMore comes with a next cursor")
		path = "/v1/users?limit=2&orderBy=createdAt&orderDir=desc&cursor=" + *last.Meta.Cursor.Next
	}
	assert.Nil(t, last.Meta.Cursor.Next, "next is null on the last page")
	assert.Contains(t, string(last.Raw), `"next":null`, "next is written as null")
	assert.Len(t, seen, total, "the cursor walk sees every user once")
	for i := range seen {
		assert.Equal(t, all[len(all)-1-i].ID, seen[i], "newest first is the reverse of the default order")
	}

	r = s.expect(t, req{Method: "GET", Path: "/v1/users?limit=2&orderBy=name", Token: admin}, 200, "")
	require.NotNil(t, r.Meta.Cursor.Next, "a first page has a next cursor")
	next := *r.Meta.Cursor.Next
	tampered := next[:len(next)-2] + flip(next[len(next)-2:])
	s.expect(t, req{Method: "GET", Path: "/v1/users?limit=2&orderBy=name&cursor=" + tampered, Token: admin}, 400, "BAD_REQUEST")
	s.expect(t, req{Method: "GET", Path: "/v1/users?limit=2&orderBy=name&cursor=not-a-cursor", Token: admin}, 400, "BAD_REQUEST")
	s.expect(t, req{Method: "GET", Path: "/v1/users?limit=2&orderBy=email&cursor=" + next, Token: admin}, 400, "BAD_REQUEST")
}

// flip changes the characters of s into others of the base64url alphabet.
func flip(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

func refreshAndLogout(t *testing.T, s *server) {
	s.register(t, "carol@example.com", "carol")
	first := s.login(t, "carol@example.com", "password-carol")

	var second tokenPair
	s.expect(t, req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refreshToken": first.RefreshToken}}, 200, "").into(t, &second)
	assert.NotEqual(t, first.RefreshToken, second.RefreshToken, "refresh issues a new refresh token")
	assert.Equal(t, "Bearer", second.TokenType, "a refreshed pair is a Bearer pair")
	s.expect(t, req{Method: "GET", Path: "/v1/users/me", Token: second.AccessToken}, 200, "")

	s.expect(t, req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refreshToken": first.RefreshToken}}, 401, "UNAUTHORIZED")
	s.expect(t, req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refreshToken": second.RefreshToken}}, 401, "UNAUTHORIZED")

	s.expect(t, req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refreshToken": "garbage"}}, 401, "UNAUTHORIZED")
	s.expect(t, req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refreshToken": second.AccessToken}}, 401, "UNAUTHORIZED")
	s.expect(t, req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{}}, 400, "VALIDATION_ERROR")

	third := s.login(t, "carol@example.com", "password-carol")
	r := s.do(t, req{Method: "POST", Path: "/v1/auth/logout", Body: map[string]string{"refreshToken": third.RefreshToken}})
	assert.Equal(t, http.StatusNoContent, r.Status, "logout is 204")
	s.expect(t, req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refreshToken": third.RefreshToken}}, 401, "UNAUTHORIZED")
	s.expect(t, req{Method: "POST", Path: "/v1/auth/logout", Body: map[string]string{"refreshToken": "garbage"}}, 401, "UNAUTHORIZED")
	s.expect(t, req{Method: "POST", Path: "/v1/auth/logout", Body: map[string]string{"refreshToken": third.AccessToken}}, 401, "UNAUTHORIZED")
}
