package middleware

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/internal/opt"
)

// CORSOptions configure CORS. The zero value allows no cross-origin access
// at all: every response still says Vary: Origin, and no page of another
// origin may read an answer or send a preflighted request.
type CORSOptions struct {
	// Origins are the origins whose pages may call the API, each as a
	// browser serialises it: scheme, host and port when not the default,
	// such as "https://app.example.com" or "http://localhost:5173"
	// (compared without regard to case, a trailing slash ignored). "*"
	// allows every origin, without credentials. An entry with a path, a
	// query or no scheme never matches; "null" (sandboxed pages, file:
	// URLs) matches only if listed, which it should not be. Nil means none.
	Origins []string
	// Methods are the methods a preflight allows; nil means GET, HEAD,
	// POST, PUT, PATCH and DELETE.
	Methods []string
	// Headers are the request headers a preflight allows beyond the
	// CORS-safelisted ones; nil means Authorization and Content-Type.
	Headers []string
	// ExposeHeaders are the response headers, beyond the CORS-safelisted
	// ones, that a page's script may read (X-Request-Id, Retry-After,
	// Location, …); nil means none.
	ExposeHeaders []string
	// Credentials lets pages send cookies and HTTP authentication with
	// their requests and read the answers (Access-Control-Allow-Credentials:
	// true). It is ignored with the "*" origin, which the Fetch standard
	// forbids with credentials. A bearer token set by the page's script
	// needs no credentials mode.
	Credentials bool
	// MaxAge is how long a browser may cache a preflight's answer: zero
	// or negative means 10 minutes; above 24 hours it is clamped to 24
	// hours (browsers cap it lower still: Chromium at 2 hours).
	MaxAge time.Duration
}

// DefaultCORSMaxAge is the default of CORSOptions.MaxAge.
const DefaultCORSMaxAge = 10 * time.Minute

// CORS returns a middleware that answers cross-origin requests by the
// Fetch standard's CORS protocol (fetch.spec.whatwg.org, "CORS protocol"):
//
//   - a preflight (OPTIONS with Origin and Access-Control-Request-Method)
//     is answered here, never by the handler, so authentication and rate
//     limits behind it do not refuse it: 204 with
//     Access-Control-Allow-Origin, -Methods, -Headers, -Max-Age (and
//     -Credentials) for an allowed origin, 403 FORBIDDEN for any other;
//   - another request from an allowed origin gets
//     Access-Control-Allow-Origin (the origin itself, or "*" for the
//     wildcard without credentials) and -Expose-Headers, so the page may
//     read the answer; from any other origin it is served without them,
//     and the browser keeps the answer from the page;
//   - every response says Vary: Origin, so a cache never serves one
//     origin's answer to another.
//
// CORS decides what pages of other origins may read; it does not stop a
// simple cross-origin request (a form's POST) from reaching the handler.
// That is http.CrossOriginProtection's job, which refuses cross-origin
// requests with unsafe methods by Sec-Fetch-Site and Origin: use it for
// routes authenticated by cookies, which a browser attaches on its own,
// and add the CORS origins to it with AddTrustedOrigin. An API
// authenticated by bearer tokens, which a page must attach itself, needs
// only CORS. Put CORS outside both, so preflights are answered first.
//
// The options are copied; the middleware is safe for concurrent use.
func CORS(opts CORSOptions) func(http.Handler) http.Handler {
	c := newCORS(opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Add("Vary", "Origin")
			origin, cross := r.Header["Origin"]
			if !cross || len(origin) != 1 {
				next.ServeHTTP(w, r)
				return
			}
			allowed := c.allows(origin[0])
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Add("Vary", "Access-Control-Request-Method")
				h.Add("Vary", "Access-Control-Request-Headers")
				if !allowed {
					_ = envelope.WriteError(w, r, envelope.Forbidden("origin not allowed"))
					return
				}
				c.allowOrigin(h, origin[0])
				h.Set("Access-Control-Allow-Methods", c.methods)
				h.Set("Access-Control-Allow-Headers", c.headers)
				h.Set("Access-Control-Max-Age", c.maxAge)
				w.WriteHeader(http.StatusNoContent)
				return
			}
			if allowed {
				c.allowOrigin(h, origin[0])
				if c.expose != "" {
					h.Set("Access-Control-Expose-Headers", c.expose)
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// cors is CORSOptions with every default filled and every list joined
// once.
type cors struct {
	origins     []string // lower case, no trailing slash
	any         bool
	credentials bool
	methods     string
	headers     string
	expose      string
	maxAge      string
}

func newCORS(opts CORSOptions) *cors {
	c := &cors{credentials: opts.Credentials}
	for _, o := range opts.Origins {
		o = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(o), "/"))
		if o == "*" {
			c.any = true
			continue
		}
		if isOrigin(o) {
			c.origins = append(c.origins, o)
		}
	}
	if c.any {
		c.credentials = false
	}
	methods := opts.Methods
	if methods == nil {
		methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	}
	headers := opts.Headers
	if headers == nil {
		headers = []string{"Authorization", "Content-Type"}
	}
	c.methods = strings.Join(methods, ", ")
	c.headers = strings.Join(headers, ", ")
	c.expose = strings.Join(opts.ExposeHeaders, ", ")
	maxAge := min(opt.PositiveOr(opts.MaxAge, DefaultCORSMaxAge), 24*time.Hour)
	c.maxAge = strconv.Itoa(int(maxAge / time.Second))
	return c
}

// isOrigin reports whether o is an origin as a browser writes one:
// scheme://host[:port] with nothing after, or "null".
func isOrigin(o string) bool {
	if o == "null" {
		return true
	}
	scheme, rest, ok := strings.Cut(o, "://")
	return ok && scheme != "" && rest != "" && !strings.ContainsAny(rest, "/?#@ ")
}

func (c *cors) allows(origin string) bool {
	if c.any {
		return true
	}
	o := strings.ToLower(origin)
	return slices.Contains(c.origins, o)
}

func (c *cors) allowOrigin(h http.Header, origin string) {
	if c.any { // never with credentials: newCORS dropped them
		h.Set("Access-Control-Allow-Origin", "*")
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if c.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}
