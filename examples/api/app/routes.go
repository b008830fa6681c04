package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/middleware"
	"github.com/svckit/svckit/operation"
	"github.com/svckit/svckit/overload"
)

// routes builds the handler: the middleware every request passes, then
// one ServeMux with the health checks, the /v1 API and the API's OpenAPI
// document. Every route is a typed operation (package operation): its
// declaration below is its route, the reading and checking of its input,
// and its entry in the document served at GET /openapi.json.
func (a *App) routes() http.Handler {
	user := auth.RequireRole()
	admin := auth.RequireRole(RoleAdmin)
	chain := a.apiChain()
	doc := newAPI()
	mux := http.NewServeMux()
	mount := func(op operation.Operation, h http.Handler) { mux.Handle(op.Pattern(), chain.Then(h)) }
	bearer := func(op operation.Operation) operation.Operation {
		op.Bearer = true
		return v1(op)
	}
	conflict, forbidden, notFound := errkind.Conflict, errkind.Forbidden, errkind.NotFound

	op := v1(operation.Operation{Method: "POST", Path: "/v1/auth/register", ID: "register", Tags: []string{"auth"},
		Summary: "Register a user", Errors: []errkind.Kind{conflict},
		Description: "201 with the user; 409 when the email is taken (case-insensitive). With REGISTER_QUIET=true, " +
			"202 {status: accepted} for a new and a taken email alike.",
		Responses: []operation.Response{{Status: http.StatusCreated, Data: User{}}, {Status: http.StatusAccepted, Data: registered{}, Description: "with REGISTER_QUIET=true"}}})
	// Each registration costs a password hash: it has its own budget.
	mount(op, middleware.RateLimitWithOptions(middleware.RateLimitOptions{
		Limiter: a.limits.register, Key: middleware.KeyByIP, Policy: "register", MeterProvider: a.tel.meters,
	})(operation.HandleResult(doc, op, a.register)))
	// Login attempts are throttled by the handler, which knows the email
	// (loginThrottle).
	op = v1(operation.Operation{Method: "POST", Path: "/v1/auth/login", ID: "login", Tags: []string{"auth"},
		Summary: "Log in", Description: "The same 401 for an unknown email and a wrong password; 429 past the login throttle.",
		Headers: []operation.Header{noStoreHeader()}})
	mount(op, noStore(operation.Handle(doc, op, a.login)))
	op = v1(operation.Operation{Method: "POST", Path: "/v1/auth/refresh", ID: "refresh", Tags: []string{"auth"},
		Summary: "Exchange a refresh token for a new pair", Headers: []operation.Header{noStoreHeader()},
		Description: "The old refresh token is used up; reusing a used one revokes its whole family."})
	mount(op, noStore(operation.Handle(doc, op, a.refresh)))
	op = v1(operation.Operation{Method: "POST", Path: "/v1/auth/logout", ID: "logout", Tags: []string{"auth"},
		Summary: "Revoke a refresh token's family"})
	mount(op, operation.Handle(doc, op, a.logout))

	op = bearer(operation.Operation{Method: "GET", Path: "/v1/users/me", ID: "getMe", Tags: []string{"users"}, Summary: "Read the caller"})
	mount(op, user(operation.Handle(doc, op, a.me)))
	op = bearer(operation.Operation{Method: "GET", Path: "/v1/users/me/activity", ID: "getMyActivity", Tags: []string{"users"},
		Summary:     "The caller's activity feed, newest first",
		Description: "What the event consumer applied, once per event, after the write committed: a write shows a moment later, never before."})
	mount(op, user(operation.Handle(doc, op, a.activity)))
	op = bearer(operation.Operation{Method: "GET", Path: "/v1/users/{id}", ID: "getUser", Tags: []string{"users"},
		Summary: "Read a user", Errors: []errkind.Kind{notFound},
		Description: "The whole user to that user and to admins, {id, name} to anyone else.",
		Responses:   []operation.Response{{Status: http.StatusOK, Data: User{}}, {Status: http.StatusOK, Data: PublicUser{}}}})
	mount(op, user(operation.Handle(doc, op, a.getUser)))
	op = bearer(operation.Operation{Method: "PATCH", Path: "/v1/users/{id}", ID: "renameUser", Tags: []string{"users"},
		Summary: "Rename a user", Description: "The user themself or an admin.", Errors: []errkind.Kind{forbidden, notFound}})
	mount(op, user(operation.Handle(doc, op, a.patchUser)))
	op = bearer(operation.Operation{Method: "GET", Path: "/v1/users", ID: "listUsers", Tags: []string{"users"}, Roles: []string{RoleAdmin},
		Summary: "List users", Paging: operation.OffsetPages | operation.CursorPages,
		Description: "Offset pages unless cursor or limit is given, then cursor pages."})
	mount(op, admin(operation.HandleResult(doc, op, a.listUsers)))

	op = bearer(operation.Operation{Method: "POST", Path: "/v1/accounts", ID: "openAccount", Tags: []string{"accounts"},
		Summary: "Open an account", Status: http.StatusCreated})
	mount(op, user(operation.HandleResult(doc, op, a.openAccount)))
	op = bearer(operation.Operation{Method: "GET", Path: "/v1/accounts", ID: "listAccounts", Tags: []string{"accounts"},
		Summary: "List the caller's accounts", Paging: operation.CursorPages})
	mount(op, user(operation.HandleResult(doc, op, a.listAccounts)))
	op = bearer(operation.Operation{Method: "GET", Path: "/v1/accounts/{id}", ID: "getAccount", Tags: []string{"accounts"},
		Summary: "Read an account", Description: "Its owner or an admin.", Errors: []errkind.Kind{forbidden, notFound}})
	mount(op, user(operation.Handle(doc, op, a.getAccount)))
	op = bearer(operation.Operation{Method: "POST", Path: "/v1/accounts/{id}/deposits", ID: "deposit", Tags: []string{"accounts"},
		Summary: "Deposit into an account", Description: "Its owner or an admin.", Errors: []errkind.Kind{forbidden, notFound}})
	mount(op, user(operation.Handle(doc, op, a.deposit)))
	op = bearer(operation.Operation{Method: "GET", Path: "/v1/accounts/{id}/transfers", ID: "listTransfers", Tags: []string{"accounts"},
		Summary: "List an account's transfers", Paging: operation.CursorPages, Errors: []errkind.Kind{forbidden, notFound}})
	mount(op, user(operation.HandleResult(doc, op, a.listTransfers)))
	op = bearer(operation.Operation{Method: "POST", Path: "/v1/transfers", ID: "transfer", Tags: []string{"transfers"},
		Summary: "Move money between two accounts of one currency",
		Description: "Only the source's owner. With an Idempotency-Key, a retry with the same key and body replays the first " +
			"answer, success or refusal, and moves no money again; the same key with another body is 409.",
		Errors:    []errkind.Kind{forbidden, notFound, conflict},
		Codes:     []error{ErrInsufficientFunds},
		Headers:   []operation.Header{replayedHeader()},
		Responses: []operation.Response{{Status: http.StatusCreated, Data: Transfer{}}}})
	mount(op, user(operation.HandleResult(doc, op, a.transfer)))

	op = operation.Operation{Method: "GET", Path: "/healthz", ID: "health", Tags: []string{"operations"}, Summary: "Liveness"}
	mux.Handle(op.Pattern(), operation.Handle(doc, op, func(context.Context, struct{}) (health, error) {
		return health{Status: "ok"}, nil
	}))
	op = operation.Operation{Method: "GET", Path: "/readyz", ID: "ready", Tags: []string{"operations"}, Summary: "Readiness",
		Description: "503 when the database is down, and at once after SIGTERM while draining.",
		Errors:      []errkind.Kind{errkind.Unavailable}}
	mux.Handle(op.Pattern(), operation.Handle(doc, op, a.readyz))
	op = operation.Operation{Method: "GET", Path: "/metrics", ID: "metrics", Tags: []string{"operations"},
		Summary: "Metrics in the Prometheus text format", Description: "Restrict it at the network in production.",
		Responses: []operation.Response{{Status: http.StatusOK, ContentType: "text/plain; version=0.0.4", Data: ""}}}
	mux.Handle(op.Pattern(), operation.Raw(doc, op, a.tel.metrics)) // telemetry.go
	if k := a.cfg.SigningKey; k != nil && k.Public() != nil {
		// Asymmetric keys: publish the public ones, for other services
		// (auth/jwks) to verify this service's tokens.
		op = operation.Operation{Method: "GET", Path: "/.well-known/jwks.json", ID: "jwks", Tags: []string{"operations"},
			Summary: "The public keys that verify this service's tokens", Description: "Served only when tokens are signed with an asymmetric key.",
			Responses: []operation.Response{{Status: http.StatusOK, ContentType: "application/json", Data: jwkSet{}}}}
		mux.Handle(op.Pattern(), operation.Raw(doc, op, a.tokens.JWKSHandler()))
	}
	op = operation.Operation{Method: "GET", Path: "/openapi.json", ID: "openapi", Tags: []string{"operations"},
		Summary:   "This document: OpenAPI 3.1.0",
		Responses: []operation.Response{{Status: http.StatusOK, ContentType: "application/json", Data: json.RawMessage{}}}}
	operation.Raw(doc, op, nil)
	a.doc = doc
	mux.Handle(op.Pattern(), doc.Handler()) // built now, after the last registration

	return a.outer(envelope.Routes(mux))
}

