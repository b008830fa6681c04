package middleware

import (
	"net/http"
	"strconv"
	"time"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/ratelimit"
)

// KeyFunc returns the rate-limit key of a request.
type KeyFunc func(r *http.Request) string

// KeyByIP keys a request by its client address (ClientIPFrom, else the peer
// address; never a header on its own): "ip:" and the IPv4 address, or the
// /64 network of an IPv6 address, since one IPv6 client usually holds a whole
// /64. A request without a usable address gets "ip:unknown", one shared key,
// so it fails closed.
func KeyByIP(r *http.Request) string {
	a := requestClientIP(r)
	switch {
	case !a.IsValid():
		return "ip:unknown"
	case a.Is6():
		p, _ := a.Prefix(64)
		return "ip:" + p.String()
	default:
		return "ip:" + a.String()
	}
}

// KeyByUser keys a request by the subject of its verified claims ("user:"
// and the sub claim), put in the context by Auth or OptionalAuth; anonymous
// requests fall back to KeyByIP.
func KeyByUser(r *http.Request) string {
	if c, ok := auth.ClaimsFrom(r.Context()); ok && c.Subject != "" {
		return "user:" + c.Subject
	}
	return KeyByIP(r)
}

// RateLimitOptions configure RateLimitWithOptions.
type RateLimitOptions struct {
	// Limiter takes the decisions. It is required.
	Limiter *ratelimit.Limiter
	// Key returns the key of a request. Nil means KeyByIP.
	Key KeyFunc
	// Policy names the quota policy in the RateLimit-Policy and RateLimit
	// fields. Empty means "default". It must be a valid structured-field
	// string: printable ASCII without '"' or '\'.
	Policy string
}

// RateLimit returns a middleware that limits requests by key (nil means
// KeyByIP) with l. See RateLimitWithOptions.
func RateLimit(l *ratelimit.Limiter, key KeyFunc) func(http.Handler) http.Handler {
	return RateLimitWithOptions(RateLimitOptions{Limiter: l, Key: key})
}

// RateLimitWithOptions returns a middleware that spends one event of the
// request's key per request. Every response carries the quota fields of the
// IETF draft "RateLimit header fields for HTTP" (structured form):
//
//	RateLimit-Policy: "default";q=100;w=60
//	RateLimit: "default";r=42;t=36
//
// where q is the limit's Rate, w its Period in seconds, r the events
// remaining now and t the seconds until the key is back at its full quota.
// A denied request is answered 429 RATE_LIMITED with Retry-After set to the
// seconds, rounded up, until the next request will be allowed.
//
// When the limiter fails (a Redis store without fallback that cannot reach
// Redis) the request is answered 503 UNAVAILABLE; the store reports the
// outage itself. It panics when opts.Limiter is nil or opts.Policy is not a
// valid name.
func RateLimitWithOptions(opts RateLimitOptions) func(http.Handler) http.Handler {
	if opts.Limiter == nil {
		panic("middleware: RateLimit with a nil Limiter")
	}
	key := opts.Key
	if key == nil {
		key = KeyByIP
	}
	name := opts.Policy
	if name == "" {
		name = "default"
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			panic("middleware: rate-limit policy name " + strconv.Quote(name) + " is not a valid string")
		}
	}
	limit := opts.Limiter.Limit()
	quoted := `"` + name + `"`
	policy := quoted + ";q=" + strconv.Itoa(limit.Rate) + ";w=" + strconv.FormatInt(ceilSeconds(limit.Period), 10)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			res, err := opts.Limiter.Allow(r.Context(), key(r))
			if err != nil {
				// The store reports its outage once; do not log per request.
				quiet := r.WithContext(envelope.WithLogger(r.Context(), discardLogger()))
				_ = envelope.WriteError(w, quiet, envelope.Unavailable("rate limiter unavailable").Wrap(err))
				return
			}
			h := w.Header()
			h.Set("RateLimit-Policy", policy)
			h.Set("RateLimit", quotaField(quoted, res))
			if !res.Allowed {
				_ = envelope.WriteError(w, r, envelope.RateLimited(res.RetryAfter))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// quotaField formats the RateLimit field for res.
func quotaField(quoted string, res ratelimit.Result) string {
	b := make([]byte, 0, len(quoted)+24)
	b = append(b, quoted...)
	b = append(b, ";r="...)
	b = strconv.AppendInt(b, int64(res.Remaining), 10)
	b = append(b, ";t="...)
	b = strconv.AppendInt(b, ceilSeconds(res.ResetAfter), 10)
	return string(b)
}

// ceilSeconds returns d in whole seconds, rounded up.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
