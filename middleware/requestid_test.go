package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/middleware"
)

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRequestID(t *testing.T) {
	tests := []struct {
		name    string
		inbound []string
		keep    bool
	}{
		{"none", nil, false},
		{"simple", []string{"abc-123"}, true},
		{"all allowed characters", []string{"AZaz09._-"}, true},
		{"one character", []string{"x"}, true},
		{"64 characters", []string{strings.Repeat("a", 64)}, true},
		{"65 characters", []string{strings.Repeat("a", 65)}, false},
		{"empty", []string{""}, false},
		{"space", []string{"a b"}, false},
		{"newline", []string{"a\nb"}, false},
		{"quote", []string{`a"b`}, false},
		{"non-ascii", []string{"é"}, false},
		{"slash", []string{"a/b"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ctxID string
			h := middleware.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctxID = envelope.RequestID(r.Context())
			}))
			req := httptest.NewRequest("GET", "/", nil)
			for _, v := range tt.inbound {
				req.Header.Add("X-Request-Id", v)
			}
			rec := serve(h, req)
			got := rec.Header().Get("X-Request-Id")
			assert.Equal(t, got, ctxID, "the response header and the context carry the same id")
			if tt.keep {
				assert.Equal(t, tt.inbound[0], got, "a safe inbound id is kept")
			} else {
				assert.Regexp(t, uuidV7, got, "an unsafe or missing id is replaced by a UUIDv7")
			}
		})
	}
}

func TestRequestIDInEnvelope(t *testing.T) {
	h := middleware.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = envelope.WriteError(w, r, envelope.Forbidden("no"))
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-Request-Id", "req-42")
	rec := serve(h, req)
	assert.Equal(t, "req-42", decodeEnvelope(t, rec.Body.Bytes()).Meta.RequestID, "meta.requestId is the request id")
}

func TestNewRequestID(t *testing.T) {
	seen := make(map[string]bool)
	prev := ""
	for range 1000 {
		id := middleware.NewRequestID()
		require.Regexp(t, uuidV7, id, "a UUIDv7 in text form")
		require.False(t, seen[id], "ids are unique")
		require.True(t, middleware.ValidRequestID(id), "generated ids pass the inbound check")
		seen[id] = true
		// Issue 17 item 7: ids made back to back are strictly increasing.
		require.Greater(t, id, prev, "ids sort in the order they were made")
		prev = id
	}
}

func BenchmarkNewRequestID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = middleware.NewRequestID()
	}
}

// FuzzRequestID feeds arbitrary inbound ids: the id used is always safe for
// a header and a log line, and is the inbound one exactly when that is safe.
func FuzzRequestID(f *testing.F) {
	for _, s := range []string{"abc", "", "a b", strings.Repeat("x", 65), "é", "id\r\nX-Evil: 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, inbound string) {
		var ctxID string
		h := middleware.RequestID(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			ctxID = envelope.RequestID(r.Context())
		}))
		req := httptest.NewRequest("GET", "/", nil)
		req.Header["X-Request-Id"] = []string{inbound}
		rec := serve(h, req)
		got := rec.Header().Get("X-Request-Id")
		if got != ctxID || !middleware.ValidRequestID(got) {
			t.Fatalf("inbound %q gave header %q and context %q", inbound, got, ctxID)
		}
		if middleware.ValidRequestID(inbound) != (got == inbound) {
			t.Fatalf("inbound %q: kept=%v, valid=%v", inbound, got == inbound, middleware.ValidRequestID(inbound))
		}
	})
}
