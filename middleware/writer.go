package middleware

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/svckit/svckit/envelope"
)

// responseWriter records what a handler did with its http.ResponseWriter:
// whether the response started, its status and its size. It keeps Flush and
// Hijack available and unwraps for http.ResponseController.
//
// The middleware of this package share one responseWriter per request: wrap
// returns the one already in place, so stacking Logger, Recover and Timeout
// adds one wrapper, not three.
type responseWriter struct {
	http.ResponseWriter
	status  int
	bytes   int64
	started bool

	// err is what envelope and Recover recorded for the request's log line.
	err error
	// accessLog says a Logger in front writes the request's line; logged
	// says it has.
	accessLog, logged bool
	// pattern is the route pattern the mux set on a request derived by a
	// middleware of this package (see serveDerived).
	pattern string
}

var _ envelope.ErrorRecorder = (*responseWriter)(nil)

// wrap returns w as a *responseWriter, reusing it when it already is one,
// or when it is envelope.Routes' writer for a request that matched a route,
// which then only passes writes through.
func wrap(w http.ResponseWriter) *responseWriter {
	switch t := w.(type) {
	case *responseWriter:
		return t
	case interface {
		Routed() bool
		Unwrap() http.ResponseWriter
	}:
		if rw, ok := t.Unwrap().(*responseWriter); ok && t.Routed() {
			return rw
		}
	}
	return &responseWriter{ResponseWriter: w}
}

// WriteHeader records the first final status. Informational statuses (1xx
// other than 101) pass through without starting the response.
func (w *responseWriter) WriteHeader(code int) {
	if !w.started {
		if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
			w.ResponseWriter.WriteHeader(code)
			return
		}
		w.status, w.started = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write starts the response with 200 when no status was written, as
// net/http does, and counts the bytes written.
func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.started {
		w.status, w.started = http.StatusOK, true
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom implements io.ReaderFrom, so io.Copy to the response keeps the
// underlying writer's fast path (sendfile for files).
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if !w.started {
		w.status, w.started = http.StatusOK, true
	}
	n, err := io.Copy(w.ResponseWriter, src)
	w.bytes += n
	return n, err
}

// Flush implements http.Flusher; it starts the response.
func (w *responseWriter) Flush() {
	if !w.started {
		w.status, w.started = http.StatusOK, true
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
		return
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker when the underlying writer can hijack;
// otherwise it returns an error wrapping http.ErrNotSupported. A hijacked
// response counts as started.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.started = true
		if w.status == 0 {
			w.status = http.StatusSwitchingProtocols
		}
	}
	return conn, rw, err
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusCode returns the status written, or 200 when nothing was written
// (what net/http sends when a handler returns without writing).
func (w *responseWriter) statusCode() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// RecordError keeps err, the error behind the response, for Logger's line.
// envelope.WriteError calls it.
func (w *responseWriter) RecordError(err error) {
	w.err = errors.Join(w.err, err)
}

// HeaderWritten reports whether the response has started; envelope's
// WriteError asks it before writing an error.
func (w *responseWriter) HeaderWritten() bool { return w.started }

// serveDerived serves derived, a copy of the request with a new context or
// body, and then keeps the route pattern that http.ServeMux set on the copy
// in the request's shared writer, where Logger and Telemetry further out
// find it (see route). The request the middleware was handed is never
// written to.
func serveDerived(next http.Handler, w http.ResponseWriter, derived *http.Request) {
	next.ServeHTTP(w, derived)
	if derived.Pattern != "" {
		if rw, ok := w.(*responseWriter); ok && rw.pattern == "" {
			rw.pattern = derived.Pattern
		}
	}
}

// route returns the route pattern of r: the one the mux set on r itself,
// else the one it set on a copy derived further in.
func (w *responseWriter) route(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return w.pattern
}
