// Package faultproxy is a TCP proxy for fault-injection tests: it stands
// between a service and one of its servers (PostgreSQL, Redis) on loopback
// and, on command, turns into the faults a network or a server produces:
//
//   - BlackHole: connections are accepted and requests are taken in, but
//     nothing comes back (a hung server, a partition), until Clear;
//   - Latency: every chunk from the server is held back a fixed time;
//   - Reset: every open connection is reset (TCP RST), and so is every new
//     one while the fault lasts;
//   - Down and Up: the listener closes (connection refused) with every open
//     connection, then listens again on the same address;
//   - AcceptClose: every open connection is closed, and every new one is
//     accepted and then closed in good order (the client reads EOF), as a
//     load balancer or proxy in front of a dead server does.
//
// It plays the part of Shopify's toxiproxy (its "timeout" toxic with no
// timeout, "latency", "reset_peer", a disabled proxy and a "limit_data"
// of zero bytes), in process and with
// the few faults these tests need. A Proxy owns its goroutines: Close ends
// them all. Requests counts what clients send, so a test can count a
// client's round trips.
package faultproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy forwards connections from its address to one upstream address,
// with the fault currently set. Build it with New; it is safe for
// concurrent use.
type Proxy struct {
	upstream string
	addr     string
	wg       sync.WaitGroup
	requests atomic.Int64 // chunks read from clients

	mu      sync.Mutex
	ln      net.Listener // nil while down
	links   map[*link]struct{}
	closing map[net.Conn]struct{} // connections AcceptClose is closing
	hole    chan struct{}         // non-nil while black-holed; closed by Clear
	latency time.Duration
	reset   bool
	shutNew bool // AcceptClose
	closed  bool
}

// New listens on a free loopback port and forwards every connection to
// upstream ("host:port").
func New(upstream string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{upstream: upstream, addr: ln.Addr().String(), links: map[*link]struct{}{}, closing: map[net.Conn]struct{}{}}
	p.serve(ln)
	return p, nil
}

// Addr returns the proxy's address ("127.0.0.1:port"); it stays the same
// across Down and Up.
func (p *Proxy) Addr() string { return p.addr }

// Requests returns how many chunks of data clients have sent through the
// proxy since New. A client of a request-response protocol (PostgreSQL's
// simple query protocol, Redis without pipelining) writes each request
// whole and waits for the answer before it writes the next, so on loopback
// the count is the number of its round trips.
func (p *Proxy) Requests() int64 { return p.requests.Load() }

// BlackHole makes the proxy swallow traffic: open and new connections stay
// up, what clients send is taken in, and nothing reaches either side until
// Clear (then what was held goes through).
func (p *Proxy) BlackHole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hole == nil {
		p.hole = make(chan struct{})
	}
}

// Latency holds every chunk of data from the upstream back by d (zero: no
// delay), on open and new connections.
func (p *Proxy) Latency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
}

// Reset resets every open connection (the client reads ECONNRESET) and,
// until Clear, every new one as soon as it is accepted.
func (p *Proxy) Reset() {
	p.mu.Lock()
	p.reset = true
	links := p.takeLinks()
	p.mu.Unlock()
	for _, l := range links {
		l.close(true)
	}
}

// AcceptClose closes every open connection and, until Clear, accepts
// every new one and closes it at once without a byte, in good order: the
// client reads EOF (io.ErrUnexpectedEOF in a driver's handshake), not a
// reset. This is what a client sees through a load balancer or a proxy
// whose server is dead, or from a server that dies during start-up.
func (p *Proxy) AcceptClose() {
	p.mu.Lock()
	p.shutNew = true
	links := p.takeLinks()
	p.mu.Unlock()
	for _, l := range links {
		l.close(false)
	}
}

// Down closes the listener (new connections are refused) and every open
// connection.
func (p *Proxy) Down() {
	p.mu.Lock()
	ln := p.ln
	p.ln = nil
	links := p.takeLinks()
	closing := make([]net.Conn, 0, len(p.closing))
	for c := range p.closing {
		closing = append(closing, c)
	}
	p.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	for _, l := range links {
		l.close(false)
	}
	for _, c := range closing {
		_ = c.Close() // its goroutine ends and forgets it
	}
}

// Up listens again on the proxy's address after Down. It does nothing when
// the proxy is up.
func (p *Proxy) Up() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.serveLocked(ln)
	return nil
}

// Clear ends every fault: the black hole lets what it held through,
// latency is zero, new connections are no longer reset or closed, and a
// proxy that is down listens again.
func (p *Proxy) Clear() error {
	p.mu.Lock()
	if p.hole != nil {
		close(p.hole)
		p.hole = nil
	}
	p.latency = 0
	p.reset = false
	p.shutNew = false
	p.mu.Unlock()
	return p.Up()
}

