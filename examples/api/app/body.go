package app

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/svckit/svckit/envelope"
)

// errBodyTimeout answers a request whose body has not arrived by the
// request deadline: 408 REQUEST_TIMEOUT, and the connection is closed, as
// RFC 9110 §15.5.9 asks.
var errBodyTimeout = func() error {
	e := envelope.New(http.StatusRequestTimeout, "REQUEST_TIMEOUT", "the request body did not arrive in time")
	e.Header = http.Header{"Connection": {"close"}}
	return e
}()

// readBody returns the middleware that reads a request's whole body, at
// most limit bytes, before the next handler runs, and hands that handler a
// copy of the request whose body is the bytes read. The body must arrive by
// the request's deadline (middleware.Timeout's, set on the connection
// through http.ResponseController); past it the answer is 408 and the
// connection is closed. In the /v1 chain it sits before the database gate,
// so a client that sends its body slowly, or stops half way, holds a
// goroutine and a connection, never a database slot.
//
// Any other read failure (a body over limit, a truncated one) is kept for
// the handler: its body returns the bytes read, then that error, so the
// handler answers as it would have (413, 400).
func readBody(limit int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body == nil || r.Body == http.NoBody {
				next.ServeHTTP(w, r)
				return
			}
			if r.ContentLength > limit {
				_ = envelope.WriteError(w, r, envelope.PayloadTooLarge(limit))
				return
			}
			rc := http.NewResponseController(w)
			deadline, ok := r.Context().Deadline()
			ok = ok && rc.SetReadDeadline(deadline) == nil
			data, err := readAtMost(r.Body, r.ContentLength, limit)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				// The deadline stays passed, so that net/http gives up at
				// once on the rest of the body and closes the connection.
				_ = envelope.WriteError(w, r, errBodyTimeout)
				return
			}
			if ok {
				// No deadline while the handler runs: net/http's own read
				// for the next request would cancel this one's context
				// when it passed. The next request sets its own.
				_ = rc.SetReadDeadline(time.Time{})
			}
			r2 := *r
			r2.Body = &readBodyResult{r: bytes.NewReader(data), err: err}
			next.ServeHTTP(w, &r2)
		})
	}
}

// readAtMost reads body to its end, or to limit bytes and one more, which
// it reports as an *http.MaxBytesError (as http.MaxBytesReader does, so
// envelope renders 413). length, the Content-Length (-1 when unknown),
// sizes the buffer.
func readAtMost(body io.Reader, length, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	if length > 0 {
		buf.Grow(int(min(length, limit)) + 1)
	}
	_, err := buf.ReadFrom(io.LimitReader(body, limit+1))
	if err == nil && int64(buf.Len()) > limit {
		return buf.Bytes()[:limit], &http.MaxBytesError{Limit: limit}
	}
	return buf.Bytes(), err
}

// readBodyResult is the body readBody hands on: the bytes it read, then
// the error its read ended with (io.EOF when none).
type readBodyResult struct {
	r   *bytes.Reader
	err error
}

func (b *readBodyResult) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF && b.err != nil {
		return n, b.err
	}
	return n, err
}

// Close does nothing: net/http closes the request's own body.
func (b *readBodyResult) Close() error { return nil }
