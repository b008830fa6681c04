package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/svckit/svckit/middleware"
)

// tag returns a middleware that records name before and after the handler.
func tag(trace *[]string, name string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			*trace = append(*trace, name+">")
			next.ServeHTTP(w, r)
			*trace = append(*trace, "<"+name)
		})
	}
}

func TestChainOrder(t *testing.T) {
	tests := []struct {
		name  string
		build func(trace *[]string, h http.Handler) http.Handler
		want  string
	}{
		{"empty", func(_ *[]string, h http.Handler) http.Handler { return middleware.Chain().Then(h) }, "h"},
		{"reading order", func(tr *[]string, h http.Handler) http.Handler {
			return middleware.Chain(tag(tr, "a"), tag(tr, "b"), tag(tr, "c")).Then(h)
		}, "a> b> c> h <c <b <a"},
		{"append", func(tr *[]string, h http.Handler) http.Handler {
			return middleware.Chain(tag(tr, "a")).Append(tag(tr, "b")).Then(h)
		}, "a> b> h <b <a"},
		{"nested chain as middleware", func(tr *[]string, h http.Handler) http.Handler {
			inner := middleware.Chain(tag(tr, "b"), tag(tr, "c"))
			return middleware.Chain(tag(tr, "a"), inner.Handler).Then(h)
		}, "a> b> c> h <c <b <a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var trace []string
			h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { trace = append(trace, "h") })
			tt.build(&trace, h).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
			assert.Equal(t, tt.want, strings.Join(trace, " "), "middleware run in reading order")
		})
	}
}

func TestChainAppendDoesNotAlias(t *testing.T) {
	var trace []string
	base := make(middleware.Middlewares, 1, 4)
	base[0] = tag(&trace, "base")
	one := base.Append(tag(&trace, "one"))
	two := base.Append(tag(&trace, "two"))
	one.Then(okHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, "base> one> <one <base", strings.Join(trace, " "), "appending to a base never changes another branch")
	assert.Len(t, two, 2, "second branch has its own middleware")
}

func TestChainThenFunc(t *testing.T) {
	h := middleware.Chain(middleware.SecurityHeaders).ThenFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "fn")
	})
	rec := serve(h, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, "fn", rec.Body.String(), "the function runs")
	assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"), "the middleware runs")
}

func TestChainNilHandlerPanics(t *testing.T) {
	assert.Panics(t, func() { middleware.Chain().Then(nil) }, "nil handler is a programming error")
	assert.Panics(t, func() { middleware.Chain().ThenFunc(nil) }, "nil function is a programming error")
}
