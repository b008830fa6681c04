package envelope

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestServerBadInput sends bad requests through a real net/http server:
// every one gets a clear envelope error with the right status, never a 500,
// and the connection stays usable or is closed cleanly.
func TestServerBadInput(t *testing.T) {
	mux := http.NewServeMux()
	// A small limit keeps the too-large bodies under what net/http drains
	// after the handler, so the server never resets a connection the client
	// is still writing to.
	mux.Handle("POST /signup", HandleResult(func(r *http.Request) (Result[signup], error) {
		v, err := DecodeWithOptions[signup](r, DecodeOptions{MaxBytes: 1024})
		if err != nil {
			return Result[signup]{}, err
		}
		return Created(v), nil
	}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()

	huge := `{"email":"` + strings.Repeat("x", 4096) + `"}`
	tests := []struct {
		name        string
		body        io.Reader
		length      int64 // -1: chunked, unknown length
		contentType string
		accept      string
		status      int
		code        string
	}{
		{"valid", strings.NewReader(`{"email":"a@b.c","age":30}`), 0, "application/json", "", 201, ""},
		{"form body", strings.NewReader(`email=a`), 0, "application/x-www-form-urlencoded", "", 415, CodeUnsupportedMediaType},
		{"empty", strings.NewReader(``), 0, "application/json", "", 400, CodeBadRequest},
		{"malformed", strings.NewReader(`{"email":`), 0, "application/json", "", 400, CodeBadRequest},
		{"unknown field", strings.NewReader(`{"isAdmin":true}`), 0, "application/json", "", 400, CodeBadRequest},
		{"wrong type", strings.NewReader(`{"age":"x"}`), 0, "application/json", "", 400, CodeBadRequest},
		{"two values", strings.NewReader(`{}{}`), 0, "application/json", "", 400, CodeBadRequest},
		{"too large, declared", strings.NewReader(huge), 0, "application/json", "", 413, CodePayloadTooLarge},
		{"too large, chunked", io.MultiReader(strings.NewReader(huge)), -1, "application/json", "", 413, CodePayloadTooLarge},
		{"problem details", strings.NewReader(`nope`), 0, "application/json", "application/problem+json", 400, CodeBadRequest},
		{"binary garbage", strings.NewReader("\x00\xff\xfe{"), 0, "application/json", "", 400, CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", srv.URL+"/signup", tt.body)
			require.NoError(t, err, "build request")
			if tt.length == -1 {
				req.ContentLength = -1
			}
			req.Header.Set("Content-Type", tt.contentType)
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			resp, err := client.Do(req)
			require.NoError(t, err, "round trip")
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			require.NoError(t, err, "read body")

			assert.Equal(t, tt.status, resp.StatusCode, "status, body %s", raw)
			var body map[string]any
			require.NoError(t, json.Unmarshal(raw, &body), "body is JSON: %s", raw)
			if tt.code == "" {
				assert.Contains(t, body, "data", "success has data")
				return
			}
			if tt.accept != "" {
				assert.Equal(t, ProblemContentType, resp.Header.Get("Content-Type"), "problem media type")
				assert.Equal(t, tt.code, body["code"], "problem code")
				return
			}
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"), "media type")
			assert.NotContains(t, body, "data", "no data with an error")
			assert.Equal(t, tt.code, body["error"].(map[string]any)["code"], "code")
			assert.NotContains(t, string(raw), "json:", "no encoding/json text")
			assert.NotContains(t, string(raw), "http:", "no net/http text")
		})
	}
}
