package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPoolGateSaturationIsVisible (issue 27, broke 1): when every database
// slot is taken, /readyz still answers 200 but says "degraded" with
// databasePool "saturated", until gateSaturatedFor after the last request
// refused a slot; /metrics shows the slots in use, their limit, and the
// refusals.
func TestPoolGateSaturationIsVisible(t *testing.T) {
	a, err := New(context.Background(), Config{
		Database:     Database{Driver: "sqlite", Dialect: "sqlite", DSN: SQLiteDSN(t.TempDir() + "/gate.db")},
		JWTSecret:    []byte("gate-secret-gate-secret-gate-secret!"),
		Logger:       slog.New(slog.DiscardHandler),
		PasswordCost: 64,
		Pool:         Pool{MaxOpen: 2, Wait: 20 * time.Millisecond},
	})
	require.NoError(t, err, "New")
	defer a.Close()
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()

	get := func(path, token string) (int, string) {
		t.Helper()
		rq, err := http.NewRequest("GET", srv.URL+path, nil)
		require.NoError(t, err, "request")
		if token != "" {
			rq.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := srv.Client().Do(rq)
		require.NoError(t, err, "GET %s", path)
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		require.NoError(t, err, "body")
		return res.StatusCode, string(raw)
	}
	ready := func() Readiness {
		t.Helper()
		status, raw := get("/readyz", "")
		require.Equal(t, http.StatusOK, status, "readyz stays 200: %s", raw)
		var body struct{ Data Readiness }
		require.NoError(t, json.Unmarshal([]byte(raw), &body), "readiness: %s", raw)
		return body.Data
	}
	metric := func(name string) string {
		t.Helper()
		_, raw := get("/metrics", "")
		for _, line := range strings.Split(raw, "\n") {
			if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
				return line[strings.LastIndexByte(line, ' ')+1:]
			}
		}
		return ""
	}

	_, err = a.users.Register(context.Background(), "gate@example.com", "gate-password", "Gate")
	require.NoError(t, err, "register")
	pair, err := a.auth.Login(context.Background(), "gate@example.com", "gate-password")
	require.NoError(t, err, "login")

	assert.Equal(t, Readiness{Status: "ready", Checks: map[string]string{"database": "ok", "databasePool": "ok", "events": "ok"}}, ready(), "idle")
	assert.Equal(t, "2", metric("svckit_example_db_gate_limit"), "the limit is Pool.MaxOpen")
	assert.Equal(t, "0", metric("svckit_example_db_gate_in_use"), "nothing in use")

	for range cap(a.gate.slots) {
		a.gate.slots <- struct{}{} // requests holding every slot
	}
	assert.Equal(t, Readiness{Status: "degraded", Checks: map[string]string{"database": "ok", "databasePool": "saturated", "events": "ok"}}, ready(), "every slot taken")
	assert.Equal(t, "2", metric("svckit_example_db_gate_in_use"), "both slots in use")

	status, raw := get("/v1/users/me", pair.AccessToken)
	assert.Equal(t, http.StatusServiceUnavailable, status, "no slot within the wait: %s", raw)
	assert.Equal(t, "1", metric("svckit_example_db_gate_refused_total"), "the refusal is counted")

	for range cap(a.gate.slots) {
		<-a.gate.slots
	}
	assert.Equal(t, "degraded", ready().Status, "a refusal a moment ago still shows")
	refused := a.gate.now()
	a.gate.now = func() time.Time { return refused.Add(gateSaturatedFor) }
	assert.Equal(t, Readiness{Status: "ready", Checks: map[string]string{"database": "ok", "databasePool": "ok", "events": "ok"}}, ready(), "ready again once no refusal is recent")
	status, raw = get("/v1/users/me", pair.AccessToken)
	assert.Equal(t, http.StatusOK, status, "served: %s", raw)
}
