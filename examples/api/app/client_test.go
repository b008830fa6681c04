package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"modernc.org/sqlite"

	"github.com/svckit/svckit/examples/api/app"
	"github.com/svckit/svckit/internal/testdb"
)

// Test credentials of the admin every test server starts with.
const (
	adminEmail    = "admin@example.com"
	adminPassword = "admin-password-1"
)

// server is one running instance of the service.
type server struct {
	URL     string
	App     *app.App
	Queries *atomic.Int64 // statements sent to the database; nil unless counted
	Client  *http.Client
	// ForwardedFor, when set, is sent as X-Forwarded-For unless the request
	// sets its own: with trustLoopback, the client IP the server sees.
	ForwardedFor string
}

// testConfig is a configuration for tests: cheap password hashing, a fixed
// secret, generous rate limits unless the test lowers them.
func testConfig() app.Config {
	return app.Config{
		JWTSecret:      []byte("test-secret-test-secret-test-secret!"),
		AdminEmail:     adminEmail,
		AdminPassword:  adminPassword,
		LoginRateLimit: app.Rate{Limit: 1000, Window: time.Minute},
		APIRateLimit:   app.Rate{Limit: 100000, Window: time.Minute},
		IPRateLimit:    app.Rate{Limit: 1000000, Window: time.Minute},
		// Tests register many users from 127.0.0.1; TestRegisterRateLimit
		// lowers it.
		RegisterRateLimit: app.Rate{Limit: 1000000, Window: time.Minute},
		Logger:            slog.New(slog.DiscardHandler),
		PasswordCost:      64,
	}
}

// start runs the service on a loopback port with cfg, closing it at cleanup.
func start(t testing.TB, cfg app.Config) *server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := app.New(ctx, cfg)
	require.NoError(t, err, "app.New must succeed")
	ts := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		ts.Close()
		require.NoError(t, a.Close(), "app.Close must succeed")
	})
	return &server{URL: ts.URL, App: a, Client: ts.Client()}
}

// startSQLite runs the service on a fresh SQLite file whose statements are
// counted.
func startSQLite(t testing.TB, edit func(*app.Config)) *server {
	t.Helper()
	path := t.TempDir() + "/api.db"
	var n atomic.Int64
	db := sql.OpenDB(countingConnector{dsn: app.SQLiteDSN(path), n: &n})
	db.SetMaxOpenConns(8) // as app.New does for an SQLite file
	t.Cleanup(func() { db.Close() })
	cfg := testConfig()
	cfg.DB = db
	cfg.Database = app.Database{Driver: "sqlite", Dialect: "sqlite"}
	if edit != nil {
		edit(&cfg)
	}
	s := start(t, cfg)
	s.Queries = &n
	return s
}

// startPostgresRedis runs the service on a fresh PostgreSQL schema and a
// Redis key prefix.
func startPostgresRedis(t testing.TB, db *testdb.DB, edit func(*app.Config)) *server {
	t.Helper()
	rdb, prefix := testdb.Redis(t)
	return startPostgresOn(t, db, rdb, prefix, edit)
}

// startPostgresRedisCluster runs the service on a fresh PostgreSQL schema
// and a key prefix on the Redis Cluster.
func startPostgresRedisCluster(t testing.TB, db *testdb.DB, edit func(*app.Config)) *server {
	t.Helper()
	rdb, prefix := testdb.RedisCluster(t)
	return startPostgresOn(t, db, rdb, prefix, edit)
}

func startPostgresOn(t testing.TB, db *testdb.DB, rdb redis.UniversalClient, prefix string, edit func(*app.Config)) *server {
	t.Helper()
	cfg := testConfig()
	cfg.DB = db.DB
	cfg.Database = app.Database{Driver: db.Driver, Dialect: db.Dialect}
	cfg.Redis = rdb
	cfg.RedisPrefix = prefix
	if edit != nil {
		edit(&cfg)
	}
	return start(t, cfg)
}

