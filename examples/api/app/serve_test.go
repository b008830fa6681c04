package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/examples/api/app"
)

// serving is an App served by app.Serve on a loopback port.
type serving struct {
	*server
	Addr   string
	cancel context.CancelFunc // the equivalent of SIGTERM in main
	done   chan error         // Serve's result
}

// serve runs a fresh SQLite instance with app.Run, as main does.
func serve(t *testing.T, edit func(*app.Config)) *serving {
	t.Helper()
	cfg := testConfig()
	cfg.Database = app.Database{Driver: "sqlite", Dialect: "sqlite", DSN: app.SQLiteDSN(t.TempDir() + "/serve.db")}
	if edit != nil {
		edit(&cfg)
	}
	return serveWith(t, cfg)
}

// serveWith runs an instance with cfg and app.Run, as main does.
func serveWith(t *testing.T, cfg app.Config) *serving {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err, "listen")
	return serveOn(t, cfg, ln)
}

// serveOn runs an instance with cfg and app.Run on ln.
func serveOn(t *testing.T, cfg app.Config, ln net.Listener) *serving {
	t.Helper()
	a, err := app.New(context.Background(), cfg)
	require.NoError(t, err, "app.New")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, ln) }()
	s := &serving{
		server: &server{URL: "http://" + ln.Addr().String(), App: a, Client: &http.Client{Transport: &http.Transport{}}},
		Addr:   ln.Addr().String(),
		cancel: cancel,
		done:   done,
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("Serve did not return within 30 s of its context ending")
		}
		s.Client.CloseIdleConnections()
		require.NoError(t, a.Close(), "app.Close")
	})
	return s
}

// readCounter is a listener whose connections count the bytes the server
// reads from them, so a test can wait until the server has read what it
// sent: a synchronisation point, where a sleep would only guess.
type readCounter struct {
	net.Listener
	read atomic.Int64
}

func (l *readCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: c, l: l}, nil
}

type countedConn struct {
	net.Conn
	l *readCounter
}

func (c *countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.read.Add(int64(n))
	return n, err
}

// fresh sends one request on a connection of its own.
func fresh(t *testing.T, method, url string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	rq, err := http.NewRequest(method, url, body)
	require.NoError(t, err, "request builds")
	if body != nil {
		rq.Header.Set("Content-Type", "application/json")
	}
	res, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(rq)
	require.NoError(t, err, "%s %s gets an answer", method, url)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err, "body reads")
	return res, raw
}

// TestServe_drain: once Serve's context ends (main ends it on SIGTERM),
// /readyz answers 503 at once while requests in flight and new ones are
// still served for the drain delay; then the listener closes and Serve
// returns nil.
func TestServe_drain(t *testing.T) {
	const delay = 1500 * time.Millisecond
	cfg := testConfig()
	cfg.Database = app.Database{Driver: "sqlite", Dialect: "sqlite", DSN: app.SQLiteDSN(t.TempDir() + "/serve.db")}
	cfg.HTTP.DrainDelay = delay
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err, "listen")
	ln := &readCounter{Listener: inner}
	s := serveOn(t, cfg, ln)
	res, raw := fresh(t, "GET", s.URL+"/readyz", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, "ready before the signal: %s", raw)

	// A request in flight across the signal: its body is half sent, and
	// the server has read all of it that was sent.
	const half, rest = `{"email":"nobody@example.com",`, `"password":"password-x"}`
	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	require.NoError(t, err, "dial")
	defer c.Close()
	sent := ln.read.Load() + int64(len(half))
	head := fmt.Sprintf("POST /v1/auth/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(half)+len(rest))
	sent += int64(len(head))
	_, err = io.WriteString(c, head+half)
	require.NoError(t, err, "the headers and half the body are sent")
	require.Eventually(t, func() bool { return ln.read.Load() >= sent }, 5*time.Second, time.Millisecond,
		"the server reads the headers and the half body")

	signalled := time.Now()
	s.cancel()

	require.Eventually(t, func() bool {
		res, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get(s.URL + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusServiceUnavailable
	}, 200*time.Millisecond, 5*time.Millisecond, "readyz answers 503 at once after the signal")
	res, raw = fresh(t, "GET", s.URL+"/readyz", nil)
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "readyz stays 503 while draining")
	var body struct{ Error struct{ Code string } }
	require.NoError(t, json.Unmarshal(raw, &body), "an envelope: %s", raw)
	assert.Equal(t, "UNAVAILABLE", body.Error.Code, "readyz while draining: %s", raw)

	res, raw = fresh(t, "GET", s.URL+"/healthz", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode, "a new request is served while draining: %s", raw)
	assert.True(t, res.Close, "while draining, answers close their connection so clients move elsewhere")

	_, err = io.WriteString(c, rest)
	require.NoError(t, err, "the rest of the body is sent")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	inflight, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err, "the request in flight is answered")
	inflight.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, inflight.StatusCode, "the request in flight is served")

	// New requests are served until the listener closes, and it closes
	// only once the drain delay has passed.
	tick := time.NewTicker(20 * time.Millisecond) // pacing of the polls, not an ordering
	defer tick.Stop()
	served := 0
	for refused := false; !refused; {
		tr := &http.Transport{DisableKeepAlives: true}
		res, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(s.URL + "/healthz")
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			refused = true
		case err != nil:
			// A connection the kernel took just as the listener closed
			// is reset: then the next dial is refused.
			_, derr := net.DialTimeout("tcp", s.Addr, time.Second)
			require.ErrorIs(t, derr, syscall.ECONNREFUSED, "healthz during the drain failed (%v) while the listener was open", err)
			refused = true
		default:
			res.Body.Close()
			require.Equal(t, http.StatusOK, res.StatusCode, "served while draining")
			served++
		}
		require.Less(t, time.Since(signalled), delay+5*time.Second, "the listener closes after the drain delay")
		<-tick.C
	}
	closedAfter := time.Since(signalled)
	t.Logf("%d requests served during the drain; the listener closed %v after the signal", served, closedAfter)
	assert.Greater(t, served, 1, "new requests are served during the drain")

	select {
	case err := <-s.done:
		require.NoError(t, err, "Serve returns nil after a clean shutdown")
		s.done <- nil // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the drain delay")
	}
	assert.GreaterOrEqual(t, closedAfter, delay, "the listener served for the whole drain delay")
}

