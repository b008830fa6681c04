package app

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// connLimiter is a listener that keeps at most cap(slots) connections
// open, as golang.org/x/net/netutil.LimitListener does, with one difference
// that matters under attack: when every slot is taken, it closes the
// connection that has been idle (between two requests) the longest, so
// thousands of idle keep-alive connections cannot lock new clients out. It
// also closes a connection older than maxAge when it goes idle, so that a
// client sending a cheap request before each IdleTimeout cannot keep a
// slot forever.
//
// The server must report connection states to it: Serve sets
// http.Server.ConnState to its connState method.
type connLimiter struct {
	net.Listener
	slots  chan struct{}
	maxAge time.Duration
	now    func() time.Time
	done   chan struct{}
	once   sync.Once

	mu   sync.Mutex
	idle map[*limitedConn]time.Time // idle connections, and since when
}

func newConnLimiter(l net.Listener, n int, maxAge time.Duration) *connLimiter {
	return &connLimiter{
		Listener: l,
		slots:    make(chan struct{}, n),
		maxAge:   maxAge,
		now:      time.Now,
		done:     make(chan struct{}),
		idle:     map[*limitedConn]time.Time{},
	}
}

// Accept waits for a free slot, closing the longest idle connection when
// none is free, then accepts a connection.
func (l *connLimiter) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	default:
		l.evictIdle()
		select {
		case l.slots <- struct{}{}:
		case <-l.done:
			return nil, net.ErrClosed
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, l: l, born: l.now()}, nil
}

// Close closes the listener and wakes an Accept waiting for a slot.
func (l *connLimiter) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// evictIdle closes the connection idle the longest, if any.
func (l *connLimiter) evictIdle() {
	l.mu.Lock()
	var oldest *limitedConn
	var since time.Time
	for c, t := range l.idle {
		if oldest == nil || t.Before(since) {
			oldest, since = c, t
		}
	}
	if oldest != nil {
		delete(l.idle, oldest)
	}
	l.mu.Unlock()
	if oldest != nil {
		_ = oldest.Close()
	}
}

// connState tracks which connections are idle; http.Server calls it.
func (l *connLimiter) connState(nc net.Conn, state http.ConnState) {
	c, ok := nc.(*limitedConn)
	if !ok {
		return
	}
	now := l.now()
	l.mu.Lock()
	if state == http.StateIdle && now.Sub(c.born) < l.maxAge {
		l.idle[c] = now
		l.mu.Unlock()
		return
	}
	delete(l.idle, c)
	l.mu.Unlock()
	if state == http.StateIdle {
		// Too old: it finished a response and goes now.
		_ = c.Close()
	}
}

// limitedConn gives its slot back once, on the first Close.
type limitedConn struct {
	net.Conn
	l    *connLimiter
	born time.Time
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.idle, c)
		c.l.mu.Unlock()
		<-c.l.slots
	})
	return err
}
