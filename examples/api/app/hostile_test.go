package app_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
	"github.com/svckit/svckit/internal/testdb"
)

// hostile sends the input that issue 19 found answered wrongly and checks
// that every engine gives the same 4xx: NUL and invalid UTF-8 in bodies and
// path ids, duplicate and case-folded JSON names, query strings that do not
// parse.
func hostile(t *testing.T, s *server) {
	u, token := s.newUser(t, "hostile")
	acc := s.newAccount(t, token, "EUR", 100)
	tests := []struct {
		name   string
		rq     req
		status int
		code   string
		detail map[string]any // expected entries of error.details
	}{
		{"NUL in a name", req{Method: "PATCH", Path: "/v1/users/" + u.ID, Token: token, Body: `{"name":"a\u0000b"}`}, 400, "BAD_REQUEST", map[string]any{"field": "name"}},
		{"invalid UTF-8 in a name", req{Method: "PATCH", Path: "/v1/users/" + u.ID, Token: token, Body: "{\"name\":\"a\xffb\"}"}, 400, "BAD_REQUEST", map[string]any{"field": "name"}},
		{"lone surrogate in a name", req{Method: "PATCH", Path: "/v1/users/" + u.ID, Token: token, Body: `{"name":"\udc00"}`}, 400, "BAD_REQUEST", map[string]any{"field": "name"}},
		{"NUL in a path id", req{Method: "GET", Path: "/v1/users/a%00b", Token: token}, 400, "BAD_REQUEST", map[string]any{"param": "id"}},
		{"%ff path id", req{Method: "GET", Path: "/v1/accounts/%ff", Token: token}, 400, "BAD_REQUEST", map[string]any{"param": "id"}},
		{"%c3%28 path id", req{Method: "POST", Path: "/v1/accounts/%c3%28/deposits", Token: token, Body: `{"amount":1}`}, 400, "BAD_REQUEST", map[string]any{"param": "id"}},
		{"NUL path id on transfers", req{Method: "GET", Path: "/v1/accounts/%00/transfers", Token: token}, 400, "BAD_REQUEST", map[string]any{"param": "id"}},
		{"duplicate name", req{Method: "POST", Path: "/v1/accounts/" + acc.ID + "/deposits", Token: token, Body: `{"amount":1,"amount":2}`}, 400, "BAD_REQUEST", map[string]any{"field": "amount"}},
		{"name differing by case", req{Method: "POST", Path: "/v1/accounts/" + acc.ID + "/deposits", Token: token, Body: `{"AMOUNT":2}`}, 400, "BAD_REQUEST", map[string]any{"field": "AMOUNT"}},
		{"semicolon in the query", req{Method: "GET", Path: "/v1/accounts/" + acc.ID + "/transfers?limit=1;cursor=x", Token: token}, 400, "BAD_REQUEST", map[string]any{"param": "limit"}},
		{"bad escape in the query", req{Method: "GET", Path: "/v1/accounts/" + acc.ID + "/transfers?cursor=%zz", Token: token}, 400, "BAD_REQUEST", map[string]any{"param": "cursor"}},
		{"NUL in the query", req{Method: "GET", Path: "/v1/accounts/" + acc.ID + "/transfers?cursor=%00", Token: token}, 400, "BAD_REQUEST", map[string]any{"param": "cursor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.expect(t, tt.rq, tt.status, tt.code)
			for k, v := range tt.detail {
				assert.Equal(t, v, r.Error.Details[k], "details.%s", k)
			}
		})
	}
	var got accountView
	s.expect(t, req{Method: "GET", Path: "/v1/accounts/" + acc.ID, Token: token}, 200, "").into(t, &got)
	assert.Equal(t, int64(100), got.Balance, "no refused deposit moved money")
}

func TestHostileInputSQLite(t *testing.T) { hostile(t, startSQLite(t, nil)) }

func TestHostileInputPostgres(t *testing.T) {
	hostile(t, startPostgresRedis(t, testdb.Postgres(t), nil))
}

func TestHostileInputMySQL(t *testing.T) {
	db := testdb.MySQL(t)
	cfg := testConfig()
	cfg.DB = db.DB
	cfg.Database.Dialect = db.Dialect
	hostile(t, start(t, cfg))
}

