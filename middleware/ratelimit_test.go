package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/middleware"
	"github.com/svckit/svckit/ratelimit"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(testNow().UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func memoryLimiter(limit ratelimit.Limit, clock *fakeClock) *ratelimit.Limiter {
	return ratelimit.New(limit, ratelimit.NewMemory(ratelimit.MemoryOptions{Now: clock.Now}))
}

func TestRateLimitHeaders(t *testing.T) {
	clock := newFakeClock()
	h := middleware.RateLimit(memoryLimiter(ratelimit.Limit{Rate: 3, Period: time.Minute}, clock), nil)(okHandler())
	get := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = "192.0.2.1:1"
		return serve(h, req)
	}
	tests := []struct {
		advance time.Duration
		status  int
		quota   string
		retry   string
	}{
		// t is the effective window: within it no more than r further
		// requests pass; on a 429 it is Retry-After.
		{0, 200, `"default";r=2;t=20`, ""},
		{0, 200, `"default";r=1;t=20`, ""},
		{0, 200, `"default";r=0;t=20`, ""},
		{0, 429, `"default";r=0;t=20`, "20"},
		{19500 * time.Millisecond, 429, `"default";r=0;t=1`, "1"},
		{500 * time.Millisecond, 200, `"default";r=0;t=20`, ""},
		{1 * time.Second, 429, `"default";r=0;t=19`, "19"},
		{49 * time.Second, 200, `"default";r=1;t=10`, ""},
	}
	for i, tt := range tests {
		clock.Advance(tt.advance)
		rec := get()
		require.Equal(t, tt.status, rec.Code, "request %d", i)
		assert.Equal(t, `"default";q=3;w=60`, rec.Header().Get("RateLimit-Policy"), "policy on request %d", i)
		assert.Equal(t, tt.quota, rec.Header().Get("RateLimit"), "quota on request %d", i)
		assert.Equal(t, tt.retry, rec.Header().Get("Retry-After"), "Retry-After on request %d", i)
		if tt.status == 429 {
			assert.Equal(t, "RATE_LIMITED", errorCode(t, rec), "429 envelope on request %d", i)
		}
	}
}

func TestRateLimitPolicyName(t *testing.T) {
	l := ratelimit.New(ratelimit.Limit{Rate: 10, Period: 1500 * time.Millisecond}, nil)
	h := middleware.RateLimitWithOptions(middleware.RateLimitOptions{Limiter: l, Policy: "login"})(okHandler())
	rec := serve(h, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, `"login";q=13;w=2`, rec.Header().Get("RateLimit-Policy"), "named policy, window rounded up, quota scaled to it")
	assert.Panics(t, func() {
		middleware.RateLimitWithOptions(middleware.RateLimitOptions{Limiter: l, Policy: `a"b`})
	}, "a name that breaks the field is a programming error")
	assert.Panics(t, func() { middleware.RateLimit(nil, nil) }, "a nil limiter is a programming error")
}

// TestRateLimitSpoofing proves that X-Forwarded-For from an untrusted peer
// does not change the key, and from a trusted proxy it does.
func TestRateLimitSpoofing(t *testing.T) {
	tests := []struct {
		name     string
		proxies  string
		wantPass int
	}{
		{"untrusted peer: one key whatever the header", "", 1},
		{"trusted proxy: one key per forwarded client", "10.0.0.0/8", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip := middleware.ClientIP{TrustedProxies: mustProxies(t, tt.proxies)}
			l := memoryLimiter(ratelimit.Limit{Rate: 1, Period: time.Hour}, newFakeClock())
			h := middleware.Chain(ip.Handler, middleware.RateLimit(l, middleware.KeyByIP)).Then(okHandler())
			passed := 0
			for _, spoof := range []string{"1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", "5.5.5.5"} {
				req := httptest.NewRequest("GET", "/", nil)
				req.RemoteAddr = "10.0.0.1:1"
				req.Header.Set("X-Forwarded-For", spoof)
				if serve(h, req).Code == http.StatusOK {
					passed++
				}
			}
			assert.Equal(t, tt.wantPass, passed, "requests that got through")
		})
	}
}

