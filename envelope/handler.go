package envelope

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
)

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
// status 200 in the success envelope, an error goes through WriteError.
// A panic in fn is recovered and rendered as 500 INTERNAL_ERROR (logged with
// its stack); http.ErrAbortHandler is re-panicked, and so is any panic after
// the header was sent, as http.ErrAbortHandler, so the client sees a broken
// response rather than a mangled one. The handler is safe for concurrent use
// if fn is.
func Handle[T any](fn func(r *http.Request) (T, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &trackingWriter{ResponseWriter: w}
		defer recoverPanic(tw, r)
		v, err := fn(r)
		if err != nil {
			_ = WriteError(tw, r, err)
			return
		}
		_ = Write(tw, r, http.StatusOK, v, nil)
	})
}

// HandleResult is Handle for functions that choose the status, meta and
// headers, for example Created(user) or Paginated(users, page, size, total).
func HandleResult[T any](fn func(r *http.Request) (Result[T], error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &trackingWriter{ResponseWriter: w}
		defer recoverPanic(tw, r)
		res, err := fn(r)
		if err != nil {
			_ = WriteError(tw, r, err)
			return
		}
		setHeader(tw.Header(), res.Header)
		_ = Write(tw, r, res.Status, res.Data, res.Meta)
	})
}

// HandleNoContent is Handle for functions with no result, such as logout: a
// nil error sends 204 No Content with no body.
func HandleNoContent(fn func(r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &trackingWriter{ResponseWriter: w}
		defer recoverPanic(tw, r)
		if err := fn(r); err != nil {
			_ = WriteError(tw, r, err)
			return
		}
		tw.WriteHeader(http.StatusNoContent)
	})
}

// Track wraps h so that Write and WriteError in it can tell when the header
// was already sent (see HeaderWritten) and refuse to append a second
// response. Handle, HandleResult and HandleNoContent do this on their own;
// Track is for plain handlers. A writer that already reports
// HeaderWritten is passed through unchanged.
func Track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(interface{ HeaderWritten() bool }); ok {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(&trackingWriter{ResponseWriter: w}, r)
	})
}

// recoverPanic must be deferred directly so that recover sees the panic.
func recoverPanic(w *trackingWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	err := &panicError{value: v, stack: debug.Stack()}
	if w.written {
		ctx := requestContext(r)
		logCause(ctx, r, http.StatusInternalServerError, CodeInternal, err)
		loggerFrom(ctx).LogAttrs(ctx, slog.LevelWarn, "envelope: panic after the response started, aborting",
			slog.String("requestId", RequestID(ctx)))
		panic(http.ErrAbortHandler)
	}
	_ = WriteError(w, r, err)
}

// panicError carries a recovered panic value to WriteError, which renders
// it as 500 and logs it with the stack. It has no Unwrap on purpose: a
// panic is always a 500, whatever the value.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("envelope: panic: %v", p.value) }

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
