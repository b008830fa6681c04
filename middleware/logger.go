package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/svckit/svckit/envelope"
)

// LoggerOptions configure LoggerWithOptions. The zero value is what Logger
// uses.
type LoggerOptions struct {
	// Logger receives the lines. Nil means slog.Default(): writing the access
	// log is this middleware's whole purpose.
	Logger *slog.Logger
	// Now is the clock used for durations. Nil means time.Now.
	Now func() time.Time
}

// Logger is LoggerWithOptions with the zero options.
func Logger(next http.Handler) http.Handler {
	return LoggerWithOptions(LoggerOptions{})(next)
}

// LoggerWithOptions returns a middleware that writes one structured line per
// request when it ends: method, route pattern, path, status, bytes written,
// duration, request id and client IP. Responses with a 5xx status are
// logged at level Error, the others at Info. A request whose handler panics
// is logged with status 500 and aborted=true before the panic goes on.
//
// The line is also where the cause of a failure is logged, once: for a 5xx
// response, "error" holds the error envelope.WriteError rendered (its text
// never reaches the client), and a panic that Recover, placed after Logger,
// recovered adds "panic" and "stack". A response envelope refused because
// the header was already sent adds "error" whatever the status.
//
// It never logs headers (so neither Authorization nor cookies), the query
// string or bodies.
//
// The route is Request.Pattern, which http.ServeMux (Go 1.22+) sets on the
// request it is given. The middleware of this package that derive a new
// request hand the pattern the mux set on their copy to the request's
// shared writer when the handler returns (never writing to the request
// they were handed), so Logger may sit anywhere in front of the mux; a
// third-party middleware between them that derives a request hides the
// route, which is then logged empty.
func LoggerWithOptions(opts LoggerOptions) func(http.Handler) http.Handler {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			logger := opts.Logger
			if logger == nil {
				logger = slog.Default()
			}
			start := now()
			rw := wrap(w)
			rw.accessLog = true
			before := rw.bytes
			completed := false
			defer func() {
				status := rw.statusCode()
				if !completed {
					status = http.StatusInternalServerError
				}
				level := slog.LevelInfo
				if status >= 500 {
					level = slog.LevelError
				}
				ctx := r.Context()
				// Room for every attribute below, so the list stays on
				// the stack: a literal then append moved it to the heap.
				var room [12]slog.Attr
				attrs := append(room[:0],
					slog.String("method", r.Method),
					slog.String("route", rw.route(r)),
					slog.String("path", r.URL.Path),
					slog.Int("status", status),
					slog.Int64("bytes", rw.bytes-before),
					slog.Duration("duration", now().Sub(start)),
					slog.String("requestId", envelope.RequestID(ctx)),
				)
				if ip := requestClientIP(r); ip.IsValid() {
					attrs = append(attrs, slog.String("clientIp", ip.String()))
				}
				if !completed {
					attrs = append(attrs, slog.Bool("aborted", true))
				}
				if rw.err != nil && (status >= 500 || errors.Is(rw.err, envelope.ErrHeaderWritten)) {
					attrs = append(attrs, slog.String("error", rw.err.Error()))
					if pe := (*panicError)(nil); errors.As(rw.err, &pe) {
						attrs = append(attrs, slog.String("panic", fmt.Sprint(pe.value)), slog.String("stack", pe.Stack()))
					}
				}
				logger.LogAttrs(ctx, level, "http request", attrs...)
				rw.logged = true
			}()
			next.ServeHTTP(rw, r)
			completed = true
		})
	}
}
