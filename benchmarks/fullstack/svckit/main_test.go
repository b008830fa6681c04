package main

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/svckit/svckit/benchmarks/fullstack/internal/bench"
)

const testSecret = "fullstack-test-secret-fullstack-test-secret"

// newTestHandler serves the SQLite-backed service of route (a) with the
// in-memory cache, its access log written to io.Discard, and returns the
// bearer token the runner would send.
func newTestHandler(tb testing.TB) (http.Handler, string) {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(tb.TempDir(), "bench.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := bench.Seed(context.Background(), db, "sqlite"); err != nil {
		tb.Fatal(err)
	}
	cfg := bench.Config{Driver: "sqlite", Cache: "memory", Secret: testSecret, CacheTTL: time.Hour}
	h, closeAll, err := newHandler(cfg, db, io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(closeAll)
	token, err := bench.Token(testSecret, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return h, token
}

func getUser(h http.Handler, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/users/"+bench.UserID(1), nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestGetUser(t *testing.T) {
	h, token := newTestHandler(t)
	for i := range 2 { // the first read fills the cache, the second is served from it
		w := getUser(h, token)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"id":"u0001"`) {
			t.Fatalf("request %d: status %d, body %s; want 200 with user u0001", i, w.Code, w.Body)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/users/"+bench.UserID(1), nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("no token: status %d, want 401", w.Code)
	}
}

// BenchmarkGetUser is route (a) in process, without the network or an HTTP
// client: one GET /users/{id} with a valid bearer token, served from the
// in-memory cache, through the whole middleware stack. Its allocs/op and
// CPU profile are svckit's share of the fullstack figures.
func BenchmarkGetUser(b *testing.B) {
	h, token := newTestHandler(b)
	if w := getUser(h, token); w.Code != http.StatusOK {
		b.Fatalf("warm-up: status %d, body %s", w.Code, w.Body)
	}
	r := httptest.NewRequest(http.MethodGet, "/users/"+bench.UserID(1), nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := &discardWriter{header: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.header)
		w.status = 0
		h.ServeHTTP(w, r)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}

// discardWriter is the cheapest http.ResponseWriter, so that the benchmark
// counts the service's allocations and not a recorder's.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(p), nil
}

// BenchmarkGetUserManyTokens is BenchmarkGetUser with 10 000 distinct valid
// tokens sent in turn, as from 10 000 users: more than the verified-token
// cache holds, so most requests verify their token.
func BenchmarkGetUserManyTokens(b *testing.B) {
	h, _ := newTestHandler(b)
	tokens := make([]string, 10_000)
	for i := range tokens {
		var err error
		if tokens[i], err = bench.TokenFor(testSecret, bench.UserID(i%bench.Users), time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/users/"+bench.UserID(1), nil)
	w := &discardWriter{header: make(http.Header)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Header.Set("Authorization", "Bearer "+tokens[i%len(tokens)])
		i++
		clear(w.header)
		w.status = 0
		h.ServeHTTP(w, r)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}