// trustLoopback makes X-Forwarded-For from the test client believed, so
// tests can act as many client IPs.
func trustLoopback(cfg *app.Config) {
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// response is a decoded reply of the service.
type response struct {
	Status int
	Header http.Header
	Raw    []byte
	Data   json.RawMessage
	Error  *struct {
		Code       string         `json:"code"`
		Message    string         `json:"message"`
		Details    map[string]any `json:"details"`
		Violations []struct {
			Location string `json:"location"`
			Reason   string `json:"reason"`
			Message  string `json:"message"`
		} `json:"violations"`
	}
	Meta struct {
		RequestID  string `json:"requestId"`
		Timestamp  string `json:"timestamp"`
		Pagination *struct {
			Page       int `json:"page"`
			PageSize   int `json:"pageSize"`
			Total      int `json:"total"`
			TotalPages int `json:"totalPages"`
		} `json:"pagination"`
		Cursor *struct {
			Next    *string `json:"next"`
			HasMore bool    `json:"hasMore"`
		} `json:"cursor"`
	}
}

// into decodes Data into v.
func (r *response) into(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Data, v), "data must decode: %s", r.Raw)
}

// code returns the error code, or "" for a success.
func (r *response) code() string {
	if r.Error == nil {
		return ""
	}
	return r.Error.Code
}

// req describes one request.
type req struct {
	Method, Path string
	Token        string
	Body         any               // marshalled to JSON unless it is a string or []byte
	Header       map[string]string // a value of "" removes the header
	// Chunked sends the body without a Content-Length.
	Chunked bool
}

// do sends rq and checks the rules every response follows: JSON content
// type, X-Request-Id equal to meta.requestId, an RFC 3339 timestamp, data
// xor error, and never a password hash.
func (s *server) do(t testing.TB, rq req) *response {
	t.Helper()
	var body io.Reader
	var sent []byte
	switch b := rq.Body.(type) {
	case nil:
	case string:
		sent = []byte(b)
	case []byte:
		sent = b
	default:
		raw, err := json.Marshal(b)
		require.NoError(t, err, "request body must marshal")
		sent = raw
	}
	if rq.Body != nil {
		body = bytes.NewReader(sent)
		if rq.Chunked {
			body = io.MultiReader(body) // a reader of unknown length
		}
	}
	hr, err := http.NewRequest(rq.Method, s.URL+rq.Path, body)
	require.NoError(t, err, "request must build")
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if rq.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+rq.Token)
	}
	if s.ForwardedFor != "" {
		hr.Header.Set("X-Forwarded-For", s.ForwardedFor)
	}
	for k, v := range rq.Header {
		if v == "" {
			hr.Header.Del(k) // "" sends no such header
			continue
		}
		hr.Header.Set(k, v)
	}
	res, err := s.Client.Do(hr)
	require.NoError(t, err, "%s %s must get a response", rq.Method, rq.Path)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err, "body must read")
	out := &response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	openAPICheck(t, hr, sent, res, raw)
	checkResponse(t, rq, out)
	return out
}

func checkResponse(t testing.TB, rq req, out *response) {
	t.Helper()
	where := rq.Method + " " + rq.Path
	require.NotEmpty(t, out.Header.Get("X-Request-Id"), "%s: every response has X-Request-Id", where)
	require.Less(t, out.Status, 500, "%s: no 5xx, got %d %s", where, out.Status, out.Raw)
	if out.Status == http.StatusNoContent {
		require.Empty(t, out.Raw, "%s: 204 has no body", where)
		return
	}
	if rq.Path == "/openapi.json" && out.Status == http.StatusOK {
		return // the document itself, not an envelope
	}
	require.True(t, strings.HasPrefix(out.Header.Get("Content-Type"), "application/json"), "%s: JSON content type, got %q", where, out.Header.Get("Content-Type"))
	var keys map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(out.Raw, &keys), "%s: body is a JSON object: %s", where, out.Raw)
	_, hasData := keys["data"]
	_, hasError := keys["error"]
	require.True(t, hasData != hasError, "%s: exactly one of data and error: %s", where, out.Raw)
	require.NoError(t, json.Unmarshal(out.Raw, &struct {
		Data  *json.RawMessage `json:"data"`
		Error any              `json:"error"`
		Meta  any              `json:"meta"`
	}{Data: &out.Data, Error: &out.Error, Meta: &out.Meta}), "%s: envelope decodes", where)
	require.Equal(t, out.Header.Get("X-Request-Id"), out.Meta.RequestID, "%s: meta.requestId equals the header", where)
	_, err := time.Parse(time.RFC3339, out.Meta.Timestamp)
	require.NoError(t, err, "%s: meta.timestamp is RFC 3339", where)
	for _, secret := range []string{"$argon2", "passwordHash", "password_hash", "$2a$", "$2b$"} {
		require.NotContains(t, string(out.Raw), secret, "%s: no password hash in a response", where)
	}
	if hasError {
		require.NotEmpty(t, out.Error.Code, "%s: error.code is set", where)
		require.NotEmpty(t, out.Error.Message, "%s: error.message is set", where)
	}
}

