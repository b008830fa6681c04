package middleware

import (
	"net/http"

	"github.com/svckit/svckit/envelope"
)

// MaxBytes returns a middleware that limits request bodies to n bytes. A
// request whose Content-Length already exceeds n is answered 413
// PAYLOAD_TOO_LARGE at once, without calling the handler; otherwise the body
// is wrapped with http.MaxBytesReader, so reading past n fails with an
// *http.MaxBytesError, which envelope.WriteError renders as 413 too.
//
// A negative n means no limit, as envelope.DecodeOptions.MaxBytes reads
// it: the middleware hands requests on unchanged.
func MaxBytes(n int64) func(http.Handler) http.Handler {
	if n < 0 {
		return passThrough
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				_ = envelope.WriteError(w, r, envelope.PayloadTooLarge(n))
				return
			}
			if r.Body == nil || r.Body == http.NoBody {
				next.ServeHTTP(w, r)
				return
			}
			r2 := *r
			r2.Body = http.MaxBytesReader(w, r.Body, n)
			serveDerived(next, w, &r2)
		})
	}
}

// passThrough is the middleware that adds nothing: what Timeout and
// MaxBytes return for the values that mean "no limit".
func passThrough(next http.Handler) http.Handler { return next }
