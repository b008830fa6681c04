package app_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
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

// drip opens a connection to addr and sends a request's bytes one a second
// until stop is closed or the server closes the connection: a client that
// holds a connection open while costing the server almost nothing. It
// returns the connection, which the test closes.
func drip(t *testing.T, addr string, stop <-chan struct{}, wg *sync.WaitGroup) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err, "dial")
	t.Cleanup(func() { c.Close() })
	msg := "POST /v1/auth/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
	wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for i := range len(msg) {
			if _, err := c.Write([]byte{msg[i]}); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	return c
}

// dialFrom returns an HTTP client whose connections come from the
// loopback address local, or skips when this system cannot bind it
// (Linux routes all of 127.0.0.0/8 to loopback; not every system does).
func dialFrom(t *testing.T, local string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	probe, err := net.Listen("tcp", local+":0")
	if err != nil {
		t.Skipf("cannot use %s as a second client address here: %v", local, err)
	}
	probe.Close()
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// TestStalledConnectionsDoNotFillTheServer (issue 27, broke 2): 30 sockets
// from one address dripping a request a byte a second at a server capped
// at 30 connections keep no one else out: each address may hold at most
// MaxConnsPerIP connections (a tenth of MaxConns by default), the rest are
// closed at once, and a client from another address is served within a
// second (its own deadline, not a sleep, measures it).
func TestStalledConnectionsDoNotFillTheServer(t *testing.T) {
	const maxConns, drippers = 30, 30
	s := serve(t, func(c *app.Config) { c.HTTP.MaxConns = maxConns })
	other := dialFrom(t, "127.0.0.2")

	stop := make(chan struct{})
	var wg sync.WaitGroup
	conns := make([]net.Conn, drippers)
	for i := range conns {
		conns[i] = drip(t, s.Addr, stop, &wg)
	}
	t.Cleanup(func() { close(stop); wg.Wait() })

	// The server accepts in the order the connections arrived: by the time
	// it serves the other client, it has taken or refused every dripper.
	for _, path := range []string{"/healthz", "/v1/users/me"} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		rq, err := http.NewRequestWithContext(ctx, "GET", s.URL+path, nil)
		require.NoError(t, err, "request")
		res, err := other.Do(rq)
		require.NoError(t, err, "GET %s from another address is answered within a second", path)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		cancel()
		assert.Contains(t, []int{http.StatusOK, http.StatusUnauthorized}, res.StatusCode, "GET %s served", path)
	}

	open := 0
	for _, c := range conns {
		rc := &rawConn{c: c, r: bufio.NewReader(c)}
		if !rc.closedByServer() {
			open++
		}
	}
	perIP := max(1, maxConns/10)
	t.Logf("%d of %d dripping connections from one address left open (cap %d)", open, drippers, perIP)
	assert.Equal(t, perIP, open, "one address holds at most MaxConnsPerIP connections, and gets that many")
}

// TestMaxHeaderBytes (issue 27, unclear item a): request headers are
// bounded by HTTP.MaxHeaderBytes, 16 KiB by default (net/http's 1 MiB let
// each request in flight hold megabytes): a bearer-sized header is served,
// 64 KiB of headers is answered 431 before any handler runs, and a larger
// limit, when configured, admits it.
func TestMaxHeaderBytes(t *testing.T) {
	get := func(t *testing.T, s *serving, header int) int {
		t.Helper()
		rq, err := http.NewRequest("GET", s.URL+"/healthz", nil)
		require.NoError(t, err, "request")
		rq.Header.Set("X-Filler", strings.Repeat("a", header))
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		res, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(rq)
		require.NoError(t, err, "answered")
		res.Body.Close()
		return res.StatusCode
	}
	tests := []struct {
		name   string
		limit  int // HTTP.MaxHeaderBytes; 0: the default
		header int // bytes of one header's value
		want   int
	}{
		{"default, a token's worth", 0, 8 << 10, http.StatusOK},
		{"default, 64 KiB", 0, 64 << 10, http.StatusRequestHeaderFieldsTooLarge},
		{"default, 1 MiB", 0, 1 << 20, http.StatusRequestHeaderFieldsTooLarge},
		{"128 KiB configured, 64 KiB", 128 << 10, 64 << 10, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := serve(t, func(c *app.Config) { c.HTTP.MaxHeaderBytes = tt.limit })
			assert.Equal(t, tt.want, get(t, s, tt.header), "status for %d bytes of header", tt.header)
		})
	}
}
