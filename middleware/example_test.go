package middleware_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"github.com/svckit/svckit/middleware"
	"github.com/svckit/svckit/ratelimit"
)

func ExampleChain() {
	say := func(name string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Println("before", name)
				next.ServeHTTP(w, r)
				fmt.Println("after", name)
			})
		}
	}
	h := middleware.Chain(say("first"), say("second")).ThenFunc(func(http.ResponseWriter, *http.Request) {
		fmt.Println("handler")
	})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	// Output:
	// before first
	// before second
	// handler
	// after second
	// after first
}

func ExampleRequestID() {
	h := middleware.RequestID(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))

	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-Request-Id", "from-the-proxy-42")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Header().Get("X-Request-Id"))

	req.Header.Set("X-Request-Id", "<script>")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(len(rec.Header().Get("X-Request-Id")), "characters, generated")
	// Output:
	// from-the-proxy-42
	// 36 characters, generated
}

func ExampleRecover() {
	quiet := slog.New(slog.DiscardHandler) // the panic and its stack go here
	h := middleware.Chain(
		middleware.RequestID,
		middleware.RecoverWithOptions(middleware.RecoverOptions{Logger: quiet}),
	).ThenFunc(func(http.ResponseWriter, *http.Request) { panic("bug") })

	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-Request-Id", "req-1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	var body struct {
		Error struct{ Code string } `json:"error"`
		Meta  struct{ RequestID string }
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	fmt.Println(rec.Code, body.Error.Code, body.Meta.RequestID)
	// Output: 500 INTERNAL_ERROR req-1
}

func ExampleRateLimit() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	store := ratelimit.NewMemory(ratelimit.MemoryOptions{Now: func() time.Time { return now }})
	limiter := ratelimit.New(ratelimit.Limit{Rate: 2, Period: time.Minute}, store)
	h := middleware.RateLimit(limiter, middleware.KeyByIP)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))

	for range 3 {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = "192.0.2.1:1234"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Header().Get("RateLimit-Policy"), rec.Header().Get("RateLimit"))
		if retry := rec.Header().Get("Retry-After"); retry != "" {
			fmt.Println("Retry-After:", retry)
		}
	}
	// Output:
	// 200 "default";q=2;w=60 "default";r=1;t=30
	// 200 "default";q=2;w=60 "default";r=0;t=30
	// 429 "default";q=2;w=60 "default";r=0;t=30
	// Retry-After: 30
}

func ExampleClientIP() {
	ip := middleware.ClientIP{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}

	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.7, 198.51.100.9")

	req.RemoteAddr = "192.0.2.1:5000" // not a trusted proxy: the header is ignored
	fmt.Println(ip.Resolve(req))

	req.RemoteAddr = "10.0.0.2:5000" // the load balancer: the rightmost entry is the client
	fmt.Println(ip.Resolve(req))
	// Output:
	// 192.0.2.1
	// 198.51.100.9
}

// CORS lets the pages of the listed origins call the API from a browser;
// every other origin's preflight is refused, and its simple requests get
// no Access-Control-Allow-Origin, so the page cannot read the answer.
func ExampleCORS() {
	h := middleware.CORS(middleware.CORSOptions{
		Origins:       []string{"https://app.example.com"},
		Headers:       []string{"Authorization", "Content-Type", "Idempotency-Key"},
		ExposeHeaders: []string{"X-Request-Id"},
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))

	for _, origin := range []string{"https://app.example.com", "https://evil.example"} {
		req := httptest.NewRequest("OPTIONS", "/v1/transfers", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(origin, rec.Code, rec.Header().Get("Access-Control-Allow-Origin"), rec.Header().Get("Access-Control-Allow-Headers"))
	}
	// Output:
	// https://app.example.com 204 https://app.example.com Authorization, Content-Type, Idempotency-Key
	// https://evil.example 403
}
