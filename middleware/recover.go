package middleware

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/svckit/svckit/envelope"
)

// RecoverOptions configure RecoverWithOptions. The zero value is what
// Recover uses.
type RecoverOptions struct {
	// Logger receives one error line per recovered panic, with the value, the
	// stack, the request id, method and path. Nil means slog.Default():
	// unlike the package's other reports, a panic is a bug that must not
	// vanish, and net/http also logs the panics it recovers by default. Pass
	// a logger with slog.DiscardHandler to silence it.
	Logger *slog.Logger
}

// Recover is RecoverWithOptions with the zero options.
func Recover(next http.Handler) http.Handler {
	return RecoverWithOptions(RecoverOptions{})(next)
}

// RecoverWithOptions returns a middleware that turns a panic in the handler
// into a 500 INTERNAL_ERROR envelope carrying the request id, after logging
// the panic value and stack. The client never sees either.
//
// A panic with http.ErrAbortHandler is re-panicked untouched: it is the
// handler's way of asking net/http to abort the response. When the handler
// had already started the response, nothing more is written (a second
// status line would corrupt it): the panic is logged and Recover panics with
// http.ErrAbortHandler so the server drops the connection and the client sees
// a broken response rather than a truncated one that looks complete.
func RecoverWithOptions(opts RecoverOptions) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rw := wrap(w)
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				recovered(opts.Logger, rw, r, v, debug.Stack())
			}()
			next.ServeHTTP(rw, r)
		})
	}
}

// recovered logs a panic and answers with a 500 when the response has not
// started.
func recovered(logger *slog.Logger, rw *responseWriter, r *http.Request, v any, stack []byte) {
	if logger == nil {
		logger = slog.Default()
	}
	ctx := r.Context()
	logger.LogAttrs(ctx, slog.LevelError, "middleware: panic recovered",
		slog.String("panic", fmt.Sprint(v)),
		slog.String("requestId", envelope.RequestID(ctx)),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Bool("responseStarted", rw.started),
		slog.String("stack", string(stack)),
	)
	if rw.started {
		panic(http.ErrAbortHandler)
	}
	// The panic is reported above; keep envelope from logging it again.
	quiet := r.WithContext(envelope.WithLogger(ctx, discardLogger()))
	_ = envelope.WriteError(rw, quiet, envelope.Internal(fmt.Errorf("middleware: panic: %v", v)))
}

// discardLogger returns a logger that drops everything.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
