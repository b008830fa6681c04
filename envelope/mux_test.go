package envelope_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/envelope"
)

func TestRoutes(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /v1/users/{id}", envelope.Handle(func(r *http.Request) (string, error) {
		return r.PathValue("id"), nil
	}))
	mux.Handle("POST /v1/users/{id}", envelope.Handle(func(r *http.Request) (string, error) { return "posted", nil }))
	mux.Handle("GET /dir/", envelope.Handle(func(r *http.Request) (string, error) { return "dir", nil }))
	h := envelope.Routes(mux)

	for _, tc := range []struct {
		name, method, target string
		status               int
		code, allow, data    string
		location             string
	}{
		{name: "matched route", method: "GET", target: "/v1/users/7", status: 200, data: "7"},
		{name: "other method on a matched path", method: "POST", target: "/v1/users/7", status: 200, data: "posted"},
		{name: "unknown path", method: "GET", target: "/nope", status: 404, code: "NOT_FOUND"},
		{name: "wrong method", method: "DELETE", target: "/v1/users/7", status: 405, code: "METHOD_NOT_ALLOWED", allow: "GET, HEAD, POST"},
		{name: "missing trailing slash redirects", method: "GET", target: "/dir", status: http.StatusTemporaryRedirect, location: "/dir/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, nil))
			require.Equal(t, tc.status, rec.Code, "status of %s %s", tc.method, tc.target)
			if tc.location != "" {
				assert.Equal(t, tc.location, rec.Header().Get("Location"), "the router's redirect passes through")
				return
			}
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"), "every answer is JSON")
			var body struct {
				Data  *string `json:"data"`
				Error *struct {
					Code string `json:"code"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), "the body is an envelope: %s", rec.Body)
			if tc.code == "" {
				require.NotNil(t, body.Data, "a matched route answers with data")
				assert.Equal(t, tc.data, *body.Data)
				assert.Nil(t, body.Error, "data xor error")
				return
			}
			require.NotNil(t, body.Error, "the router's own error is an envelope error")
			assert.Equal(t, tc.code, body.Error.Code)
			assert.Nil(t, body.Data, "data xor error")
			assert.Equal(t, tc.allow, rec.Header().Get("Allow"), "405 keeps the Allow header")
		})
	}
}

// Routes turns ServeMux's plain-text 404 and 405 into envelopes.
func ExampleRoutes() {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", envelope.Handle(func(*http.Request) (string, error) { return "ok", nil }))
	h := envelope.Routes(mux)

	for _, req := range []*http.Request{
		httptest.NewRequest("GET", "/missing", nil),
		httptest.NewRequest("DELETE", "/healthz", nil),
	} {
		req = req.WithContext(envelope.WithClock(req.Context(), fixedClock))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Header().Get("Allow"), rec.Body.String())
	}
	// Output:
	// 404  {"error":{"code":"NOT_FOUND","message":"no such route"},"meta":{"timestamp":"2026-01-02T03:04:05Z"}}
	// 405 GET, HEAD {"error":{"code":"METHOD_NOT_ALLOWED","message":"method not allowed"},"meta":{"timestamp":"2026-01-02T03:04:05Z"}}
}
