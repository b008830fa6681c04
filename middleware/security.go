package middleware

import "net/http"

// SecurityHeaders sets, before the handler runs, the response headers that
// keep browsers from misusing an API response:
//
//	X-Content-Type-Options: nosniff
//	X-Frame-Options: DENY
//	Content-Security-Policy: frame-ancestors 'none'
//	Referrer-Policy: no-referrer
//
// A handler may still overwrite any of them. It is opt-in: add it to a chain
// where the responses reach browsers.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}