// rawConn is a keep-alive client connection that sends GET /healthz.
type rawConn struct {
	c net.Conn
	r *bufio.Reader
}

func dialRaw(addr string) (*rawConn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &rawConn{c: c, r: bufio.NewReader(c)}, nil
}

// get sends one GET /healthz and reads its answer.
func (rc *rawConn) get() (int, error) {
	_ = rc.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(rc.c, "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
		return 0, err
	}
	res, err := http.ReadResponse(rc.r, nil)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

// closedByServer reports whether the server has closed the connection.
func (rc *rawConn) closedByServer() bool {
	_ = rc.c.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, err := rc.r.Peek(1)
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// TestServe_idleConnectionsDoNotLockOut: 3 000 idle keep-alive
// connections, ten times the connection cap, leave the server able to
// serve a new client at once: the longest idle connections are closed to
// make room, and the open connections never exceed the cap.
func TestServe_idleConnectionsDoNotLockOut(t *testing.T) {
	const (
		idle     = 3000
		maxConns = 300
		workers  = 30
	)
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim), "getrlimit")
	if lim.Cur < 2*idle && lim.Max >= 2*idle {
		old := lim
		lim.Cur = lim.Max
		require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim), "raise the open-file limit")
		t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
	}
	if lim.Cur < 2*idle {
		t.Skipf("the open-file limit %d is below the %d this test needs", lim.Cur, 2*idle)
	}
	s := serve(t, func(c *app.Config) {
		c.HTTP.MaxConns = maxConns
		c.HTTP.MaxConnsPerIP = maxConns  // every connection comes from 127.0.0.1: the global cap is under test
		c.HTTP.IdleTimeout = time.Minute // idle connections stay unless evicted
	})

	conns := make([]*rawConn, idle)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				rc, err := dialRaw(s.Addr)
				if err == nil {
					var status int
					status, err = rc.get()
					if err == nil && status != http.StatusOK {
						err = fmt.Errorf("status %d", status)
					}
					conns[i] = rc
				}
				if err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range idle {
		next <- i
	}
	close(next)
	wg.Wait()
	t.Cleanup(func() {
		for _, rc := range conns {
			if rc != nil {
				rc.c.Close()
			}
		}
	})
	assert.Empty(t, failures, "each of the %d connections is served once", idle)

	began := time.Now()
	res, raw := fresh(t, "GET", s.URL+"/healthz", nil)
	took := time.Since(began)
	assert.Equal(t, http.StatusOK, res.StatusCode, "a new client is served: %s", raw)
	assert.Less(t, took, time.Second, "a new client is served at once, not after an idle timeout")

	open := 0
	for _, rc := range conns {
		if rc != nil && !rc.closedByServer() {
			open++
		}
	}
	t.Logf("%d idle keep-alive connections made, %d still open, a new client served in %v", idle, open, took)
	assert.LessOrEqual(t, open, maxConns, "the server keeps at most MaxConns connections open")
	assert.Positive(t, open, "idle connections are closed only when room is needed")
}

