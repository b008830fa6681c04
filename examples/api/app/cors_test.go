package app_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
)

// TestCORS: by default no origin may call the API from a browser; with
// CORS_ORIGINS the listed origin's preflight is answered before any
// authentication and its answers are readable, another origin's are not.
func TestCORS(t *testing.T) {
	preflight := func(s *server, origin string) *http.Response {
		t.Helper()
		req, err := http.NewRequest("OPTIONS", s.URL+"/v1/users/me", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
		res, err := s.Client.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res
	}
	app1 := "http://127.0.0.1:5173"

	closed := startSQLite(t, nil)
	res := preflight(closed, app1)
	assert.Equal(t, 403, res.StatusCode, "no origin is allowed by default")
	assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"))

	s := startSQLite(t, func(c *app.Config) { c.CORSOrigins = []string{app1} })
	res = preflight(s, app1)
	assert.Equal(t, 204, res.StatusCode, "the listed origin's preflight, without a token")
	assert.Equal(t, app1, res.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, res.Header.Get("Access-Control-Allow-Headers"), "Authorization")
	assert.Equal(t, 403, preflight(s, "http://127.0.0.1:9999").StatusCode, "another origin's preflight")

	_, token := s.newUser(t, "cors")
	r := s.expect(t, req{Method: "GET", Path: "/v1/users/me", Token: token, Header: map[string]string{"Origin": app1}}, 200, "")
	assert.Equal(t, app1, r.Header.Get("Access-Control-Allow-Origin"), "the answer is readable by the listed origin")
	assert.Contains(t, r.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id")
	assert.Contains(t, r.Header.Values("Vary"), "Origin")
	r = s.expect(t, req{Method: "GET", Path: "/v1/users/me", Token: token, Header: map[string]string{"Origin": "http://127.0.0.1:9999"}}, 200, "")
	assert.Empty(t, r.Header.Get("Access-Control-Allow-Origin"), "not by another origin")
}
