package benchmarks

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"
	"github.com/go-chi/jwtauth/v5"
	"github.com/go-redis/redis_rate/v10"
	"github.com/sethvargo/go-limiter/memorystore"
	"golang.org/x/time/rate"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/internal/testdb"
	svcmw "github.com/svckit/svckit/middleware"
	"github.com/svckit/svckit/ratelimit"
	"github.com/svckit/svckit/ratelimit/redisstore"
)

// mwKeys are the 10 000 client keys every rate-limit benchmark spreads its
// requests over.
func mwKeys() []string {
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = "10." + strconv.Itoa(i/256%256) + "." + strconv.Itoa(i%256) + ".1"
	}
	return keys
}

// runKeys runs allow in parallel over keys, each goroutine starting at its
// own offset, after one warm-up call per key.
func runKeys(b *testing.B, keys []string, allow func(key string) bool) {
	for _, k := range keys {
		if !allow(k) {
			b.Fatal("warm-up request denied")
		}
	}
	var start atomic.Int64
	var denied atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(start.Add(7919))
		for pb.Next() {
			if !allow(keys[i%len(keys)]) {
				denied.Add(1)
			}
			i++
		}
	})
	b.StopTimer()
	if denied.Load() > 0 {
		b.Fatalf("%d requests denied: the limits must not be reached", denied.Load())
	}
}

// BenchmarkRateLimit compares in-process limiters deciding for 10 000 keys
// from parallel goroutines, with limits high enough that all are allowed,
// and the Redis-backed svckit store against redis_rate.
// benchRedisTimeout is the per-call deadline of svckit's Redis stores in
// the benchmarks: a deadline costs the same whatever its length, and a
// long one keeps a slow call on a loaded machine from turning into a
// fallback that the benchmark would count as a failure.
const benchRedisTimeout = time.Second

