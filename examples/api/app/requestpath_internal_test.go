package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
// own. It returns the handler and a bearer token that passes it. each, if
// not nil, rewrites both middleware lists (the test puts probes between
// their middleware).
func requestPath(tb testing.TB, each func(middleware.Middlewares) middleware.Middlewares) (http.Handler, string) {
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
	if each == nil {
		each = func(m middleware.Middlewares) middleware.Middlewares { return m }
	}
	mux.Handle(op.Pattern(), each(a.apiChain()).Then(auth.RequireRole()(operation.Handle(doc, op,
		func(_ context.Context, in userID) (PublicUser, error) { return PublicUser{ID: in.ID, Name: "ada"}, nil }))))
	return each(a.outerChain()).Then(envelope.Routes(mux)), pair.AccessToken
}

// TestRequestPathCopies (issue 28 item 6): on its way through the
// service's whole chain to GET /v1/users/{id}, a request is copied at most
// twice (Telemetry's span, Timeout's deadline; the request id, client
// address and claims go into the request's state in place), the request
// the chain was handed is left as it came (no middleware writes to it,
// the route pattern included), and the access log still names the route.
func TestRequestPathCopies(t *testing.T) {
	var seen []*http.Request
	probe := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if len(seen) == 0 || seen[len(seen)-1] != r {
				seen = append(seen, r)
			}
			next.ServeHTTP(w, r)
		})
	}
	between := func(m middleware.Middlewares) middleware.Middlewares {
		out := middleware.Chain(probe)
		for _, mw := range m {
			out = append(out, mw, probe)
		}
		return out
	}
	h, token := requestPath(t, between)
	for _, tt := range []struct {
		name   string
		header string
		status int
		maxNew int
	}{
		{"authenticated", "Bearer " + token, http.StatusOK, 2},
		{"anonymous", "", http.StatusUnauthorized, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			seen = seen[:0]
			r := httptest.NewRequest("GET", "/v1/users/0190a4c2-7d2e-7000-8000-000000000001", nil)
			r.RemoteAddr = "192.0.2.1:1234"
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			before := *r
			ctx := r.Context()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			require.Equal(t, tt.status, w.Code, "status: %s", w.Body)
			distinct := map[*http.Request]bool{}
			for _, s := range seen {
				distinct[s] = true
			}
			require.Same(t, r, seen[0], "the first probe sees the request handed in")
			t.Logf("%d copies", len(distinct)-1)
			assert.LessOrEqual(t, len(distinct)-1, tt.maxNew, "copies of the request on its way in")
			assert.Equal(t, "", r.Pattern, "the handed request's Pattern is not written")
			assert.True(t, ctx == r.Context(), "the handed request's context is its own")
			assert.True(t, reflect.DeepEqual(before, *r), "the handed request is as it came")
			assert.Equal(t, "/v1/users/{id}", seen[len(seen)-1].Pattern[len("GET "):], "the mux routed the last copy")
		})
	}
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
	h, token := requestPath(b, nil)
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
