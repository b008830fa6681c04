package app

import (
	"net/http"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/middleware"
)

// routes builds the handler: the middleware every request passes, then
// one ServeMux with the health checks and the /v1 API.
func (a *App) routes() http.Handler {
	user := middleware.RequireRole()
	admin := middleware.RequireRole(RoleAdmin)

	api := a.apiChain()
	mux := http.NewServeMux()
	v1 := func(pattern string, h http.Handler) { mux.Handle(pattern, api.Then(h)) }
	v1("POST /v1/auth/register", envelope.HandleResult(a.register))
	// Login attempts are throttled by the handler, which knows the email
	// (loginThrottle).
	v1("POST /v1/auth/login", noStore(envelope.Handle(a.login)))
	v1("POST /v1/auth/refresh", noStore(envelope.Handle(a.refresh)))
	v1("POST /v1/auth/logout", envelope.HandleNoContent(a.logout))
	v1("GET /v1/users/me", user(envelope.Handle(a.me)))
	v1("GET /v1/users/me/activity", user(envelope.Handle(a.activity)))
	v1("GET /v1/users/{id}", user(envelope.Handle(a.getUser)))
	v1("PATCH /v1/users/{id}", user(envelope.Handle(a.patchUser)))
	v1("GET /v1/users", admin(envelope.HandleResult(a.listUsers)))
	v1("POST /v1/accounts", user(envelope.HandleResult(a.openAccount)))
	v1("GET /v1/accounts", user(envelope.HandleResult(a.listAccounts)))
	v1("GET /v1/accounts/{id}", user(envelope.Handle(a.getAccount)))
	v1("POST /v1/accounts/{id}/deposits", user(envelope.Handle(a.deposit)))
	v1("GET /v1/accounts/{id}/transfers", user(envelope.HandleResult(a.listTransfers)))
	v1("POST /v1/transfers", user(envelope.HandleResult(a.transfer)))
	mux.Handle("GET /healthz", envelope.Handle(func(*http.Request) (map[string]string, error) {
		return map[string]string{"status": "ok"}, nil
	}))
	mux.Handle("GET /readyz", envelope.Handle(a.readyz))
	mux.Handle("GET /metrics", a.tel.metrics) // Prometheus text format (telemetry.go)
	if k := a.cfg.SigningKey; k != nil && k.Public() != nil {
		// Asymmetric keys: publish the public ones, for other services
		// (auth/jwks) to verify this service's tokens.
		mux.Handle("GET /.well-known/jwks.json", a.tokens.JWKSHandler())
	}

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
		middleware.OptionalAuth(a.tokens),
		middleware.RateLimitWithOptions(middleware.RateLimitOptions{Limiter: a.limits.api, Key: middleware.KeyByUser, Policy: "api", MeterProvider: a.tel.meters}),
		// The body is read before the database gate, under the request
		// deadline: a client sending it slowly holds no database slot.
		readBody(envelope.DefaultMaxBytes),
		a.gate.Handler,
	)
}

// outer wraps h in the middleware every request passes.
func (a *App) outer(h http.Handler) http.Handler {
	return middleware.Chain(
		a.telemetryMiddleware(), // first: the span is in every later context, the log lines too
		middleware.RequestID,
		middleware.ClientIP{TrustedProxies: a.cfg.TrustedProxies}.Handler,
		// Logger before Recover: a panic's value and stack land in the
		// request's one log line.
		middleware.LoggerWithOptions(middleware.LoggerOptions{Logger: a.logger}),
		middleware.RecoverWithOptions(middleware.RecoverOptions{Logger: a.logger}),
		middleware.SecurityHeaders,
		// Inside the logger, so that the access log records the 504 a
		// request past its deadline gets.
		middleware.Timeout(a.cfg.requestTimeout()),
	).Then(h)
}

// noStore marks a response that carries tokens as not to be stored by any
// cache (RFC 6749 §5.1, RFC 9111 §5.2.2.5).
func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}