// TestServe_maxConnAge: a keep-alive connection kept busy with cheap
// requests is closed once it is older than MaxConnAge, however short the
// gaps between its requests.
func TestServe_maxConnAge(t *testing.T) {
	const age = 300 * time.Millisecond
	s := serve(t, func(c *app.Config) {
		c.HTTP.IdleTimeout = 10 * time.Second
		c.HTTP.MaxConnAge = age
	})
	began := time.Now() // before the dial: the server's clock starts at its accept, after this
	rc, err := dialRaw(s.Addr)
	require.NoError(t, err, "dial")
	defer rc.c.Close()
	served := 0
	for time.Since(began) < 10*age {
		status, err := rc.get()
		if err != nil {
			break
		}
		require.Equal(t, http.StatusOK, status, "healthz")
		served++ // the next request follows at once: no gap at all
	}
	lived := time.Since(began)
	t.Logf("the connection served %d requests in %v", served, lived)
	assert.Greater(t, served, 1, "the connection is kept alive while young")
	assert.GreaterOrEqual(t, lived, age, "not closed before MaxConnAge")
	assert.Less(t, lived, 5*age, "closed soon after MaxConnAge although never idle for long")
}

func TestFromEnv_limits(t *testing.T) {
	env := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	cfg, _, err := app.FromEnv(env(nil))
	require.NoError(t, err, "defaults")
	assert.Equal(t, app.DefaultDrainDelay, cfg.HTTP.DrainDelay, "DRAIN_DELAY defaults to DefaultDrainDelay")
	assert.Zero(t, cfg.Pool, "pool fields left zero take the defaults in New")
	assert.Zero(t, cfg.RequestTimeout, "REQUEST_TIMEOUT left zero takes the default")

	cfg, _, err = app.FromEnv(env(map[string]string{
		"DB_MAX_OPEN_CONNS": "7", "DB_MAX_IDLE_CONNS": "3", "DB_CONN_MAX_LIFETIME": "1h",
		"DB_CONN_MAX_IDLE_TIME": "2m", "DB_POOL_WAIT": "250ms", "REQUEST_TIMEOUT": "3s",
		"MAX_CONNS": "99", "MAX_CONNS_PER_IP": "9", "MAX_HEADER_BYTES": "8192", "IDLE_TIMEOUT": "15s", "MAX_CONN_AGE": "1m", "DRAIN_DELAY": "0s",
		"SHUTDOWN_TIMEOUT": "9s",
	}))
	require.NoError(t, err, "every limit set")
	assert.Equal(t, app.Pool{MaxOpen: 7, MaxIdle: 3, MaxLifetime: time.Hour, MaxIdleTime: 2 * time.Minute, Wait: 250 * time.Millisecond}, cfg.Pool, "pool")
	assert.Equal(t, 3*time.Second, cfg.RequestTimeout, "request timeout")
	assert.Equal(t, app.HTTP{MaxConns: 99, MaxConnsPerIP: 9, MaxHeaderBytes: 8192, IdleTimeout: 15 * time.Second, MaxConnAge: time.Minute, ShutdownTimeout: 9 * time.Second}, cfg.HTTP, "DRAIN_DELAY=0s means none")

	for _, bad := range []map[string]string{
		{"DB_MAX_OPEN_CONNS": "0"}, {"DB_MAX_OPEN_CONNS": "x"}, {"MAX_CONNS": "-1"}, {"MAX_CONNS_PER_IP": "0"}, {"MAX_HEADER_BYTES": "-1"},
		{"DB_POOL_WAIT": "0s"}, {"REQUEST_TIMEOUT": "-1s"}, {"IDLE_TIMEOUT": "soon"}, {"DRAIN_DELAY": "-5s"},
	} {
		_, _, err := app.FromEnv(env(bad))
		assert.ErrorIs(t, err, app.ErrConfig, "%v is refused", bad)
		for k := range bad {
			assert.True(t, err != nil && strings.Contains(err.Error(), k), "the error names %s: %v", k, err)
		}
	}
}
