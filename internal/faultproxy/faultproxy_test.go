package faultproxy_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/svckit/svckit/internal/faultproxy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echo is an upstream that answers every line with the same line.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err, "listen")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func newProxy(t *testing.T) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(echo(t))
	require.NoError(t, err, "New")
	t.Cleanup(func() { require.NoError(t, p.Close(), "Close") })
	return p
}

type client struct {
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, p *faultproxy.Proxy) *client {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err, "dial the proxy")
	t.Cleanup(func() { c.Close() })
	return &client{c: c, r: bufio.NewReader(c)}
}

// roundTrip sends a line and waits up to wait for it to come back.
func (c *client) roundTrip(line string, wait time.Duration) (string, time.Duration, error) {
	began := time.Now()
	_ = c.c.SetDeadline(began.Add(wait))
	if _, err := io.WriteString(c.c, line+"\n"); err != nil {
		return "", 0, err
	}
	got, err := c.r.ReadString('\n')
	return got, time.Since(began), err
}

func TestProxy_forwards(t *testing.T) {
	p := newProxy(t)
	c := dial(t, p)
	got, _, err := c.roundTrip("hello", time.Second)
	require.NoError(t, err, "a round trip through the proxy")
	assert.Equal(t, "hello\n", got, "echoed")
}

func TestProxy_requests(t *testing.T) {
	p := newProxy(t)
	assert.Zero(t, p.Requests(), "nothing sent yet")
	c := dial(t, p)
	for i, line := range []string{"one", "two", "three"} {
		_, _, err := c.roundTrip(line, time.Second)
		require.NoError(t, err, "round trip %q", line)
		assert.Equal(t, int64(i+1), p.Requests(), "one request per round trip")
	}
	c2 := dial(t, p)
	_, _, err := c2.roundTrip("other", time.Second)
	require.NoError(t, err, "round trip on a second connection")
	assert.Equal(t, int64(4), p.Requests(), "requests of every connection count")
}

func TestProxy_latency(t *testing.T) {
	p := newProxy(t)
	c := dial(t, p)
	p.Latency(150 * time.Millisecond)
	_, took, err := c.roundTrip("slow", 2*time.Second)
	require.NoError(t, err, "round trip with latency")
	assert.GreaterOrEqual(t, took, 150*time.Millisecond, "the answer is held back")
	require.NoError(t, p.Clear(), "Clear")
	_, took, err = c.roundTrip("fast", time.Second)
	require.NoError(t, err, "round trip after Clear")
	assert.Less(t, took, 100*time.Millisecond, "no latency after Clear")
}

func TestProxy_blackHole(t *testing.T) {
	p := newProxy(t)
	old := dial(t, p)
	p.BlackHole()
	_, _, err := old.roundTrip("lost", 200*time.Millisecond)
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "an open connection gets no answer: %v", err)
	fresh := dial(t, p) // accepted, never answered
	_, _, err = fresh.roundTrip("lost too", 200*time.Millisecond)
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "a new connection is accepted and gets no answer: %v", err)

	require.NoError(t, p.Clear(), "Clear")
	_ = fresh.c.SetDeadline(time.Now().Add(time.Second))
	got, err := fresh.r.ReadString('\n')
	require.NoError(t, err, "what was held goes through after Clear")
	assert.Equal(t, "lost too\n", got, "held data")
}

func TestProxy_reset(t *testing.T) {
	p := newProxy(t)
	old := dial(t, p)
	_, _, err := old.roundTrip("one", time.Second)
	require.NoError(t, err, "before the fault")
	p.Reset()
	_, _, err = old.roundTrip("two", time.Second)
	assert.True(t, errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE), "the open connection is reset: %v", err)
	if nc, err := net.Dial("tcp", p.Addr()); err == nil { // the reset may come before or after connect returns
		c := &client{c: nc, r: bufio.NewReader(nc)}
		_, _, err = c.roundTrip("three", time.Second)
		nc.Close()
		assert.True(t, errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE), "a new connection is reset: %v", err)
	} else {
		assert.ErrorIs(t, err, syscall.ECONNRESET, "a new connection is reset")
	}
	require.NoError(t, p.Clear(), "Clear")
	c := dial(t, p)
	_, _, err = c.roundTrip("four", time.Second)
	assert.NoError(t, err, "new connections work after Clear")
}

func TestProxy_downUp(t *testing.T) {
	p := newProxy(t)
	old := dial(t, p)
	p.Down()
	_, _, err := old.roundTrip("x", time.Second)
	assert.Error(t, err, "open connections are closed")
	_, err = net.Dial("tcp", p.Addr())
	assert.True(t, errors.Is(err, syscall.ECONNREFUSED), "new connections are refused: %v", err)
	require.NoError(t, p.Up(), "Up")
	c := dial(t, p)
	_, _, err = c.roundTrip("back", time.Second)
	assert.NoError(t, err, "the same address serves again")
	require.NoError(t, p.Up(), "Up when up does nothing")
}

func TestProxy_closeEndsEverything(t *testing.T) {
	p, err := faultproxy.New(echo(t))
	require.NoError(t, err, "New")
	c := dial(t, p)
	p.BlackHole()
	_, _ = io.WriteString(c.c, "held\n")
	require.NoError(t, p.Close(), "Close with a held chunk and an open link")
	assert.ErrorIs(t, p.Up(), faultproxy.ErrClosed, "Up after Close")
}

func TestProxy_acceptClose(t *testing.T) {
	p := newProxy(t)
	old := dial(t, p)
	_, _, err := old.roundTrip("one", time.Second)
	require.NoError(t, err, "before the fault")
	p.AcceptClose()
	_, _, err = old.roundTrip("two", time.Second)
	assert.Error(t, err, "the open connection is closed")

	for i := range 3 {
		c := dial(t, p) // accepted: connect succeeds
		_, _, err := c.roundTrip("hello", time.Second)
		assert.ErrorIs(t, err, io.EOF, "connection %d: accepted, then closed in good order (EOF, not a reset)", i)
	}

	require.NoError(t, p.Clear(), "Clear")
	c := dial(t, p)
	got, _, err := c.roundTrip("back", time.Second)
	require.NoError(t, err, "new connections are forwarded after Clear")
	assert.Equal(t, "back\n", got, "echoed")
}

// TestProxy_closeEndsAcceptClose: Close ends the goroutines of connections
// AcceptClose is closing, even when their clients never close them.
func TestProxy_closeEndsAcceptClose(t *testing.T) {
	p, err := faultproxy.New(echo(t))
	require.NoError(t, err, "New")
	p.AcceptClose()
	c := dial(t, p)
	_, _ = io.WriteString(c.c, "never closed by the client\n")
	_ = c.c.SetReadDeadline(time.Now().Add(time.Second))
	_, err = c.r.ReadString('\n')
	require.ErrorIs(t, err, io.EOF, "the proxy has closed its side")
	began := time.Now()
	require.NoError(t, p.Close(), "Close")
	assert.Less(t, time.Since(began), 4*time.Second, "Close ends the wait for the client to close (5 s) at once")
}