// apiChain is the middleware of the /v1 routes.
func (a *App) apiChain() middleware.Middlewares {
	// The /v1 routes first spend from the client IP's budget, before a
	// bearer token costs a verification, so a flood of made-up tokens is
	// limited like any other; then they parse the token when one is sent,
	// so that the API rate limit keys on the user, else on the client IP.
	return middleware.Chain(
		middleware.RateLimitWithOptions(middleware.RateLimitOptions{Limiter: a.limits.ip, Key: middleware.KeyByIP, Policy: "ip", MeterProvider: a.tel.meters}),
		auth.OptionalBearer(a.tokens),
		middleware.RateLimitWithOptions(middleware.RateLimitOptions{Limiter: a.limits.api, Key: middleware.KeyByUser, Policy: "api", MeterProvider: a.tel.meters}),
		// The body is read before the database gate, under the request
		// deadline: a client sending it slowly holds no database slot.
		readBody(envelope.DefaultMaxBytes),
		// A request with a body passes the overload limit here, once the
		// body has arrived, for the same reason (outer: those without).
		a.shed.With(withBody(classify)),
		a.gate.Handler,
	)
}

// outer wraps h in the middleware every request passes.
func (a *App) outer(h http.Handler) http.Handler { return a.outerChain().Then(h) }

