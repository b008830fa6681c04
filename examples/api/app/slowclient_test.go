package app_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
)

// stallBody opens a connection to addr and sends the headers of a request
// announcing a 100-byte body, and "{" of it, then nothing more: a client
// that goes quiet in the middle of its body. It returns how many bytes it
// sent; the connection is closed at the end of the test.
func stallBody(t *testing.T, addr, method, path, token string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err, "dial")
	t.Cleanup(func() { c.Close() })
	var auth string
	if token != "" {
		auth = "Authorization: Bearer " + token + "\r\n"
	}
	msg := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: test\r\n%sContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", method, path, auth)
	_, err = io.WriteString(c, msg)
	require.NoError(t, err, "send the headers and one byte of the body")
	return len(msg)
}

// TestSlowBodiesDoNotLockOut (issue 27, broke 1): clients that send the
// headers of a /v1 request and one byte of its body, then go quiet, twice
// as many as the database has connections (so, before the fix, as many as
// there are database slots, and more), do not keep anyone else out: other
// /v1 requests, authenticated or not, are served within a second while
// the stalled ones wait for their bodies.
func TestSlowBodiesDoNotLockOut(t *testing.T) {
	cfg := testConfig()
	cfg.Database = app.Database{Driver: "sqlite", Dialect: "sqlite", DSN: app.SQLiteDSN(t.TempDir() + "/slow.db")}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err, "listen")
	ln := &readCounter{Listener: inner}
	s := serveOn(t, cfg, ln)
	u, token := s.newUser(t, "patient")
	acc := s.newAccount(t, token, "EUR", 100)

	sent := ln.read.Load()
	for i := range 2 * app.DefaultSQLiteMaxOpenConns {
		if i%2 == 0 {
			sent += int64(stallBody(t, s.Addr, "POST", "/v1/auth/login", ""))
		} else {
			sent += int64(stallBody(t, s.Addr, "POST", "/v1/transfers", token))
		}
	}
	require.Eventually(t, func() bool { return ln.read.Load() >= sent }, 5*time.Second, time.Millisecond,
		"the server has read every stalled request's headers and first byte")

	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	send := func(method, path, token, body string) (int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second) // "promptly"
		defer cancel()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		rq, err := http.NewRequestWithContext(ctx, method, s.URL+path, rd)
		if err != nil {
			return 0, err
		}
		if body != "" {
			rq.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			rq.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := client.Do(rq)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		_, err = io.Copy(io.Discard, res.Body)
		return res.StatusCode, err
	}
	tests := []struct {
		name, method, path string
		token              bool
		body               string
		want               int
	}{
		{"me", "GET", "/v1/users/me", true, "", 200},
		{"a user", "GET", "/v1/users/" + u.ID, true, "", 200},
		{"an account", "GET", "/v1/accounts/" + acc.ID, true, "", 200},
		{"a deposit", "POST", "/v1/accounts/" + acc.ID + "/deposits", true, `{"amount":5}`, 200},
		{"a login", "POST", "/v1/auth/login", false, `{"email":"` + u.Email + `","password":"password-patient"}`, 200},
	}
	for round := range 3 {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%d", tt.name, round), func(t *testing.T) {
				tok := ""
				if tt.token {
					tok = token
				}
				status, err := send(tt.method, tt.path, tok, tt.body)
				require.NoError(t, err, "answered within a second although %d clients stall in their bodies", 2*app.DefaultSQLiteMaxOpenConns)
				assert.Equal(t, tt.want, status, "served")
			})
		}
	}
}

// TestBodyDeadline (issue 27, broke 1 and 2): a body that has not arrived
// by the request deadline is answered 408 REQUEST_TIMEOUT at the deadline,
// not when the server's read timeout ends the connection, and the
// connection is closed; a body that arrives is served as before.
func TestBodyDeadline(t *testing.T) {
	const deadline = 300 * time.Millisecond
	s := serve(t, func(c *app.Config) { c.RequestTimeout = deadline })
	_, token := s.newUser(t, "slow")

	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	require.NoError(t, err, "dial")
	defer c.Close()
	msg := "POST /v1/accounts HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + token +
		"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
	_, err = io.WriteString(c, msg)
	require.NoError(t, err, "send the headers and one byte of the body")
	_ = c.SetReadDeadline(time.Now().Add(5 * deadline)) // well before the server's own read timeout
	r := bufio.NewReader(c)
	res, err := http.ReadResponse(r, nil)
	require.NoError(t, err, "answered at the request deadline")
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err, "body")
	res.Body.Close()
	assert.Equal(t, http.StatusRequestTimeout, res.StatusCode, "408: %s", raw)
	assert.Contains(t, string(raw), `"code":"REQUEST_TIMEOUT"`, "code")
	assert.True(t, res.Close, "the connection is closed")
	_, err = r.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "the server closed the connection")

	s.expect(t, req{Method: "POST", Path: "/v1/accounts", Token: token, Body: map[string]string{"currency": "EUR"}}, 201, "")
}
