package middleware

import (
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/internal/httpstate"
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
// and the sub claim), put in the context by auth.Bearer or
// auth.OptionalBearer (or auth.WithClaims); anonymous requests fall back to
// KeyByIP. It reads the subject without importing package auth.
func KeyByUser(r *http.Request) string {
	if _, sub := httpstate.From(r.Context()).Claims(); sub != "" {
		return "user:" + sub
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
	// MeterProvider receives MetricRateLimitDecisions. Nil means otel's
	// global provider.
	MeterProvider metric.MeterProvider
}

// RateLimit returns a middleware that limits requests by key (nil means
// KeyByIP) with l. See RateLimitWithOptions.
func RateLimit(l *ratelimit.Limiter, key KeyFunc) func(http.Handler) http.Handler {
	return RateLimitWithOptions(RateLimitOptions{Limiter: l, Key: key})
}

// RateLimitWithOptions returns a middleware that spends one event of the
// request's key per request. Every response carries the fields of the IETF
// draft "RateLimit header fields for HTTP" (draft-ietf-httpapi-ratelimit-
// headers-11), as structured-field list items:
//
//	RateLimit-Policy: "default";q=100;w=60
//	RateLimit: "default";r=42;t=1
//
// where q is the quota per window of w seconds (the limit's Rate and Period;
// a Period that is not a whole number of seconds is rounded up and q scaled
// down to it), r the events available now and t the effective window: the
// seconds, rounded up, within which no more than r further events will be
// allowed, that is until the budget grows by one (Result.Refill). A denied
// request is answered 429 RATE_LIMITED with r=0 and Retry-After equal to t:
// the seconds, rounded up and at least 1, until the next request will be
// allowed, so that Retry-After never points before the end of the effective
// window.
//
// The items are added, not set, so the fields list every policy that
// applied to the request: a handler that takes decisions of its own (a
// login form's limit per email) adds its items with AddRateLimitFields.
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
	if !validPolicyName(name) {
		panic("middleware: rate-limit policy name " + strconv.Quote(name) + " is not a valid string")
	}
	quoted := `"` + name + `"`
	policy := policyItem(quoted, opts.Limiter.Limit())
	m := newRateLimitMetrics(opts.MeterProvider, name)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			res, err := opts.Limiter.Allow(r.Context(), key(r))
			if err != nil {
				m.storeError.Inc(r.Context())
				// A store's outage reports errkind.Unavailable; anything
				// else from a store is rendered as unavailable too.
				if _, ok := errkind.Inspect(err); !ok {
					err = envelope.Unavailable("rate limiter unavailable").Wrap(err)
				}
				_ = envelope.WriteError(w, r, err)
				return
			}
			addItems(w.Header(), policy, serviceLimitItem(quoted, res))
			if !res.Allowed {
				m.limited.Inc(r.Context())
				_ = envelope.WriteError(w, r, res.Err())
				return
			}
			m.allowed.Inc(r.Context())
			next.ServeHTTP(w, r)
		})
	}
}

// AddRateLimitFields adds the RateLimit-Policy and RateLimit items of one
// decision under the named policy to h, formatted as RateLimitWithOptions
// does, for handlers that take rate-limit decisions of their own. A denied
// decision is answered with res.Err() (a *ratelimit.LimitedError, 429 with
// Retry-After), whose Retry-After then equals the item's t. It panics when policy is not a valid
// structured-field string (printable ASCII without '"' or '\').
func AddRateLimitFields(h http.Header, policy string, res ratelimit.Result) {
	if !validPolicyName(policy) {
		panic("middleware: rate-limit policy name " + strconv.Quote(policy) + " is not a valid string")
	}
	quoted := `"` + policy + `"`
	addItems(h, policyItem(quoted, res.Limit), serviceLimitItem(quoted, res))
}

// The canonical forms of the field names, as http.Header.Add would write
// them: using them as they are saves canonicalising (and allocating) both
// on every request.
const (
	rateLimitPolicyKey = "Ratelimit-Policy"
	rateLimitKey       = "Ratelimit"
)

// addItems adds the RateLimit-Policy item policy and the RateLimit item
// limit to h, as h.Add would. When neither field is there yet (the common
// case: one limit per request), both values share one backing array, each
// slice capped so that a later Add to either copies instead of overwriting
// the other.
func addItems(h http.Header, policy, limit string) {
	p, l := h[rateLimitPolicyKey], h[rateLimitKey]
	if p == nil && l == nil {
		both := []string{policy, limit}
		h[rateLimitPolicyKey], h[rateLimitKey] = both[0:1:1], both[1:2:2]
		return
	}
	h[rateLimitPolicyKey], h[rateLimitKey] = append(p, policy), append(l, limit)
}

// validPolicyName reports whether name can be written as a structured-field
// string without escapes.
func validPolicyName(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// policyItem formats the quota policy item of limit: q events per window of
// w whole seconds. A Period of whole seconds gives q = Rate; another Period
// is rounded up to w and q scaled down to it, so that q per w never
// overstates the rate.
func policyItem(quoted string, limit ratelimit.Limit) string {
	w := ceilSeconds(limit.Period)
	q := int64(limit.Rate)
	if time.Duration(w)*time.Second != limit.Period {
		q = int64(float64(limit.Rate) * float64(time.Duration(w)*time.Second) / float64(limit.Period))
	}
	return quoted + ";q=" + strconv.FormatInt(q, 10) + ";w=" + strconv.FormatInt(w, 10)
}

// serviceLimitItem formats the service limit item for res: r the events
// available now (zero when denied) and t the effective window, which for a
// denied event is Retry-After's value.
func serviceLimitItem(quoted string, res ratelimit.Result) string {
	remaining, window := int64(res.Remaining), ceilSeconds(res.Refill())
	if !res.Allowed {
		// As Retry-After says it.
		remaining, window = 0, errkind.RetryAfterSeconds(res.RetryAfter)
	}
	b := make([]byte, 0, len(quoted)+24)
	b = append(b, quoted...)
	b = append(b, ";r="...)
	b = strconv.AppendInt(b, remaining, 10)
	b = append(b, ";t="...)
	b = strconv.AppendInt(b, window, 10)
	return string(b)
}

// ceilSeconds returns d in whole seconds, rounded up.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
