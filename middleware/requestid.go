package middleware

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/internal/httpstate"
)

// RequestIDHeader is the header RequestID reads and writes.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen is the longest inbound request id kept.
const maxRequestIDLen = 64

// RequestID gives every request an id: the inbound X-Request-Id when it is 1
// to 64 characters of [A-Za-z0-9._-] (so a proxy's id carries through, and
// nothing a client sends can inject into logs or headers), else a new one
// from NewRequestID. The id is set on the response header and in the request
// context, where envelope.RequestID finds it for meta.requestId and logs.
//
// Behind a middleware of this package that put the request's state in
// place (Telemetry) the id goes there and the request is handed on as it
// came; otherwise it is derived with a new context.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !ValidRequestID(id) {
			id = NewRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		if httpstate.From(r.Context()).SetRequestID(id) {
			next.ServeHTTP(w, r)
			return
		}
		serveDerived(next, w, r.WithContext(envelope.WithRequestID(r.Context(), id)))
	})
}

// ValidRequestID reports whether id is 1 to 64 characters of
// [A-Za-z0-9._-], the inbound ids RequestID keeps.
func ValidRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// NewRequestID returns a new UUID version 7 (RFC 9562) in its 36-character
// text form, from github.com/google/uuid: 48 bits of Unix milliseconds, a
// sub-millisecond sequence that keeps one process's ids increasing, then
// random bits from crypto/rand. Ids from many instances never need
// coordination, sort by time, and are what log tools and databases
// recognise as UUIDs.
func NewRequestID() string { return uuid.Must(uuid.NewV7()).String() }
