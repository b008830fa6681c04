package app_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
)

// TestCursorKeyAcrossInstances runs instances over one SQLite file: a
// cursor issued by one is accepted by another holding the same CURSOR_KEY
// (even with another JWT secret), and refused with 400 by one holding
// another key, or none with another JWT secret.
func TestCursorKeyAcrossInstances(t *testing.T) {
	db, err := app.ParseDatabaseURL("sqlite://" + filepath.Join(t.TempDir(), "shared.db"))
	require.NoError(t, err, "a SQLite file URL parses")
	instance := func(cursorKey, jwtSecret string) (*server, string) {
		cfg := testConfig()
		cfg.Database = db
		cfg.CursorKey = []byte(cursorKey)
		cfg.JWTSecret = []byte(jwtSecret)
		s := start(t, cfg)
		return s, s.login(t, adminEmail, adminPassword).AccessToken
	}
	key := strings.Repeat("k", 32)
	issuer, issuerToken := instance(key, strings.Repeat("a", 32))
	for _, name := range []string{"b", "c", "d"} {
		issuer.register(t, name+"@example.com", name)
	}
	r := issuer.expect(t, req{Method: "GET", Path: "/v1/users?limit=1&orderBy=name", Token: issuerToken}, 200, "")
	require.NotNil(t, r.Meta.Cursor, "cursor mode")
	require.NotNil(t, r.Meta.Cursor.Next, "a first page has a next cursor")
	path := "/v1/users?limit=1&orderBy=name&cursor=" + *r.Meta.Cursor.Next

	for _, tc := range []struct {
		name      string
		cursorKey string
		jwtSecret string
		status    int
		code      string
	}{
		{"same CURSOR_KEY, same JWT secret", key, strings.Repeat("a", 32), 200, ""},
		{"same CURSOR_KEY, another JWT secret", key, strings.Repeat("b", 32), 200, ""},
		{"another CURSOR_KEY", strings.Repeat("x", 32), strings.Repeat("a", 32), 400, "BAD_REQUEST"},
		{"no CURSOR_KEY, another JWT secret", "", strings.Repeat("c", 32), 400, "BAD_REQUEST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, token := instance(tc.cursorKey, tc.jwtSecret)
			s.expect(t, req{Method: "GET", Path: path, Token: token}, tc.status, tc.code)
		})
	}
}
