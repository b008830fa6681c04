package envelope

import "net/http"

// Result is what a HandleResult function returns on success: the status,
// the data, optional meta (pagination, cursor) and optional headers such as
// Location. The zero value is a 200 with zero Data.
type Result[T any] struct {
	// Status is the response status; 0 means 200. 204 sends no body.
	Status int
	// Data is the payload.
	Data T
	// Meta is merged into the response meta; nil means timestamp and
	// request id only.
	Meta *Meta
	// Header holds extra response headers; nil means none.
	Header http.Header
}

// OK returns a 200 Result.
func OK[T any](data T) Result[T] {
	return Result[T]{Status: http.StatusOK, Data: data}
}

// Created returns a 201 Result.
func Created[T any](data T) Result[T] {
	return Result[T]{Status: http.StatusCreated, Data: data}
}

// Paginated returns a 200 Result whose meta.pagination is
// NewPagination(page, pageSize, total). A nil items renders as [].
func Paginated[T any](items []T, page, pageSize, total int) Result[[]T] {
	p := NewPagination(page, pageSize, total)
	return Result[[]T]{Status: http.StatusOK, Data: items, Meta: &Meta{Pagination: &p}}
}

// CursorPage returns a 200 Result whose meta.cursor is NewCursor(next):
// next is the opaque cursor of the following page, "" on the last page.
func CursorPage[T any](items []T, next string) Result[[]T] {
	c := NewCursor(next)
	return Result[[]T]{Status: http.StatusOK, Data: items, Meta: &Meta{Cursor: &c}}
}

// Handle adapts fn to an http.Handler: a nil error writes the value with
// status 200 in the success envelope, an error goes through WriteError. The
// handler is safe for concurrent use if fn is.
//
// Handle does not recover panics: one recoverer per request is enough, and
// that is middleware.Recover in front of the router (without it, net/http
// recovers, logs and cuts the connection). Handle tracks whether the header
// was sent (see HeaderWritten) with the writer it is given when that writer
// can tell, as middleware's writer can, and wraps it otherwise.
func Handle[T any](fn func(r *http.Request) (T, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w = tracked(w)
		v, err := fn(r)
		if err != nil {
			_ = WriteError(w, r, err)
			return
		}
		_ = Write(w, r, http.StatusOK, v, nil)
	})
}

// HandleResult is Handle for functions that choose the status, meta and
// headers, for example Created(user) or Paginated(users, page, size, total).
func HandleResult[T any](fn func(r *http.Request) (Result[T], error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w = tracked(w)
		res, err := fn(r)
		if err != nil {
			_ = WriteError(w, r, err)
			return
		}
		setHeader(w.Header(), res.Header)
		_ = Write(w, r, res.Status, res.Data, res.Meta)
	})
}

// HandleNoContent is Handle for functions with no result, such as logout: a
// nil error sends 204 No Content with no body.
func HandleNoContent(fn func(r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w = tracked(w)
		if err := fn(r); err != nil {
			_ = WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// Track wraps h so that Write and WriteError in it can tell when the header
// was already sent (see HeaderWritten) and refuse to append a second
// response. Handle, HandleResult and HandleNoContent do this on their own;
// Track is for plain handlers. A writer that already reports HeaderWritten,
// itself or through the writers it wraps, is passed through unchanged, so a
// request has one tracker.
func Track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(tracked(w), r)
	})
}

// tracked returns w when it or a writer it wraps reports HeaderWritten,
// else w wrapped in a trackingWriter.
func tracked(w http.ResponseWriter) http.ResponseWriter {
	if rw, ok := w.(*routeWriter); ok && rw.Routed() {
		w = rw.ResponseWriter // Routes' writer passes a route's writes through
	}
	for u := w; u != nil; {
		if _, ok := u.(interface{ HeaderWritten() bool }); ok {
			return w
		}
		next, ok := u.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		u = next.Unwrap()
	}
	return &trackingWriter{ResponseWriter: w}
}

// trackingWriter remembers whether the header was sent, so Write and
// WriteError can refuse to append a second response to the first.
type trackingWriter struct {
	http.ResponseWriter
	written bool
}

func (t *trackingWriter) WriteHeader(status int) {
	if status >= 200 || status == http.StatusSwitchingProtocols {
		t.written = true
	}
	t.ResponseWriter.WriteHeader(status)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.written = true
	return t.ResponseWriter.Write(b)
}

// Flush sends buffered data to the client (if the underlying writer can),
// which also sends the header.
func (t *trackingWriter) Flush() {
	t.written = true
	_ = http.NewResponseController(t.ResponseWriter).Flush()
}

// HeaderWritten reports whether the header was sent.
func (t *trackingWriter) HeaderWritten() bool { return t.written }

// Unwrap lets http.ResponseController reach the underlying writer.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
