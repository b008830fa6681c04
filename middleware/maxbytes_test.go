package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/middleware"
)

func TestMaxBytes(t *testing.T) {
	// echo reads the whole body and renders a read error with envelope.
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			_ = envelope.WriteError(w, r, err)
			return
		}
		_, _ = w.Write(b)
	})
	tests := []struct {
		name          string
		body          string
		contentLength int64
		status        int
	}{
		{"under the limit", "12345", 5, http.StatusOK},
		{"at the limit", "1234567890", 10, http.StatusOK},
		{"declared too large", "12345678901", 11, http.StatusRequestEntityTooLarge},
		{"streamed too large", strings.Repeat("x", 100), -1, http.StatusRequestEntityTooLarge},
		{"no body", "", 0, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
			req.ContentLength = tt.contentLength
			rec := serve(middleware.MaxBytes(10)(echo), req)
			assert.Equal(t, tt.status, rec.Code, "status: %s", rec.Body.String())
			if tt.status == http.StatusOK {
				assert.Equal(t, tt.body, rec.Body.String(), "body passes")
			} else {
				assert.Equal(t, "PAYLOAD_TOO_LARGE", errorCode(t, rec), "413 envelope")
			}
		})
	}
	big := strings.Repeat("x", 1<<20)
	rec := serve(middleware.MaxBytes(-1)(echo), httptest.NewRequest("POST", "/", strings.NewReader(big)))
	assert.Equal(t, http.StatusOK, rec.Code, "a negative limit is none")
	assert.Equal(t, len(big), rec.Body.Len(), "the whole body reaches the handler")
}
