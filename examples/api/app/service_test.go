package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
)

// recorder collects the events of an app.
type recorder struct {
	mu     sync.Mutex
	events []app.Event
}

func (r *recorder) add(_ context.Context, e app.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.Name)
	}
	return out
}

func TestEventsAfterCommit(t *testing.T) {
	s := startSQLite(t, nil)
	s.runEvents(t)
	var rec recorder
	s.App.Events().Subscribe(rec.add)
	// The admin New created emits its user.created too: wait for it first.
	require.Eventually(t, func() bool { return len(rec.names()) == 1 }, 30*time.Second, time.Millisecond, "the admin's user.created")
	rec.mu.Lock()
	rec.events = nil
	rec.mu.Unlock()

	u, token := s.newUser(t, "lena")
	require.Eventually(t, func() bool { return len(rec.names()) == 1 }, 30*time.Second, time.Millisecond, "the event arrives after the commit")
	require.Equal(t, []string{app.EventUserCreated}, rec.names(), "registering emits user.created")
	assert.Equal(t, u.ID, rec.events[0].Payload["userId"], "the event names the user")

	s.expect(t, req{Method: "POST", Path: "/v1/auth/register", Body: map[string]string{"email": u.Email, "password": "password-x", "name": "Dup"}}, 409, "CONFLICT")
	from := s.newAccount(t, token, "USD", 100)
	to := s.newAccount(t, token, "USD", 0)
	transfer := func(amount int) *response {
		return s.do(t, req{Method: "POST", Path: "/v1/transfers", Token: token, Body: map[string]any{"fromAccountId": from.ID, "toAccountId": to.ID, "amount": amount}})
	}
	require.Equal(t, 422, transfer(1000).Status, "too much is refused")
	var tr transferView
	r := transfer(40)
	require.Equal(t, 201, r.Status, "the transfer goes through: %s", r.Raw)
	r.into(t, &tr)
	require.Eventually(t, func() bool { return len(rec.names()) >= 2 }, 30*time.Second, time.Millisecond)
	require.Equal(t, []string{app.EventUserCreated, app.EventTransferCompleted}, rec.names(),
		"a transfer emits transfer.completed; the rolled-back registration and the refused transfer emit nothing")
	rec.mu.Lock()
	assert.Equal(t, tr.ID, rec.events[1].Payload["transferId"], "the event names the transfer")
	rec.mu.Unlock()
}

func TestUserCache(t *testing.T) {
	s := startSQLite(t, nil)
	u, token := s.newUser(t, "mona")
	get := func(id string, status int) int64 {
		before := s.queries()
		s.expect(t, req{Method: "GET", Path: "/v1/users/" + id, Token: token}, status, map[int]string{200: "", 404: "NOT_FOUND"}[status])
		return s.queries() - before
	}
	get(u.ID, 200)
	assert.Zero(t, get(u.ID, 200), "a cached user costs no query")
	assert.Equal(t, int64(1), get("01900000-0000-7000-8000-000000000000", 404), "a missing user is looked up once")
	assert.Zero(t, get("01900000-0000-7000-8000-000000000000", 404), "then the answer is cached")

	s.expect(t, req{Method: "PATCH", Path: "/v1/users/" + u.ID, Token: token, Body: map[string]string{"name": "Mona Lisa"}}, 200, "")
	var got userView
	before := s.queries()
	s.expect(t, req{Method: "GET", Path: "/v1/users/" + u.ID, Token: token}, 200, "").into(t, &got)
	assert.Equal(t, "Mona Lisa", got.Name, "the update invalidated the cached copy")
	assert.Equal(t, int64(1), s.queries()-before, "the GET after an update reloads once")
}

