package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/middleware"
	"github.com/svckit/svckit/operation"
)

// requestPath builds the service's chain for GET /v1/users/{id} as routes
// builds it: the outer middleware, envelope.Routes over one ServeMux, the
// /v1 chain and the role check, in front of an operation that answers from
// the path alone (no database), so the figures are the request path's
// own. It returns the handler and a bearer token that passes it.
func requestPath(tb testing.TB) (http.Handler, string) {
	tb.Helper()
	limit := Rate{Limit: 1 << 30, Window: time.Second} // never the limit's answer
	a, err := New(context.Background(), Config{
		Database:     Database{Driver: "sqlite", Dialect: "sqlite", DSN: SQLiteDSN(tb.TempDir() + "/path.db")},
		JWTSecret:    []byte("path-secret-path-secret-path-secret!"),
		Logger:       slog.New(slog.DiscardHandler),
		PasswordCost: 64,
		IPRateLimit:  limit,
		APIRateLimit: limit,
	})
	require.NoError(tb, err, "New")
	tb.Cleanup(func() { _ = a.Close() })
	pair, err := a.tokens.Issue(context.Background(), auth.User{ID: "0190a4c2-7d2e-7000-8000-000000000001", Roles: []string{RoleUser}})
	require.NoError(tb, err, "Issue")

	doc := newAPI()
	op := v1(operation.Operation{Method: "GET", Path: "/v1/users/{id}", ID: "getUser", Bearer: true,
		Responses: []operation.Response{{Status: http.StatusOK, Data: PublicUser{}}}})
	mux := http.NewServeMux()
	mux.Handle(op.Pattern(), a.apiChain().Then(middleware.RequireRole()(operation.Handle(doc, op,
		func(_ context.Context, in userID) (PublicUser, error) { return PublicUser{ID: in.ID, Name: "ada"}, nil }))))
	return a.outer(envelope.Routes(mux)), pair.AccessToken
}

// discard is a ResponseWriter that keeps the status and forgets the body.
type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(s int)           { d.status = s }

// BenchmarkRequestPath is one authenticated GET /v1/users/{id} through the
// service's whole chain (see requestPath): time and allocations of the
// request path, the handler's own work aside.
func BenchmarkRequestPath(b *testing.B) {
	h, token := requestPath(b)
	r := httptest.NewRequest("GET", "/v1/users/0190a4c2-7d2e-7000-8000-000000000001", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	r.Header.Set("Authorization", "Bearer "+token)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		r.Pattern = "" // what the mux may have left on it
		clear(w.h)
		w.status = 0
		h.ServeHTTP(w, r)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}
