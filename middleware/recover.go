package middleware

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/svckit/svckit/envelope"
)

// RecoverOptions configure RecoverWithOptions. The zero value is what
// Recover uses.
type RecoverOptions struct {
	// Logger receives the panic when no Logger middleware in front of
	// Recover writes the request's line (else the panic, with its stack,
	// goes into that line and is logged once). Nil means slog.Default():
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
// into a 500 INTERNAL_ERROR envelope carrying the request id. The client
// never sees the panic value or the stack; both are logged once: in the line
// of a Logger placed in front of Recover (the order Chain(RequestID,
// ClientIP.Handler, Logger, Recover) gives), else through opts.Logger.
// It is the one recoverer of a request: envelope's handler adapters do not
// recover.
//
// A panic with http.ErrAbortHandler is re-panicked untouched: it is the
// handler's way of asking net/http to abort the response. When the handler
// had already started the response, nothing more is written (a second
// status line would corrupt it): the panic is recorded and Recover panics
// with http.ErrAbortHandler so the server drops the connection and the
// client sees a broken response rather than a truncated one that looks
// complete.
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
				recovered(opts.Logger, rw, r, &panicError{value: v, stack: debug.Stack()})
			}()
			next.ServeHTTP(rw, r)
		})
	}
}

// panicError is a recovered panic on its way to the request's log line.
// It has no Unwrap on purpose: a panic is always a 500, whatever the value.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("middleware: panic: %v", p.value) }

// Stack returns the stack of the goroutine that panicked, without its
// first line (which names a goroutine nobody can relate to).
func (p *panicError) Stack() string {
	if i := bytes.IndexByte(p.stack, '\n'); i >= 0 {
		return string(p.stack[i+1:])
	}
	return string(p.stack)
}

// recovered answers with a 500 when the response has not started, and
// sees that the panic is logged once: by the Logger in front when there is
// one that has not written its line yet, else here.
func recovered(logger *slog.Logger, rw *responseWriter, r *http.Request, pe *panicError) {
	if !rw.accessLog || rw.logged {
		if logger == nil {
			logger = slog.Default()
		}
		ctx := r.Context()
		logger.LogAttrs(ctx, slog.LevelError, "middleware: panic recovered",
			slog.String("panic", fmt.Sprint(pe.value)),
			slog.String("requestId", envelope.RequestID(ctx)),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Bool("responseStarted", rw.started),
			slog.String("stack", pe.Stack()),
		)
	}
	if rw.started {
		rw.RecordError(pe)
		panic(http.ErrAbortHandler)
	}
	_ = envelope.WriteError(rw, r, envelope.Internal(pe))
}