func TestKeyFuncs(t *testing.T) {
	withIP := func(remote string) *http.Request {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = remote
		return req
	}
	withClaims := func(req *http.Request, sub string) *http.Request {
		c := &auth.Claims{}
		c.Subject = sub
		return req.WithContext(auth.WithClaims(req.Context(), c))
	}
	ctxIP := withIP("10.0.0.1:1")
	ctxIP = ctxIP.WithContext(middleware.WithClientIP(ctxIP.Context(), mustAddr(t, "198.51.100.9")))
	tests := []struct {
		name string
		key  middleware.KeyFunc
		req  *http.Request
		want string
	}{
		{"ipv4", middleware.KeyByIP, withIP("192.0.2.1:1"), "ip:192.0.2.1"},
		{"ipv6 grouped by /64", middleware.KeyByIP, withIP("[2001:db8:1:2:3:4:5:6]:1"), "ip:2001:db8:1:2::/64"},
		{"same /64, same key", middleware.KeyByIP, withIP("[2001:db8:1:2:ffff::1]:1"), "ip:2001:db8:1:2::/64"},
		{"v4-mapped", middleware.KeyByIP, withIP("[::ffff:192.0.2.1]:1"), "ip:192.0.2.1"},
		{"unix socket", middleware.KeyByIP, withIP("@"), "ip:unknown"},
		{"address from context", middleware.KeyByIP, ctxIP, "ip:198.51.100.9"},
		{"user", middleware.KeyByUser, withClaims(withIP("192.0.2.1:1"), "u-7"), "user:u-7"},
		{"user without subject", middleware.KeyByUser, withClaims(withIP("192.0.2.1:1"), ""), "ip:192.0.2.1"},
		{"anonymous", middleware.KeyByUser, withIP("192.0.2.1:1"), "ip:192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.key(tt.req), "key")
		})
	}
}

// failingStore always fails with err, as a Redis store without fallback
// does when Redis is down.
type failingStore struct{ err error }

func (s failingStore) Allow(context.Context, string, ratelimit.Limit) (ratelimit.Result, error) {
	return ratelimit.Result{}, s.err
}

func TestRateLimitStoreDown(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		retry string
	}{
		{"ErrUnavailable in the chain: its kind and Retry-After", errors.Join(ratelimit.ErrUnavailable, errors.New("dial tcp: refused")), "1"},
		{"ErrUnavailable wrapped", fmt.Errorf("store: %w: dial tcp: refused", ratelimit.ErrUnavailable), "1"},
		{"an error that reports nothing: unavailable still", errors.New("dial tcp: refused"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			h := middleware.RateLimit(ratelimit.New(ratelimit.PerSecond(1), failingStore{tt.err}), nil)(okHandler())
			req := httptest.NewRequest("GET", "/", nil)
			rec := serve(middleware.LoggerWithOptions(middleware.LoggerOptions{Logger: logs.logger()})(h), req)
			assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "fail closed")
			assert.Equal(t, "UNAVAILABLE", errorCode(t, rec), "503 envelope")
			assert.Equal(t, tt.retry, rec.Header().Get("Retry-After"), "Retry-After of the store's error")
			assert.NotContains(t, rec.Body.String(), "dial", "the cause is not sent")
			lines := logs.lines(t)
			require.Len(t, lines, 1, "one line for the request: %s", logs.String())
			assert.Contains(t, lines[0]["error"], "dial tcp", "the cause is in the request's line, not a line of its own")
		})
	}
}

// TestRateLimitConcurrent runs 200 concurrent clients through the HTTP
// middleware: exactly the burst gets through.
func TestRateLimitConcurrent(t *testing.T) {
	clock := newFakeClock()
	var served atomic.Int64
	h := middleware.RateLimit(memoryLimiter(ratelimit.PerMinute(100), clock), nil)(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served.Add(1) }))
	var limited atomic.Int64
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = "192.0.2.1:1"
			if serve(h, req).Code == http.StatusTooManyRequests {
				limited.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(100), served.Load(), "exactly the limit is served")
	assert.Equal(t, int64(100), limited.Load(), "the rest is limited")
}

