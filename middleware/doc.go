// Package middleware holds net/http middleware for API services, each a
// plain func(http.Handler) http.Handler, so they work with http.ServeMux, chi
// and gorilla alike, and each in its own file:
//
//   - RequestID: keeps a safe inbound X-Request-Id or makes a UUIDv7, and
//     puts it in the context for envelope's meta.requestId and the logs;
//   - Recover: a panic becomes a 500 INTERNAL_ERROR envelope, logged with
//     its stack;
//   - Logger: one slog line per request, never a header or a body;
//   - ClientIP: the client address, believing X-Forwarded-For only from
//     trusted proxies;
//   - RateLimit: 429 with Retry-After and the IETF RateLimit fields, backed
//     by a ratelimit.Limiter (in memory, or shared through Redis with
//     ratelimit/redisstore);
//   - Timeout, MaxBytes, SecurityHeaders;
//   - CORS: the Fetch standard's CORS protocol for an allow-list of
//     origins (preflights answered before authentication, Vary: Origin),
//     beside Go's http.CrossOriginProtection, which CORS's doc tells when
//     to use;
//   - Telemetry: an OpenTelemetry server span per request (continuing an
//     inbound W3C traceparent) and the http.server.request.duration
//     histogram by route pattern, with TraceLogHandler adding trace_id and
//     span_id to the log records of the request.
//
// Telemetry and RateLimit report through the OpenTelemetry API to the
// providers in their options, the global ones when nil; with none
// installed, RateLimit's decision counter costs no allocation (the rules
// are those of every svckit package: instruments made at construction,
// attribute sets prebuilt, cardinality bounded by code, never a key or a
// raw path).
//
// Bearer tokens and roles (401 and 403 as RFC 6750 describes) are package
// auth's middleware, auth.Bearer, auth.OptionalBearer and auth.RequireRole,
// so importing this package compiles no JWT or password-hashing code.
//
// Errors are written with envelope.WriteError, so every failure has the
// envelope shape and the request id. Chain composes middleware in reading
// order:
//
//	ip := middleware.ClientIP{TrustedProxies: proxies}
//	api := middleware.Chain(
//		middleware.RequestID,
//		ip.Handler,
//		middleware.Logger,
//		middleware.Recover,
//	).Then(envelope.Routes(mux))
//
// Each request is logged once: Logger writes one line when it ends, and the
// cause of a failure goes into that line, handed over by envelope.WriteError
// (see envelope.ErrorRecorder) and, for a panic, by Recover placed after
// Logger. No package here logs anything else per request, and none reads a
// logger from the context.
//
// The middleware that wrap the http.ResponseWriter (Recover, Logger,
// Timeout) share one wrapper per request, which envelope's handler adapters
// reuse too, and which keeps http.Flusher, http.Hijacker and
// http.ResponseController (flush, deadlines) working through Unwrap.
package middleware
