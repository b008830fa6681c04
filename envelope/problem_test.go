package envelope

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWantsProblem(t *testing.T) {
	tests := []struct {
		accept []string
		want   bool
	}{
		{nil, false},
		{[]string{"application/json"}, false},
		{[]string{"*/*"}, false},
		{[]string{"application/problem+json"}, true},
		{[]string{"Application/Problem+JSON"}, true},
		{[]string{"application/problem+json, application/json"}, true},
		{[]string{"application/json, application/problem+json;q=0.9"}, false},
		{[]string{"application/json;q=0.5, application/problem+json"}, true},
		{[]string{"application/problem+json;q=0"}, false},
		{[]string{"application/problem+json;q=0.8, */*;q=0.1"}, true},
		{[]string{"application/problem+json;q=0.5, application/*;q=0.9"}, false},
		{[]string{"application/problem+json;q=0.5, */*;q=0.9, application/json;q=0.1"}, true},
		{[]string{"text/html", "application/problem+json"}, true},
		{[]string{"application/problem+json;q=abc"}, false},
		{[]string{"application/problem+json; charset=utf-8; q=1"}, true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		for _, a := range tt.accept {
			r.Header.Add("Accept", a)
		}
		assert.Equal(t, tt.want, wantsProblem(r), "Accept %q", tt.accept)
	}
	assert.False(t, wantsProblem(nil), "nil request")
}

func TestWriteErrorProblem(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"validation", Validation("", map[string]string{"email": "invalid"}),
			`{"type":"about:blank","title":"Bad Request","status":400,"detail":"request validation failed","code":"VALIDATION_ERROR","details":{"email":"invalid"},"timestamp":"2026-01-02T03:04:05.6Z","requestId":"req-1"}`},
		{"custom", New(422, "INSUFFICIENT_FUNDS", "insufficient funds"),
			`{"type":"about:blank","title":"Unprocessable Entity","status":422,"detail":"insufficient funds","code":"INSUFFICIENT_FUNDS","timestamp":"2026-01-02T03:04:05.6Z","requestId":"req-1"}`},
		{"unknown", errors.New("secret"),
			`{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"an unexpected error occurred","code":"INTERNAL_ERROR","timestamp":"2026-01-02T03:04:05.6Z","requestId":"req-1"}`},
		{"client closed", New(499, "", ""),
			`{"type":"about:blank","title":"Client Closed Request","status":499,"detail":"client closed the request","code":"CLIENT_CLOSED_REQUEST","timestamp":"2026-01-02T03:04:05.6Z","requestId":"req-1"}`},
		{"no status text", New(599, "", ""),
			`{"type":"about:blank","title":"HTTP_599","status":599,"detail":"request failed","code":"HTTP_599","timestamp":"2026-01-02T03:04:05.6Z","requestId":"req-1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRequest(t, "GET", "/")
			r.Header.Set("Accept", "application/problem+json")
			rec := httptest.NewRecorder()
			require.NoError(t, WriteError(rec, r, tt.err), "write")
			assert.Equal(t, ProblemContentType, rec.Header().Get("Content-Type"), "problem media type")
			assert.Equal(t, tt.want, rec.Body.String(), "problem document")
		})
	}
}

func TestWriteErrorProblemKeepsHeaders(t *testing.T) {
	r := testRequest(t, "GET", "/")
	r.Header.Set("Accept", "application/problem+json")
	rec := httptest.NewRecorder()
	require.NoError(t, WriteError(rec, r, MethodNotAllowed(http.MethodGet)), "write")
	assert.Equal(t, 405, rec.Code, "status")
	assert.Equal(t, "GET", rec.Header().Get("Allow"), "Allow header")
}

// FuzzWriteError checks that any code, message, details key, request id and
// Accept header give a valid JSON document in either format, with the
// status of the error.
func FuzzWriteError(f *testing.F) {
	f.Add(422, "CODE", "message", "key", "req-1", "application/json")
	f.Add(400, "", "", "", "", "application/problem+json")
	f.Add(0, "\u2028", "<&>", "\xff", "\x00", "application/problem+json;q=0.5, */*;q=0.4")
	f.Add(200, "X", "y", "z", "r", "")
	f.Fuzz(func(t *testing.T, status int, code, message, key, requestID, accept string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept", accept)
		r = r.WithContext(WithRequestID(r.Context(), requestID))
		err := New(status, code, message).WithDetail(key, message)
		rec := httptest.NewRecorder()
		if werr := WriteError(rec, r, err); werr != nil {
			t.Fatalf("write: %v", werr)
		}
		if rec.Code < 400 || rec.Code > 599 {
			t.Fatalf("status %d is not an error status", rec.Code)
		}
		var doc map[string]any
		if jerr := json.Unmarshal(rec.Body.Bytes(), &doc); jerr != nil {
			t.Fatalf("invalid JSON %q: %v", rec.Body.String(), jerr)
		}
	})
}

// TestProblemsTypesAndInstance (issue 16): an application gives a type URI
// per error code and an instance per occurrence.
func TestProblemsTypesAndInstance(t *testing.T) {
	opts := ProblemOptions{
		Types: map[string]string{
			CodeNotFound:         "https://example.com/problems/not-found",
			"INSUFFICIENT_FUNDS": "https://example.com/problems/insufficient-funds",
		},
		Instance: func(r *http.Request) string { return "urn:uuid:" + RequestID(r.Context()) },
	}
	tests := []struct {
		name     string
		opts     *ProblemOptions // nil: no Problems middleware
		err      error
		accept   string
		wantType string
		instance string // "" means the member is absent
	}{
		{"default is about:blank", nil, NotFound("user", "7"), ProblemContentType, "about:blank", ""},
		{"type by code", &opts, NotFound("user", "7"), ProblemContentType, "https://example.com/problems/not-found", "urn:uuid:req-1"},
		{"application code", &opts, New(422, "INSUFFICIENT_FUNDS", "insufficient funds"), ProblemContentType, "https://example.com/problems/insufficient-funds", "urn:uuid:req-1"},
		{"code without a type", &opts, Conflict("taken"), ProblemContentType, "about:blank", "urn:uuid:req-1"},
		{"unknown error", &opts, errors.New("db text"), ProblemContentType, "about:blank", "urn:uuid:req-1"},
		{"empty instance left out", &ProblemOptions{Instance: func(*http.Request) string { return "" }}, Conflict("x"), ProblemContentType, "about:blank", ""},
		{"plain envelope unchanged", &opts, NotFound("user", "7"), "application/json", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _ = WriteError(w, r, tt.err) })
			if tt.opts != nil {
				h = Problems(*tt.opts)(h)
			}
			r := testRequest(t, "GET", "/v1/users/7")
			r.Header.Set("Accept", tt.accept)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			var doc map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc), "JSON body")
			if tt.wantType == "" {
				assert.NotContains(t, doc, "type", "the envelope has no type member")
				assert.Contains(t, doc, "error", "the envelope shape")
				return
			}
			assert.Equal(t, tt.wantType, doc["type"], "type")
			if tt.instance == "" {
				assert.NotContains(t, doc, "instance", "no instance member")
			} else {
				assert.Equal(t, tt.instance, doc["instance"], "instance")
			}
		})
	}
}

func TestProblemsCopiesTypes(t *testing.T) {
	types := map[string]string{CodeConflict: "https://example.com/a"}
	h := Problems(ProblemOptions{Types: types})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = WriteError(w, r, Conflict("x"))
	}))
	types[CodeConflict] = "https://example.com/changed"
	r := testRequest(t, "GET", "/")
	r.Header.Set("Accept", ProblemContentType)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	assert.Contains(t, rec.Body.String(), `"type":"https://example.com/a"`, "the map was copied at construction")
}
