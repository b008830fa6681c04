package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type reply struct {
	Data  json.RawMessage `json:"data"`
	Error *struct {
		Code string `json:"code"`
	} `json:"error"`
	Meta struct {
		RequestID string `json:"requestId"`
	} `json:"meta"`
}

func call(t *testing.T, h http.Handler, method, path, body string) (*httptest.ResponseRecorder, reply) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var out reply
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out), "%s %s answers an envelope: %s", method, path, w.Body)
	assert.Equal(t, w.Header().Get("X-Request-Id"), out.Meta.RequestID, "%s %s: the request id is echoed", method, path)
	return w, out
}

func TestNotes(t *testing.T) {
	h := newHandler(slog.New(slog.DiscardHandler))
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code, data               string
	}{
		{"health", "GET", "/healthz", "", 200, "", `{"status":"ok"}`},
		{"create", "POST", "/notes", `{"text":"first"}`, 201, "", `{"id":1,"text":"first"}`},
		{"create another", "POST", "/notes", `{"text":"second"}`, 201, "", `{"id":2,"text":"second"}`},
		{"get", "GET", "/notes/1", "", 200, "", `{"id":1,"text":"first"}`},
		{"list", "GET", "/notes", "", 200, "", `[{"id":1,"text":"first"},{"id":2,"text":"second"}]`},
		{"missing", "GET", "/notes/9", "", 404, "NOT_FOUND", ""},
		{"empty text", "POST", "/notes", `{"text":" "}`, 400, "VALIDATION_ERROR", ""},
		{"unknown field", "POST", "/notes", `{"text":"x","extra":7}`, 400, "BAD_REQUEST", ""},
		{"malformed", "POST", "/notes", `{"text":`, 400, "BAD_REQUEST", ""},
		{"wrong method", "DELETE", "/notes/1", "", 405, "METHOD_NOT_ALLOWED", ""},
		{"unknown route", "GET", "/nope", "", 404, "NOT_FOUND", ""},
		{"NUL id", "GET", "/notes/%00", "", 400, "BAD_REQUEST", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, out := call(t, h, tc.method, tc.path, tc.body)
			assert.Equal(t, tc.status, w.Code, "status")
			if tc.code != "" {
				require.NotNil(t, out.Error, "an error envelope")
				assert.Equal(t, tc.code, out.Error.Code, "error code")
				assert.Nil(t, out.Data, "no data beside an error")
				return
			}
			if tc.data != "" {
				assert.JSONEq(t, tc.data, string(out.Data), "data")
			}
		})
	}
}

func TestRecover(t *testing.T) {
	h := withMiddleware(slog.New(slog.DiscardHandler), http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	w, out := call(t, h, "GET", "/", "")
	assert.Equal(t, http.StatusInternalServerError, w.Code, "a panic is a 500")
	require.NotNil(t, out.Error, "an error envelope")
	assert.Equal(t, "INTERNAL_ERROR", out.Error.Code, "code INTERNAL_ERROR")
	assert.NotContains(t, w.Body.String(), "boom", "the panic value is not sent")
}

func TestAddr(t *testing.T) {
	for env, want := range map[string]string{"": ":8081", "127.0.0.1:9999": "127.0.0.1:9999"} {
		assert.Equal(t, want, addr(func(k string) string {
			if k == "ADDR" {
				return env
			}
			return ""
		}), "ADDR=%q", env)
	}
}

// TestGracefulShutdown: once the context ends, a request in flight still
// gets its answer, new connections are refused, and serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err, "listen")
	inFlight, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, _ *http.Request) {
		close(inFlight)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln, mux) }()

	got := make(chan string, 1)
	go func() {
		res, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		got <- string(b)
	}()
	<-inFlight
	cancel()
	close(release)
	assert.Equal(t, "done", <-got, "the request in flight is answered")
	require.NoError(t, <-served, "serve returns nil after a graceful shutdown")
	_, err = http.Get("http://" + ln.Addr().String() + "/slow")
	assert.Error(t, err, "no new connections after shutdown")
}
