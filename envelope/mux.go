package envelope

import (
	"net/http"
	"strings"
)

// Router is what Routes needs of a request multiplexer: *http.ServeMux
// satisfies it.
type Router interface {
	http.Handler
	// Handler reports the handler for r and the pattern it matched, "" when
	// no route matched and the router would answer with its own error.
	Handler(r *http.Request) (h http.Handler, pattern string)
}

var _ Router = (*http.ServeMux)(nil)

// Routes returns a handler that serves mux, except that the router's own
// answers for a request no route matches render as envelopes: 404 NOT_FOUND
// for an unknown path, and 405 METHOD_NOT_ALLOWED with the Allow header for a
// known path asked with another method. Redirects the router makes (a
// missing trailing slash, an unclean path) pass through unchanged.
//
// Matched requests cost one extra route lookup.
func Routes(mux Router) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := statusRecorder{header: http.Header{}}
		h.ServeHTTP(&rec, r)
		switch rec.status {
		case http.StatusNotFound:
			_ = WriteError(w, r, New(http.StatusNotFound, CodeNotFound, "no such route"))
		case http.StatusMethodNotAllowed:
			var allow []string
			for _, m := range strings.Split(rec.header.Get("Allow"), ",") {
				if m = strings.TrimSpace(m); m != "" {
					allow = append(allow, m)
				}
			}
			_ = WriteError(w, r, MethodNotAllowed(allow...))
		default:
			mux.ServeHTTP(w, r)
		}
	})
}

// statusRecorder keeps the status and headers of a router's own error
// handler and drops its plain-text body.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header { return s.header }

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return len(b), nil
}

func (s *statusRecorder) WriteHeader(status int) {
	if s.status == 0 {
		s.status = status
	}
}