// outerChain is the middleware every request passes.
func (a *App) outerChain() middleware.Middlewares {
	return middleware.Chain(
		a.telemetryMiddleware(), // first: the span is in every later context, the log lines too
		middleware.RequestID,
		middleware.SecurityHeaders,
		// The overload limit, for requests without a body, right after
		// the headers every response carries: a refused request costs its
		// request id and its 503, nothing more (no access-log line:
		// svckit_overload_shed_total counts it). Requests with a body pass
		// it in apiChain, once the body has arrived.
		a.shed.With(withoutBody(classify)),
		middleware.ClientIP{TrustedProxies: a.cfg.TrustedProxies}.Handler,
		// Logger before Recover: a panic's value and stack land in the
		// request's one log line.
		middleware.LoggerWithOptions(middleware.LoggerOptions{Logger: a.logger}),
		middleware.RecoverWithOptions(middleware.RecoverOptions{Logger: a.logger}),
		// Before the routes: a preflight is answered here, never by a
		// route's authentication or limits (CORS_ORIGINS; none by default).
		middleware.CORS(middleware.CORSOptions{
			Origins:       a.cfg.CORSOrigins,
			Headers:       []string{"Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"},
			ExposeHeaders: []string{"X-Request-Id", "Retry-After", "RateLimit", "RateLimit-Policy", "Idempotent-Replayed", "Location"},
		}),
		// Inside the logger, so that the access log records the 504 a
		// request past its deadline gets.
		middleware.Timeout(a.cfg.requestTimeout()),
	)
}

// noStore marks a response that carries tokens as not to be stored by any
// cache (RFC 6749 §5.1, RFC 9111 §5.2.2.5).
func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// newShedder builds the adaptive overload limit of the /v1 routes: under
// more load than the service can serve it answers 503 UNAVAILABLE with
// Retry-After at once, instead of letting every request queue until its
// deadline (classify says which requests it may refuse, and in what
// order). The limit stays within the pool's maxOpen connections, since the
// pool gate behind it admits no more, so this is the one queue a request
// waits in: twice the limit (at least 32), for at most wait (half the
// request deadline: the queue holds a closed loop of clients, such as a
// worker pool, without refusing it, even behind slow logins); a full queue
// refuses its oldest, which is how a sustained overload is shed.
func newShedder(maxOpen int, wait time.Duration, meters metric.MeterProvider) *overload.Limiter {
	return overload.New(overload.Options{
		InitialLimit:  maxOpen,
		MinLimit:      min(overload.DefaultMinLimit, maxOpen),
		MaxLimit:      maxOpen,
		QueueWait:     wait,
		MeterProvider: meters,
	})
}

// classify is the overload class of a request: everything outside /v1
// (/healthz, /readyz, /metrics, the JWKS) is Critical, never shed; the
// admin's user list is shed first, then reads, then writes.
func classify(r *http.Request) overload.Class {
	switch {
	case !strings.HasPrefix(r.URL.Path, "/v1/"):
		return overload.Critical
	case r.Method == http.MethodGet && r.URL.Path == "/v1/users":
		return overload.Admin
	}
	return overload.DefaultClass(r)
}

// hasBody reports whether r comes with a body (a length, or chunks).
func hasBody(r *http.Request) bool { return r.ContentLength != 0 }

// withoutBody classes requests that have no body by c; the others pass.
func withoutBody(c func(*http.Request) overload.Class) func(*http.Request) overload.Class {
	return func(r *http.Request) overload.Class {
		if hasBody(r) {
			return overload.Critical
		}
		return c(r)
	}
}

// withBody classes requests that have a body by c; the others pass.
func withBody(c func(*http.Request) overload.Class) func(*http.Request) overload.Class {
	return func(r *http.Request) overload.Class {
		if !hasBody(r) {
			return overload.Critical
		}
		return c(r)
	}
}