// TestRateLimitFieldsAgree checks the fields against the IETF draft
// (draft-ietf-httpapi-ratelimit-headers-11) and against Retry-After, for
// several limits: a 429 says r=0 and its t equals Retry-After; any response's
// t is an effective window, within which no more than r further requests
// pass, and after which one more does.
func TestRateLimitFieldsAgree(t *testing.T) {
	tests := []struct {
		name   string
		limit  ratelimit.Limit
		policy string
	}{
		{"3 a minute", ratelimit.Limit{Rate: 3, Period: time.Minute}, `"default";q=3;w=60`},
		{"10 every 1.5 s, bursts of 2", ratelimit.Limit{Rate: 10, Period: 1500 * time.Millisecond, Burst: 2}, `"default";q=13;w=2`},
		{"1 an hour", ratelimit.Limit{Rate: 1, Period: time.Hour}, `"default";q=1;w=3600`},
		{"5 a minute, bursts of 10", ratelimit.Limit{Rate: 5, Period: time.Minute, Burst: 10}, `"default";q=5;w=60`},
		{"100 a second", ratelimit.Limit{Rate: 100, Period: time.Second}, `"default";q=100;w=1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			h := middleware.RateLimit(memoryLimiter(tt.limit, clock), nil)(okHandler())
			get := func() (code int, r, window int, retry string) {
				req := httptest.NewRequest("GET", "/", nil)
				req.RemoteAddr = "192.0.2.1:1"
				rec := serve(h, req)
				require.Equal(t, tt.policy, rec.Header().Get("RateLimit-Policy"), "policy item")
				_, err := fmt.Sscanf(rec.Header().Get("RateLimit"), `"default";r=%d;t=%d`, &r, &window)
				require.NoError(t, err, "RateLimit field %q", rec.Header().Get("RateLimit"))
				return rec.Code, r, window, rec.Header().Get("Retry-After")
			}
			steps := []time.Duration{0, 0, 0, 0, 300 * time.Millisecond, 0, 2 * time.Second, 0, 0, 17 * time.Second, 0, time.Minute, 0, 0}
			for i, step := range steps {
				clock.Advance(step)
				code, r, window, retry := get()
				if code == http.StatusTooManyRequests {
					assert.Zero(t, r, "step %d: a 429 leaves r=0", i)
					assert.Equal(t, strconv.Itoa(window), retry, "step %d: a 429's Retry-After is its effective window", i)
					continue
				}
				require.Equal(t, http.StatusOK, code, "step %d", i)
				assert.Empty(t, retry, "step %d: no Retry-After when allowed", i)
				assert.GreaterOrEqual(t, window, 1, "step %d: a positive effective window", i)
				// Within the effective window no more than r further
				// requests pass; once it is over, one more does.
				passed := 0
				for range r + 1 {
					if code, _, _, _ := get(); code == http.StatusOK {
						passed++
					}
				}
				assert.Equal(t, r, passed, "step %d: exactly r=%d further requests pass at once", i, r)
				clock.Advance(time.Duration(window) * time.Second)
				code, _, _, _ = get()
				assert.Equal(t, http.StatusOK, code, "step %d: a request passes after t=%d s", i, window)
			}
		})
	}
}

// TestAddRateLimitFields checks that a handler's own decisions join the
// middleware's items in one list per field, so a 429 from the handler's
// limiter names the policy that refused, with r=0.
func TestAddRateLimitFields(t *testing.T) {
	clock := newFakeClock()
	perIP := memoryLimiter(ratelimit.Limit{Rate: 10, Period: time.Minute}, clock)
	perEmail := memoryLimiter(ratelimit.Limit{Rate: 1, Period: time.Minute}, clock)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := perEmail.Allow(r.Context(), "email:ada@example.com")
		require.NoError(t, err, "memory store never fails")
		middleware.AddRateLimitFields(w.Header(), "login-email", res)
		if !res.Allowed {
			_ = envelope.WriteError(w, r, envelope.RateLimited(res.RetryAfter))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	h := middleware.RateLimitWithOptions(middleware.RateLimitOptions{Limiter: perIP, Policy: "login"})(handler)
	tests := []struct {
		status int
		quota  []string
		retry  string
	}{
		{http.StatusNoContent, []string{`"login";r=9;t=6`, `"login-email";r=0;t=60`}, ""},
		{http.StatusTooManyRequests, []string{`"login";r=8;t=6`, `"login-email";r=0;t=60`}, "60"},
	}
	for i, tt := range tests {
		req := httptest.NewRequest("POST", "/login", nil)
		req.RemoteAddr = "192.0.2.1:1"
		rec := serve(h, req)
		require.Equal(t, tt.status, rec.Code, "request %d", i)
		assert.Equal(t, []string{`"login";q=10;w=60`, `"login-email";q=1;w=60`}, rec.Header().Values("RateLimit-Policy"), "request %d: both policies", i)
		assert.Equal(t, tt.quota, rec.Header().Values("RateLimit"), "request %d: both service limits", i)
		assert.Equal(t, tt.retry, rec.Header().Get("Retry-After"), "request %d: Retry-After", i)
	}
	assert.Panics(t, func() { middleware.AddRateLimitFields(http.Header{}, "a\\b", ratelimit.Result{}) }, "an invalid name is a programming error")
}

func TestAddRateLimitFieldsToExisting(t *testing.T) {
	res := ratelimit.Result{Allowed: true, Limit: ratelimit.Limit{Rate: 5, Period: time.Minute}, Remaining: 4}
	h := http.Header{}
	h.Add("RateLimit", `"other";r=1;t=1`)
	middleware.AddRateLimitFields(h, "mine", res)
	assert.Equal(t, []string{`"mine";q=5;w=60`}, h.Values("RateLimit-Policy"), "the policy field is created")
	assert.Equal(t, `"other";r=1;t=1`, h.Values("RateLimit")[0], "the existing item is kept first")
	assert.Len(t, h.Values("RateLimit"), 2, "the new item is added after it")

	fresh := http.Header{}
	middleware.AddRateLimitFields(fresh, "mine", res)
	fresh.Add("RateLimit-Policy", "added")
	assert.Equal(t, h.Values("RateLimit")[1], fresh.Get("RateLimit"), "adding to one field leaves the other as it was")
	assert.Equal(t, []string{`"mine";q=5;w=60`, "added"}, fresh.Values("RateLimit-Policy"), "the policy field grows")
}