// Close stops the proxy: the listener, every connection and every
// goroutine, which it waits for.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	if p.hole != nil {
		close(p.hole)
		p.hole = nil
	}
	p.mu.Unlock()
	p.Down()
	p.wg.Wait()
	return nil
}

// takeLinks empties the set of open links and returns them; p.mu is held.
func (p *Proxy) takeLinks() []*link {
	out := make([]*link, 0, len(p.links))
	for l := range p.links {
		out = append(out, l)
	}
	clear(p.links)
	return out
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serveLocked(ln)
}

func (p *Proxy) serveLocked(ln net.Listener) {
	p.ln = ln
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed by Down or Close
			}
			p.accept(ln, c)
		}
	}()
}

// accept starts a link for the client connection c that ln accepted, or
// resets it. A connection accepted just before Down closed ln is reset too:
// Down did not find it among the open links.
func (p *Proxy) accept(ln net.Listener, c net.Conn) {
	p.mu.Lock()
	reset, closed, shut := p.reset, p.closed, p.shutNew
	if shut && !reset && !closed {
		p.closing[c] = struct{}{}
		p.wg.Add(1)
	}
	p.mu.Unlock()
	if reset || closed {
		rst(c)
		return
	}
	if shut {
		go p.shut(c)
		return
	}
	up, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
	if err != nil {
		rst(c)
		return
	}
	l := &link{p: p, client: c, server: up, done: make(chan struct{})}
	p.mu.Lock()
	if p.closed || p.reset || p.ln != ln {
		p.mu.Unlock()
		rst(c)
		up.Close()
		return
	}
	p.links[l] = struct{}{}
	p.wg.Add(2)
	p.mu.Unlock()
	go l.pump(up, c, true)
	go l.pump(c, up, false)
}

// shut closes c in good order for AcceptClose: FIN first, then it reads
// what the client sends until the client closes (or closeWait passes), so
// that closing never finds unread data, which would send a reset instead.
func (p *Proxy) shut(c net.Conn) {
	defer p.wg.Done()
	defer func() {
		_ = c.Close()
		p.mu.Lock()
		delete(p.closing, c)
		p.mu.Unlock()
	}()
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	_ = tc.CloseWrite()
	_ = tc.SetReadDeadline(time.Now().Add(closeWait))
	_, _ = io.Copy(io.Discard, tc)
}

// closeWait bounds how long AcceptClose waits for a client to close a
// connection it has already closed on its side.
const closeWait = 5 * time.Second

// state returns what a chunk must go through now.
func (p *Proxy) state() (hole chan struct{}, latency time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hole, p.latency
}

// forget removes l from the open links.
func (p *Proxy) forget(l *link) {
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

// link is one proxied connection: the client's and the upstream's.
type link struct {
	p              *Proxy
	client, server net.Conn
	done           chan struct{}
	once           sync.Once
}

// pump copies src to dst, chunk by chunk, through the proxy's faults.
// fromServer says the data flows from the upstream to the client.
func (l *link) pump(src, dst net.Conn, fromServer bool) {
	defer l.p.wg.Done()
	defer l.close(false)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !fromServer {
			l.p.requests.Add(1)
		}
		if n > 0 && !l.forward(dst, buf[:n], fromServer) {
			return
		}
		if err != nil {
			return
		}
	}
}

// forward writes chunk to dst once the black hole (if any) is cleared and
// the latency (for data from the server) has passed. It reports false when
// the link is closed meanwhile or the write fails.
func (l *link) forward(dst net.Conn, chunk []byte, fromServer bool) bool {
	for {
		hole, latency := l.p.state()
		if hole != nil {
			select {
			case <-hole:
				continue
			case <-l.done:
				return false
			}
		}
		if fromServer && latency > 0 {
			t := time.NewTimer(latency)
			select {
			case <-t.C:
			case <-l.done:
				t.Stop()
				return false
			}
		}
		break
	}
	_, err := dst.Write(chunk)
	return err == nil
}

// close closes both sides once; with reset, the client's side with a TCP
// RST.
func (l *link) close(reset bool) {
	l.once.Do(func() {
		close(l.done)
		l.p.forget(l)
		if reset {
			rst(l.client)
		} else {
			_ = l.client.Close()
		}
		_ = l.server.Close()
	})
}

// rst closes c so that its peer reads ECONNRESET.
func rst(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// ErrClosed is returned by Up after Close.
var ErrClosed = errors.New("faultproxy: closed")
