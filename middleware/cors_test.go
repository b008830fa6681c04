package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/svckit/svckit/middleware"
)

func TestCORS(t *testing.T) {
	app := "https://app.example.com"
	base := middleware.CORSOptions{Origins: []string{app + "/", "http://localhost:5173", "https://bad.example.com/path", "no-scheme.example.com"}, ExposeHeaders: []string{"X-Request-Id"}}
	tests := []struct {
		name    string
		opts    middleware.CORSOptions
		method  string
		header  map[string]string
		status  int
		want    map[string]string // "" means absent
		handler bool
	}{
		{"same origin: not CORS", base, "GET", nil, 200,
			map[string]string{"Vary": "Origin", "Access-Control-Allow-Origin": ""}, true},
		{"allowed origin", base, "GET", map[string]string{"Origin": app}, 200,
			map[string]string{"Access-Control-Allow-Origin": app, "Access-Control-Expose-Headers": "X-Request-Id", "Vary": "Origin", "Access-Control-Allow-Credentials": ""}, true},
		{"allowed origin in other case", base, "POST", map[string]string{"Origin": "HTTP://LOCALHOST:5173"}, 200,
			map[string]string{"Access-Control-Allow-Origin": "HTTP://LOCALHOST:5173"}, true},
		{"other origin is served without the headers", base, "POST", map[string]string{"Origin": "https://evil.example"}, 200,
			map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": "", "Vary": "Origin"}, true},
		{"an entry with a path never matches", base, "GET", map[string]string{"Origin": "https://bad.example.com"}, 200,
			map[string]string{"Access-Control-Allow-Origin": ""}, true},
		{"null is not allowed unless listed", base, "GET", map[string]string{"Origin": "null"}, 200,
			map[string]string{"Access-Control-Allow-Origin": ""}, true},
		{"preflight of an allowed origin", base, "OPTIONS", map[string]string{"Origin": app, "Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "authorization"}, 204,
			map[string]string{
				"Access-Control-Allow-Origin": app, "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, PATCH, DELETE",
				"Access-Control-Allow-Headers": "Authorization, Content-Type", "Access-Control-Max-Age": "600",
			}, false},
		{"preflight of another origin", base, "OPTIONS", map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "DELETE"}, 403,
			map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "", "Content-Type": "application/json"}, false},
		{"OPTIONS that is no preflight reaches the handler", base, "OPTIONS", map[string]string{"Origin": app}, 200,
			map[string]string{"Access-Control-Allow-Origin": app}, true},
		{"no origins: nothing allowed", middleware.CORSOptions{}, "OPTIONS", map[string]string{"Origin": app, "Access-Control-Request-Method": "GET"}, 403,
			map[string]string{"Access-Control-Allow-Origin": ""}, false},
		{"wildcard", middleware.CORSOptions{Origins: []string{"*"}, Credentials: true}, "GET", map[string]string{"Origin": "https://any.example"}, 200,
			map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": ""}, true},
		{"credentials echo the origin", middleware.CORSOptions{Origins: []string{app}, Credentials: true}, "GET", map[string]string{"Origin": app}, 200,
			map[string]string{"Access-Control-Allow-Origin": app, "Access-Control-Allow-Credentials": "true"}, true},
		{"lists and max-age of the options", middleware.CORSOptions{Origins: []string{app}, Methods: []string{"GET"}, Headers: []string{"Idempotency-Key"}, MaxAge: 72 * time.Hour},
			"OPTIONS", map[string]string{"Origin": app, "Access-Control-Request-Method": "GET"}, 204,
			map[string]string{"Access-Control-Allow-Methods": "GET", "Access-Control-Allow-Headers": "Idempotency-Key", "Access-Control-Max-Age": "86400"}, false},
		{"negative max-age is the default", middleware.CORSOptions{Origins: []string{app}, MaxAge: -time.Second},
			"OPTIONS", map[string]string{"Origin": app, "Access-Control-Request-Method": "GET"}, 204,
			map[string]string{"Access-Control-Max-Age": "600"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			h := middleware.CORS(tt.opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
			}))
			req := httptest.NewRequest(tt.method, "/v1/x", nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, tt.status, rec.Code, "status")
			for k, v := range tt.want {
				assert.Equal(t, v, rec.Header().Get(k), "header %s", k)
			}
			assert.Contains(t, rec.Header().Values("Vary"), "Origin", "Vary: Origin on every response")
			assert.Equal(t, tt.handler, called, "whether the handler runs")
		})
	}
}

// TestCORSBesideCrossOriginProtection: CORS outside, Go's
// CrossOriginProtection inside, trusting the same origin: the allowed
// origin's preflight and POST pass, another origin's POST is refused by
// CrossOriginProtection before the handler.
func TestCORSBesideCrossOriginProtection(t *testing.T) {
	app := "https://app.example.com"
	protect := http.NewCrossOriginProtection()
	if err := protect.AddTrustedOrigin(app); err != nil {
		t.Fatal(err)
	}
	calls := 0
	h := middleware.CORS(middleware.CORSOptions{Origins: []string{app}, Credentials: true})(protect.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ })))
	send := func(method, origin string, extra map[string]string) int {
		req := httptest.NewRequest(method, "https://api.example.com/v1/x", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		for k, v := range extra {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	assert.Equal(t, 204, send("OPTIONS", app, map[string]string{"Access-Control-Request-Method": "POST"}), "preflight answered by CORS")
	assert.Equal(t, 200, send("POST", app, nil), "the trusted origin's POST passes")
	assert.Equal(t, 403, send("POST", "https://evil.example", nil), "another origin's POST is refused")
	assert.Equal(t, 1, calls, "only the trusted POST reached the handler")
}
