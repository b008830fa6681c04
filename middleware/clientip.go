package middleware

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/svckit/svckit/internal/httpstate"
)

// ClientIP finds the address of the client behind a request.
//
// By default (the zero value) it is the peer of the connection, from
// Request.RemoteAddr, and X-Forwarded-For and X-Real-IP are ignored: anyone
// can send them. When the peer is one of TrustedProxies, X-Forwarded-For is
// read from right to left, skipping addresses of trusted proxies; the first
// untrusted address is the client. Without X-Forwarded-For, a trusted peer's
// X-Real-IP is used. An entry that is not an IP address stops the walk
// (fail closed): the client is then the last address that could be checked,
// which is a trusted proxy, so garbage never picks a key of the sender's
// choosing.
//
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) become plain IPv4 addresses and
// zones are dropped. A ClientIP is a value that is safe for concurrent use
// once built; do not change TrustedProxies while requests run.
//
// Where it deliberately differs from chi's RealIP and realclientip-go:
//
//   - A repeated X-Real-IP header from a trusted proxy is ignored and the
//     proxy's own address is used; both peers take the last value. A proxy
//     sets X-Real-IP by replacing it, so two values mean one came from the
//     client and nothing says which: fail closed.
//   - An unspecified address (0.0.0.0, ::, ::ffff:0.0.0.0) in X-Forwarded-For
//     or X-Real-IP is not a client; like garbage it stops the walk, so the
//     last checked address is used. A peer address is taken as it is.
//   - IPv6 zones (fe80::1%eth0) are dropped rather than kept, so one host
//     has one key whatever interface it came through.
//   - The Forwarded header (RFC 7239) is not read: X-Forwarded-For is what
//     load balancers send, and reading two headers would let a client pick
//     the one its proxy does not rewrite.
type ClientIP struct {
	// TrustedProxies are the networks of the proxies in front of the
	// service, for example the load balancer's subnet. Empty means trust no
	// one.
	TrustedProxies []netip.Prefix
}

// ParseTrustedProxies parses comma-separated CIDRs or bare addresses
// ("10.0.0.0/8, 192.0.2.7") into prefixes for ClientIP.TrustedProxies.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, err
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, err
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Resolve returns the client address of r, or the zero netip.Addr (not
// valid) when even the peer address cannot be parsed, as with a Unix socket.
func (c ClientIP) Resolve(r *http.Request) netip.Addr {
	peer := parseRemoteAddr(r.RemoteAddr)
	if !peer.IsValid() || !c.trusted(peer) {
		return peer
	}
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		return c.walkForwardedFor(xff, peer)
	}
	if realIP := r.Header.Values("X-Real-IP"); len(realIP) == 1 {
		if a, ok := parseForwarded(realIP[0]); ok {
			return a
		}
	}
	return peer
}

// walkForwardedFor reads the X-Forwarded-For lines from the last entry back,
// starting from the trusted peer.
func (c ClientIP) walkForwardedFor(lines []string, peer netip.Addr) netip.Addr {
	client := peer
	for i := len(lines) - 1; i >= 0; i-- {
		rest := lines[i]
		for rest != "" {
			var entry string
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				entry, rest = rest[j+1:], rest[:j]
			} else {
				entry, rest = rest, ""
			}
			a, ok := parseForwarded(entry)
			if !ok {
				return client
			}
			client = a
			if !c.trusted(a) {
				return client
			}
		}
	}
	return client
}

func (c ClientIP) trusted(a netip.Addr) bool {
	for _, p := range c.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseRemoteAddr parses "host:port" or a bare address.
func parseRemoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return normalise(ap.Addr())
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return normalise(a)
}

// parseForwarded parses one X-Forwarded-For entry: an address, optionally
// bracketed ([::1]) or with a port (192.0.2.1:443, [::1]:443). An
// unspecified address is refused.
func parseForwarded(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, false
	}
	var a netip.Addr
	if p, err := netip.ParseAddr(s); err == nil {
		a = p
	} else if ap, err := netip.ParseAddrPort(s); err == nil {
		a = ap.Addr()
	} else if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if p, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && p.Is6() {
			a = p
		}
	}
	a = normalise(a)
	if !a.IsValid() || a.IsUnspecified() {
		return netip.Addr{}, false
	}
	return a, true
}

func normalise(a netip.Addr) netip.Addr {
	return a.Unmap().WithZone("")
}

// Handler is a middleware that resolves the client address once and puts it
// in the request context, where Logger, KeyByIP and handlers find it with
// ClientIPFrom. Behind a middleware of this package that put the request's
// state in place (Telemetry) the address goes there and the request is
// handed on as it came; otherwise it is derived with a new context.
func (c ClientIP) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := c.Resolve(r)
		if !a.IsValid() {
			next.ServeHTTP(w, r)
			return
		}
		if httpstate.From(r.Context()).SetClientIP(a) {
			next.ServeHTTP(w, r)
			return
		}
		serveDerived(next, w, r.WithContext(WithClientIP(r.Context(), a)))
	})
}

// WithClientIP returns a context carrying the client address a.
func WithClientIP(ctx context.Context, a netip.Addr) context.Context {
	ctx, st := httpstate.Derive(ctx)
	st.SetClientIP(a)
	return ctx
}

// ClientIPFrom returns the client address put in ctx by ClientIP.Handler.
func ClientIPFrom(ctx context.Context) (netip.Addr, bool) {
	a := httpstate.From(ctx).ClientIP()
	return a, a.IsValid()
}

// requestClientIP returns the address in r's context, else the peer address
// (never a header).
func requestClientIP(r *http.Request) netip.Addr {
	if a, ok := ClientIPFrom(r.Context()); ok {
		return a
	}
	return parseRemoteAddr(r.RemoteAddr)
}