// TestReplayedRefusal (issue 19 item 10): a refusal replayed for an
// Idempotency-Key carries Idempotent-Replayed like a replayed success; a
// first answer does not.
func TestReplayedRefusal(t *testing.T) {
	s := startSQLite(t, nil)
	_, token := s.newUser(t, "replayer")
	from := s.newAccount(t, token, "USD", 5)
	to := s.newAccount(t, token, "USD", 0)
	body := map[string]any{"fromAccountId": from.ID, "toAccountId": to.ID, "amount": 10}
	tests := []struct {
		name     string
		key      string
		replayed string
	}{
		{"first refusal", "refuse-1", ""},
		{"replayed refusal", "refuse-1", "true"},
		{"again", "refuse-1", "true"},
		{"no key", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rq := req{Method: "POST", Path: "/v1/transfers", Token: token, Body: body}
			if tt.key != "" {
				rq.Header = map[string]string{"Idempotency-Key": tt.key}
			}
			r := s.expect(t, rq, 422, "INSUFFICIENT_FUNDS")
			assert.Equal(t, tt.replayed, r.Header.Get("Idempotent-Replayed"), "Idempotent-Replayed")
		})
	}
	r := s.expect(t, req{Method: "POST", Path: "/v1/transfers", Token: token, Body: body, Header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}}, 400, "BAD_REQUEST")
	require.NotNil(t, r.Error, "a bad key is refused by idempotency.Key.Validate")
}

// TestSecurityHeaders: every response carries middleware.SecurityHeaders.
func TestSecurityHeaders(t *testing.T) {
	s := startSQLite(t, nil)
	for _, rq := range []req{{Method: "GET", Path: "/healthz"}, {Method: "GET", Path: "/nope"}, {Method: "GET", Path: "/v1/users/me"}} {
		r := s.do(t, rq)
		assert.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"), "%s nosniff", rq.Path)
		assert.Equal(t, "DENY", r.Header.Get("X-Frame-Options"), "%s frame options", rq.Path)
	}
}

// TestQuietRegister (issue 19 item 10): with QuietRegister the route
// answers a new and a taken email alike; without it, 201 and 409.
func TestQuietRegister(t *testing.T) {
	tests := []struct {
		name          string
		quiet         bool
		first, second int
		secondCode    string
	}{
		{"revealing (default)", false, 201, 409, "CONFLICT"},
		{"quiet", true, 202, 202, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSQLite(t, func(c *app.Config) { c.QuietRegister = tt.quiet })
			body := map[string]string{"email": "kim@example.com", "password": "password-1", "name": "Kim"}
			first := s.expect(t, req{Method: "POST", Path: "/v1/auth/register", Body: body}, tt.first, "")
			other := map[string]string{"email": "KIM@example.com", "password": "password-2", "name": "Squatter"}
			second := s.expect(t, req{Method: "POST", Path: "/v1/auth/register", Body: other}, tt.second, tt.secondCode)
			if tt.quiet {
				assert.JSONEq(t, string(first.Data), string(second.Data), "a taken email gets the same answer as a new one")
				assert.JSONEq(t, `{"status":"accepted"}`, string(first.Data), "no user in the answer")
			}
			s.expect(t, req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": "kim@example.com", "password": "password-1"}}, 200, "")
			s.expect(t, req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": "kim@example.com", "password": "password-2"}}, 401, "UNAUTHORIZED")
		})
	}
}

// TestIDsThatCannotBeValid (issue 19 item 3): an id that is no UUID is
// answered 404 without reaching the cache, and is not echoed back.
func TestIDsThatCannotBeValid(t *testing.T) {
	s := startSQLite(t, nil)
	_, token := s.newUser(t, "prober")
	acc := s.newAccount(t, token, "EUR", 10)
	long := strings.Repeat("x", 100_000)
	tests := []struct {
		name string
		rq   req
	}{
		{"long user id", req{Method: "GET", Path: "/v1/users/" + long, Token: token}},
		{"long account id", req{Method: "GET", Path: "/v1/accounts/" + long, Token: token}},
		{"long deposit id", req{Method: "POST", Path: "/v1/accounts/" + long + "/deposits", Token: token, Body: `{"amount":1}`}},
		{"long transfer target", req{Method: "POST", Path: "/v1/transfers", Token: token, Body: `{"fromAccountId":"` + acc.ID + `","toAccountId":"` + long + `","amount":1}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.expect(t, tt.rq, 404, "NOT_FOUND")
			assert.Less(t, len(r.Raw), 1000, "the id is not echoed: %d bytes", len(r.Raw))
		})
	}
}
