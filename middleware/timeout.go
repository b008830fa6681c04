package middleware

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/internal/httpstate"
)

// Timeout returns a middleware that gives each request a context deadline d
// from now and, when the handler returns after the deadline passed without
// having written anything, answers 504 TIMEOUT.
//
// The handler runs on the request's own goroutine and Timeout writes only
// after it has returned, so the two never write concurrently and no
// goroutine is left behind. The price is that a handler that ignores its
// context is not cut short: the deadline is a request to stop, which
// database/sql, net/http clients and the other context-aware calls honour.
// (http.TimeoutHandler answers on time instead, by buffering the whole
// response in memory and running the handler on another goroutine.)
//
// A d of zero or less sets no deadline, as a zero timeout of http.Server
// does: the middleware hands requests on unchanged.
func Timeout(d time.Duration) func(http.Handler) http.Handler {
	if d <= 0 {
		return passThrough
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			ctx, _ = httpstate.Ensure(ctx) // the middleware behind fill it in
			rw := wrap(w)
			serveDerived(next, rw, r.WithContext(ctx))
			if !rw.started && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				_ = envelope.WriteError(rw, r, envelope.Timeout().Wrap(ctx.Err()))
			}
		})
	}
}
