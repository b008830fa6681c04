package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/svckit/svckit/middleware"
)

func TestSecurityHeaders(t *testing.T) {
	rec := serve(middleware.SecurityHeaders(okHandler()), httptest.NewRequest("GET", "/", nil))
	for k, v := range map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Content-Security-Policy": "frame-ancestors 'none'",
		"Referrer-Policy":         "no-referrer",
	} {
		assert.Equal(t, v, rec.Header().Get(k), "header %s", k)
	}
	override := middleware.SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
	}))
	rec = serve(override, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, "SAMEORIGIN", rec.Header().Get("X-Frame-Options"), "a handler may override")
}
