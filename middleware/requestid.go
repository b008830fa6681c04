package middleware

import (
	"crypto/rand"
	"encoding/binary"
	"net/http"
	"time"

	"github.com/svckit/svckit/envelope"
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
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !ValidRequestID(id) {
			id = NewRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		serveDerived(next, w, r, r.WithContext(envelope.WithRequestID(r.Context(), id)))
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
// text form: 48 bits of Unix milliseconds, then 74 random bits from
// crypto/rand. Ids from many instances never need coordination, sort by
// time, and are what log tools and databases recognise as UUIDs.
func NewRequestID() string {
	var u [16]byte
	binary.BigEndian.PutUint64(u[:8], uint64(time.Now().UnixMilli())<<16)
	_, _ = rand.Read(u[6:]) // crypto/rand.Read never fails (Go 1.24+).
	u[6] = u[6]&0x0f | 0x70 // version 7
	u[8] = u[8]&0x3f | 0x80 // variant 10
	return formatUUID(u)
}

func formatUUID(u [16]byte) string {
	const hexdigits = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexdigits[c>>4], hexdigits[c&0x0f]
		j += 2
	}
	return string(b[:])
}
