package app

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// connLimiter is a listener that keeps at most cap(slots) connections
// open, as golang.org/x/net/netutil.LimitListener does, with differences
// that matter under attack:
//
//   - when every slot is taken, it closes the connection that has been
//     idle (between two requests) the longest, so thousands of idle
//     keep-alive connections cannot lock new clients out;
//   - one client address (an IPv6 /64) holds at most perPeer connections:
//     past that, a new one takes the place of that address's own longest
//     idle connection, or is closed at once, so one address sending
//     nothing, or a byte a second, cannot fill the server. Addresses in
//     exempt (the trusted proxies, which carry many clients) are not
//     capped;
//   - it closes a connection older than maxAge when it goes idle, so that
//     a client sending a cheap request before each IdleTimeout cannot keep
//     a slot forever.
//
// The server must report connection states to it: Serve sets
// http.Server.ConnState to its connState method.
type connLimiter struct {
	net.Listener
	slots   chan struct{}
	perPeer int
	exempt  []netip.Prefix
	maxAge  time.Duration
	now     func() time.Time
	done    chan struct{}
	once    sync.Once

	mu    sync.Mutex
	idle  map[*limitedConn]time.Time // idle connections, and since when
	peers map[netip.Prefix]int       // open connections of each capped peer
}

func newConnLimiter(l net.Listener, n, perPeer int, exempt []netip.Prefix, maxAge time.Duration) *connLimiter {
	return &connLimiter{
		Listener: l,
		slots:    make(chan struct{}, n),
		perPeer:  perPeer,
		exempt:   exempt,
		maxAge:   maxAge,
		now:      time.Now,
		done:     make(chan struct{}),
		idle:     map[*limitedConn]time.Time{},
		peers:    map[netip.Prefix]int{},
	}
}

// Accept waits for a free slot, closing the longest idle connection when
// none is free, then accepts a connection. A connection whose address
// holds perPeer connections already, none of them idle, is closed at once
// and Accept goes on to the next.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		select {
		case l.slots <- struct{}{}:
		default:
			l.evictIdle(func(*limitedConn) bool { return true })
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
		lc := &limitedConn{Conn: c, l: l, born: l.now()}
		if l.admit(lc) {
			return lc, nil
		}
		_ = c.Close()
		<-l.slots
	}
}

// admit counts c against its peer's cap and reports whether it may stay,
// after closing that peer's longest idle connection if it must.
func (l *connLimiter) admit(c *limitedConn) bool {
	peer, ok := peerOf(c.RemoteAddr())
	if !ok || l.isExempt(peer.Addr()) {
		return true
	}
	for range 2 {
		l.mu.Lock()
		if l.peers[peer] < l.perPeer {
			l.peers[peer]++
			c.peer, c.capped = peer, true
			l.mu.Unlock()
			return true
		}
		l.mu.Unlock()
		if !l.evictIdle(func(o *limitedConn) bool { return o.capped && o.peer == peer }) {
			return false
		}
	}
	return false
}

func (l *connLimiter) isExempt(a netip.Addr) bool {
	for _, p := range l.exempt {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerOf returns the client address of a connection as the prefix its
// connections are counted under: the address itself, or its /64 for IPv6
// (one host or network usually holds a whole /64).
func peerOf(a net.Addr) (netip.Prefix, bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Prefix{}, false
	}
	ip := ta.AddrPort().Addr().Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, err := ip.Prefix(bits)
	return p, err == nil
}

// Close closes the listener and wakes an Accept waiting for a slot.
func (l *connLimiter) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// evictIdle closes the connection idle the longest among those which
// match, and reports whether there was one.
func (l *connLimiter) evictIdle(match func(*limitedConn) bool) bool {
	l.mu.Lock()
	var oldest *limitedConn
	var since time.Time
	for c, t := range l.idle {
		if match(c) && (oldest == nil || t.Before(since)) {
			oldest, since = c, t
		}
	}
	if oldest != nil {
		delete(l.idle, oldest)
	}
	l.mu.Unlock()
	if oldest == nil {
		return false
	}
	_ = oldest.Close()
	return true
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

// limitedConn gives its slot, and its place in its peer's count, back
// once, on the first Close.
type limitedConn struct {
	net.Conn
	l      *connLimiter
	born   time.Time
	peer   netip.Prefix // set by admit
	capped bool         // counted in l.peers[peer]
	once   sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.idle, c)
		if c.capped {
			if c.l.peers[c.peer]--; c.l.peers[c.peer] <= 0 {
				delete(c.l.peers, c.peer)
			}
		}
		c.l.mu.Unlock()
		<-c.l.slots
	})
	return err
}