func TestReadyzUnavailable(t *testing.T) {
	db, err := sql.Open("sqlite", app.SQLiteDSN(t.TempDir()+"/ready.db"))
	require.NoError(t, err, "open")
	cfg := testConfig()
	cfg.DB = db
	cfg.Database = app.Database{Dialect: "sqlite"}
	s := start(t, cfg)
	s.expect(t, req{Method: "GET", Path: "/readyz"}, 200, "")
	require.NoError(t, db.Close(), "the database goes away")

	res, err := http.Get(s.URL + "/readyz")
	require.NoError(t, err, "GET /readyz")
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "readyz is 503 without a database")
	var body struct {
		Error struct{ Code, Message string }
	}
	require.NoError(t, json.Unmarshal(raw, &body), "an envelope: %s", raw)
	assert.Equal(t, "UNAVAILABLE", body.Error.Code, "code UNAVAILABLE")
	assert.NotContains(t, string(raw), "sql", "no driver text reaches the client")
	s.expect(t, req{Method: "GET", Path: "/healthz"}, 200, "")
}

func TestProblemJSON(t *testing.T) {
	s := startSQLite(t, nil)
	r, err := http.NewRequest("GET", s.URL+"/v1/users/me", nil)
	require.NoError(t, err, "request")
	r.Header.Set("Accept", "application/problem+json")
	res, err := http.DefaultClient.Do(r)
	require.NoError(t, err, "GET")
	defer res.Body.Close()
	assert.Equal(t, 401, res.StatusCode, "401 without a token")
	assert.Equal(t, "application/problem+json", res.Header.Get("Content-Type"), "problem+json when asked for")
}

func TestMemoryDatabaseAndRestart(t *testing.T) {
	ctx := context.Background()
	db, err := app.ParseDatabaseURL("sqlite://:memory:")
	require.NoError(t, err, "sqlite://:memory: parses")
	cfg := testConfig()
	cfg.Database = db
	a, err := app.New(ctx, cfg)
	require.NoError(t, err, "New on :memory:")
	srv := httptest.NewServer(a.Handler())
	res, err := http.Post(srv.URL+"/v1/auth/login", "application/json", jsonBody(t, map[string]string{"email": adminEmail, "password": adminPassword}))
	require.NoError(t, err, "login")
	res.Body.Close()
	assert.Equal(t, 200, res.StatusCode, "the admin exists in the in-memory database")
	srv.Close()
	require.NoError(t, a.Close(), "Close")

	// Starting twice on one database applies the migrations once and
	// keeps the admin.
	file := t.TempDir() + "/twice.db"
	for i := range 2 {
		cfg := testConfig()
		cfg.Database = app.Database{Driver: "sqlite", Dialect: "sqlite", DSN: app.SQLiteDSN(file)}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		a, err := app.New(ctx, cfg)
		cancel()
		require.NoError(t, err, "start %d", i+1)
		require.NoError(t, a.Close(), "close %d", i+1)
	}
}

func TestNewFails(t *testing.T) {
	valid := func() app.Config {
		cfg := testConfig()
		cfg.Database = app.Database{Driver: "sqlite", Dialect: "sqlite", DSN: app.SQLiteDSN(t.TempDir() + "/new.db")}
		return cfg
	}
	for _, tc := range []struct {
		name   string
		edit   func(*app.Config)
		config bool // the error wraps ErrConfig
	}{
		{"unknown dialect", func(c *app.Config) { c.Database.Dialect = "oracle" }, true},
		{"short secret", func(c *app.Config) { c.JWTSecret = []byte("short") }, true},
		{"bad redis url", func(c *app.Config) { c.RedisURL = "http://nope" }, true},
		{"unreachable database", func(c *app.Config) {
			c.Database = app.Database{Driver: "pgx", Dialect: "postgres", DSN: "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid()
			tc.edit(&cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a, err := app.New(ctx, cfg)
			require.Error(t, err, "New refuses the configuration")
			assert.Nil(t, a, "no app on error")
			if tc.config {
				assert.ErrorIs(t, err, app.ErrConfig, "a configuration error wraps ErrConfig")
			}
		})
	}
}