func BenchmarkRateLimit(b *testing.B) {
	// High enough that no key runs out, low enough for go-limiter's
	// arithmetic.
	const perSecond = 1_000_000
	ctx := context.Background()

	b.Run("svckit-memory", func(b *testing.B) {
		l := ratelimit.New(ratelimit.Limit{Rate: perSecond, Period: time.Second}, nil)
		defer l.Close()
		runKeys(b, mwKeys(), func(key string) bool {
			res, err := l.Allow(ctx, key)
			return err == nil && res.Allowed
		})
	})

	b.Run("svckit-memory-exact", func(b *testing.B) {
		// The same store reading the system clock on every decision.
		store := ratelimit.NewMemory(ratelimit.MemoryOptions{ExactClock: true})
		defer store.Close()
		l := ratelimit.New(ratelimit.Limit{Rate: perSecond, Period: time.Second}, store)
		runKeys(b, mwKeys(), func(key string) bool {
			res, err := l.Allow(ctx, key)
			return err == nil && res.Allowed
		})
	})

	b.Run("x-time-rate", func(b *testing.B) {
		// The usual per-key map of *rate.Limiter, read without a lock.
		var limiters sync.Map
		runKeys(b, mwKeys(), func(key string) bool {
			v, ok := limiters.Load(key)
			if !ok {
				v, _ = limiters.LoadOrStore(key, rate.NewLimiter(perSecond, perSecond))
			}
			return v.(*rate.Limiter).Allow()
		})
	})

	b.Run("go-limiter", func(b *testing.B) {
		store, err := memorystore.New(&memorystore.Config{Tokens: perSecond, Interval: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		defer store.Close(ctx)
		runKeys(b, mwKeys(), func(key string) bool {
			_, _, _, ok, err := store.Take(ctx, key)
			return err == nil && ok
		})
	})

	b.Run("httprate", func(b *testing.B) {
		// The limiter behind httprate's middleware, headers off.
		l := httprate.NewRateLimiter(perSecond, time.Second, httprate.WithResponseHeaders(httprate.ResponseHeaders{}))
		w := &mwWriter{header: http.Header{}}
		r := httptest.NewRequest("GET", "/", nil)
		runKeys(b, mwKeys(), func(key string) bool {
			return !l.OnLimit(w, r, key)
		})
	})

	b.Run("svckit-redis", func(b *testing.B) {
		client, prefix := testdb.Redis(b)
		l := ratelimit.New(ratelimit.Limit{Rate: 1_000_000, Period: time.Second},
			redisstore.New(client, redisstore.Options{Prefix: prefix, Timeout: benchRedisTimeout}))
		b.SetParallelism(8)
		runKeys(b, mwKeys(), func(key string) bool {
			res, err := l.Allow(ctx, key)
			return err == nil && res.Allowed
		})
	})

	b.Run("svckit-redis-cluster", func(b *testing.B) {
		client, prefix := testdb.RedisCluster(b)
		l := ratelimit.New(ratelimit.Limit{Rate: 1_000_000, Period: time.Second},
			redisstore.New(client, redisstore.Options{Prefix: prefix, Timeout: benchRedisTimeout}))
		b.SetParallelism(8)
		runKeys(b, mwKeys(), func(key string) bool {
			res, err := l.Allow(ctx, key)
			return err == nil && res.Allowed
		})
	})

	b.Run("redis_rate", func(b *testing.B) {
		client, prefix := testdb.Redis(b)
		l := redis_rate.NewLimiter(client)
		limit := redis_rate.Limit{Rate: 1_000_000, Burst: 1_000_000, Period: time.Second}
		b.SetParallelism(8)
		keys := mwKeys()
		for i := range keys {
			// redis_rate adds its own "rate:" prefix; its keys expire within
			// a second.
			keys[i] = prefix + keys[i]
		}
		runKeys(b, keys, func(key string) bool {
			res, err := l.Allow(ctx, key, limit)
			return err == nil && res.Allowed > 0
		})
	})
}

// mwWriter is a ResponseWriter that keeps headers and drops the body.
type mwWriter struct {
	header http.Header
	status int
}

func (w *mwWriter) Header() http.Header         { return w.header }
func (w *mwWriter) WriteHeader(status int)      { w.status = status }
func (w *mwWriter) Write(b []byte) (int, error) { return len(b), nil }

// chainTokens returns svckit's token service with an HS256 key and an
// access token it issued.
func chainTokens(b *testing.B, secret []byte) (*auth.Tokens, string) {
	key, err := auth.NewHS256Key("k1", secret)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := auth.NewKeySet(key)
	if err != nil {
		b.Fatal(err)
	}
	users := auth.UserLookupFunc(func(_ context.Context, id string) (auth.User, error) {
		return auth.User{ID: id, Roles: []string{"user"}}, nil
	})
	tokens, err := auth.NewTokens(auth.Options{
		Issuer: "bench", Keys: keys, Store: &auth.Memory{}, Users: users,
	})
	if err != nil {
		b.Fatal(err)
	}
	pair, err := tokens.Issue(context.Background(), auth.User{ID: "u1", Roles: []string{"user"}})
	if err != nil {
		b.Fatal(err)
	}
	return tokens, pair.AccessToken
}

// BenchmarkChain runs a request through request id, panic recovery, HS256
// bearer authentication and a per-IP rate limit, with svckit and with chi's
// middleware, jwtauth and httprate.
func BenchmarkChain(b *testing.B) {
	secret := []byte("bench-secret-bench-secret-bench-secret")
	tokens, token := chainTokens(b, secret)
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	const perSecond = 1 << 30

	chains := []struct {
		name string
		h    http.Handler
	}{
		{"svckit", svcmw.Chain(
			svcmw.RequestID,
			svcmw.Recover,
			auth.Bearer(tokens),
			svcmw.RateLimit(ratelimit.New(ratelimit.Limit{Rate: perSecond, Period: time.Second}, nil), svcmw.KeyByIP),
		).Then(handler)},
		{"chi", func() http.Handler {
			ja := jwtauth.New("HS256", secret, nil)
			h := http.Handler(handler)
			for _, mw := range []func(http.Handler) http.Handler{
				httprate.LimitBy(perSecond, time.Second, func(r *http.Request) (string, error) {
					host, _, err := net.SplitHostPort(r.RemoteAddr)
					return httprate.CanonicalizeIP(host), err
				}),
				jwtauth.Authenticator(ja),
				jwtauth.Verifier(ja),
				middleware.Recoverer,
				middleware.RequestID,
			} {
				h = mw(h)
			}
			return h
		}()},
	}
	for _, c := range chains {
		b.Run(c.name, func(b *testing.B) {
			var next atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				n := next.Add(1)
				r := httptest.NewRequest("GET", "/v1/users/me", nil)
				r.RemoteAddr = "10.1." + strconv.FormatInt(n%256, 10) + ".7:5000"
				r.Header.Set("Authorization", "Bearer "+token)
				w := &mwWriter{header: http.Header{}}
				for pb.Next() {
					clear(w.header)
					w.status = 0
					c.h.ServeHTTP(w, r)
					if w.status != http.StatusNoContent {
						b.Errorf("%s: status %d", c.name, w.status)
						return
					}
				}
			})
		})
	}
}
