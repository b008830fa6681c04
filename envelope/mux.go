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
// With an *http.ServeMux each request is routed once: the mux serves it
// through a writer that passes a matched route's response through untouched
// (middleware and envelope's adapters behind it write to the writer they
// were given) and replaces only the mux's own 404 and 405 answers. The
// request is handed to the mux as it came, and the mux sets its Pattern as
// http.ServeMux does. Another Router costs one extra lookup per request:
// Handler first, then ServeHTTP.
func Routes(mux Router) http.Handler {
	if sm, ok := mux.(*http.ServeMux); ok {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sm.ServeHTTP(&routeWriter{ResponseWriter: w, r: r}, r)
		})
	}
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

// routeWriter is the writer Routes hands an *http.ServeMux. The mux sets
// r.Pattern before it calls a handler, empty when no route matched; until
// then, and for a matched route, everything passes through. For no route
// it keeps the mux's own headers aside and turns its 404 and 405 into
// envelopes; any other answer of the mux (a redirect) goes out as the mux
// wrote it.
type routeWriter struct {
	http.ResponseWriter
	r *http.Request
	// own holds the headers the mux set for its own answer.
	own http.Header
	// replaced says the mux's answer was replaced by an envelope; passed
	// says it went out as it was.
	replaced, passed bool
}

// Routed reports whether the mux matched a route, so that the writer only
// passes writes through: middleware.wrap and Track then use the writer it
// wraps.
func (w *routeWriter) Routed() bool { return w.r.Pattern != "" }

func (w *routeWriter) Header() http.Header {
	if w.Routed() || w.passed {
		return w.ResponseWriter.Header()
	}
	if w.own == nil {
		w.own = http.Header{}
	}
	return w.own
}

func (w *routeWriter) WriteHeader(status int) {
	switch {
	case w.Routed() || w.passed:
		w.ResponseWriter.WriteHeader(status)
	case w.replaced:
	case status == http.StatusNotFound:
		w.replaced = true
		_ = WriteError(w.ResponseWriter, w.r, New(http.StatusNotFound, CodeNotFound, "no such route"))
	case status == http.StatusMethodNotAllowed:
		w.replaced = true
		var allow []string
		for _, m := range strings.Split(w.own.Get("Allow"), ",") {
			if m = strings.TrimSpace(m); m != "" {
				allow = append(allow, m)
			}
		}
		_ = WriteError(w.ResponseWriter, w.r, MethodNotAllowed(allow...))
	default:
		w.passed = true
		h := w.ResponseWriter.Header()
		for k, vs := range w.own {
			h[k] = vs
		}
		w.ResponseWriter.WriteHeader(status)
	}
}

func (w *routeWriter) Write(b []byte) (int, error) {
	if !w.Routed() && !w.passed && !w.replaced {
		w.WriteHeader(http.StatusOK)
	}
	if w.replaced && !w.Routed() {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Flush flushes the writer it wraps, when it can.
func (w *routeWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap returns the writer it wraps, for http.ResponseController.
func (w *routeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

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
