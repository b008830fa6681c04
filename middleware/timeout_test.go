package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/middleware"
)

func TestTimeout(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		status  int
		body    string
	}{
		{
			name: "handler waits for the deadline and writes nothing",
			handler: func(_ http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
			},
			status: http.StatusGatewayTimeout,
		},
		{
			name: "handler answers after the deadline",
			handler: func(w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = io.WriteString(w, "own answer")
			},
			status: http.StatusServiceUnavailable,
			body:   "own answer",
		},
		{
			name: "handler answers in time",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, hasDeadline := r.Context().Deadline()
				if hasDeadline {
					_, _ = io.WriteString(w, "ok")
				}
			},
			status: http.StatusOK,
			body:   "ok",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := middleware.Chain(middleware.RequestID, middleware.Timeout(time.Millisecond)).Then(tt.handler)
			rec := serve(h, httptest.NewRequest("GET", "/", nil))
			require.Equal(t, tt.status, rec.Code, "status")
			if tt.status == http.StatusGatewayTimeout {
				assert.Equal(t, "TIMEOUT", errorCode(t, rec), "504 envelope")
				assert.NotEmpty(t, decodeEnvelope(t, rec.Body.Bytes()).Meta.RequestID, "with the request id")
			} else {
				assert.Equal(t, tt.body, rec.Body.String(), "the handler's body, nothing appended")
			}
		})
	}
	for _, d := range []time.Duration{0, -time.Second} {
		var deadline bool
		h := middleware.Timeout(d)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, deadline = r.Context().Deadline()
			w.WriteHeader(http.StatusNoContent)
		}))
		rec := serve(h, httptest.NewRequest("GET", "/", nil))
		assert.Equal(t, http.StatusNoContent, rec.Code, "Timeout(%v) hands the request on", d)
		assert.False(t, deadline, "Timeout(%v) sets no deadline", d)
	}
}

// TestTimeoutOverServer runs slow handlers on a real server under -race:
// the 504 is written only after the handler returned, so there is no
// concurrent write to detect.
func TestTimeoutOverServer(t *testing.T) {
	srv := httptest.NewServer(middleware.Timeout(time.Millisecond)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		w.Header().Set("X-Late", "set after the deadline")
	})))
	defer srv.Close()
	for range 20 {
		res, err := srv.Client().Get(srv.URL)
		require.NoError(t, err, "request")
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		assert.Equal(t, http.StatusGatewayTimeout, res.StatusCode, "504")
	}
}