// expect sends rq and requires the status (and, for errors, the code).
func (s *server) expect(t testing.TB, rq req, status int, code string) *response {
	t.Helper()
	r := s.do(t, rq)
	require.Equal(t, status, r.Status, "%s %s: status, body %s", rq.Method, rq.Path, r.Raw)
	require.Equal(t, code, r.code(), "%s %s: error code", rq.Method, rq.Path)
	return r
}

// userView is a user as the API returns it.
type userView struct {
	ID        string        `json:"id"`
	Email     string        `json:"email"`
	Name      string        `json:"name"`
	Roles     []string      `json:"roles"`
	CreatedAt time.Time     `json:"createdAt"`
	UpdatedAt time.Time     `json:"updatedAt"`
	Accounts  []accountView `json:"accounts"`
}

type accountView struct {
	ID        string    `json:"id"`
	OwnerID   string    `json:"ownerId"`
	Currency  string    `json:"currency"`
	Balance   int64     `json:"balance"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

type transferView struct {
	ID            string    `json:"id"`
	FromAccountID string    `json:"fromAccountId"`
	ToAccountID   string    `json:"toAccountId"`
	Amount        int64     `json:"amount"`
	CreatedAt     time.Time `json:"createdAt"`
}

type tokenPair struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	TokenType    string `json:"tokenType"`
	ExpiresIn    int    `json:"expiresIn"`
}

// register creates a user and returns it.
func (s *server) register(t testing.TB, email, name string) userView {
	t.Helper()
	var u userView
	s.expect(t, req{Method: "POST", Path: "/v1/auth/register", Body: map[string]string{"email": email, "password": "password-" + name, "name": name}}, 201, "").into(t, &u)
	return u
}

// login returns a token pair for email, whose password register chose.
func (s *server) login(t testing.TB, email, password string) tokenPair {
	t.Helper()
	var p tokenPair
	s.expect(t, req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"email": email, "password": password}}, 200, "").into(t, &p)
	return p
}

// newUser registers and logs in a user named name.
func (s *server) newUser(t testing.TB, name string) (userView, string) {
	t.Helper()
	email := fmt.Sprintf("%s-%d@example.com", name, time.Now().UnixNano())
	u := s.register(t, email, name)
	return u, s.login(t, email, "password-"+name).AccessToken
}

// newAccount opens an account with currency and deposits amount into it.
func (s *server) newAccount(t testing.TB, token, currency string, amount int64) accountView {
	t.Helper()
	var a accountView
	s.expect(t, req{Method: "POST", Path: "/v1/accounts", Token: token, Body: map[string]string{"currency": currency}}, 201, "").into(t, &a)
	if amount > 0 {
		s.expect(t, req{Method: "POST", Path: "/v1/accounts/" + a.ID + "/deposits", Token: token, Body: map[string]int64{"amount": amount}}, 200, "").into(t, &a)
	}
	return a
}

// countingConnector opens modernc SQLite connections that count every
// statement, so tests can assert how many queries a request costs.
type countingConnector struct {
	dsn string
	n   *atomic.Int64
}

func (c countingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := (&sqlite.Driver{}).Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, n: c.n}, nil
}

func (c countingConnector) Driver() driver.Driver { return &sqlite.Driver{} }

type countingConn struct {
	driver.Conn
	n *atomic.Int64
}

func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.n.Add(1)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.n.Add(1)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.n.Add(1)
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

// jsonBody marshals v for a request body.
func jsonBody(t testing.TB, v any) io.Reader {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err, "body marshals")
	return bytes.NewReader(raw)
}
