package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/middleware"
)

func mustProxies(t testing.TB, s string) []netip.Prefix {
	t.Helper()
	p, err := middleware.ParseTrustedProxies(s)
	require.NoError(t, err, "parse %q", s)
	return p
}

func TestClientIPResolve(t *testing.T) {
	trusted := middleware.ClientIP{TrustedProxies: mustProxies(t, "10.0.0.0/8, 2001:db8:ffff::/48")}
	tests := []struct {
		name   string
		ip     middleware.ClientIP
		remote string
		xff    []string
		realIP []string
		want   string
	}{
		{"remote only", middleware.ClientIP{}, "192.0.2.1:1234", nil, nil, "192.0.2.1"},
		{"untrusted peer, spoofed XFF ignored", middleware.ClientIP{}, "192.0.2.1:1234", []string{"203.0.113.9"}, nil, "192.0.2.1"},
		{"untrusted peer, spoofed X-Real-IP ignored", trusted, "192.0.2.1:1234", nil, []string{"203.0.113.9"}, "192.0.2.1"},
		{"trusted proxy, XFF believed", trusted, "10.1.2.3:80", []string{"203.0.113.9"}, nil, "203.0.113.9"},
		{"trusted proxy, rightmost untrusted wins", trusted, "10.1.2.3:80", []string{"1.1.1.1, 203.0.113.9, 10.9.9.9"}, nil, "203.0.113.9"},
		{"trusted proxy, client spoofs left entries", trusted, "10.1.2.3:80", []string{"6.6.6.6", "203.0.113.9"}, nil, "203.0.113.9"},
		{"trusted proxy, all entries trusted", trusted, "10.1.2.3:80", []string{"10.0.0.1, 10.0.0.2"}, nil, "10.0.0.1"},
		{"trusted proxy, garbage stops the walk", trusted, "10.1.2.3:80", []string{"203.0.113.9, garbage"}, nil, "10.1.2.3"},
		{"trusted proxy, garbage after trusted hop", trusted, "10.1.2.3:80", []string{"203.0.113.9, junk, 10.0.0.7"}, nil, "10.0.0.7"},
		{"trusted proxy, empty entry stops", trusted, "10.1.2.3:80", []string{"203.0.113.9,,"}, nil, "10.1.2.3"},
		{"trusted proxy, entry with port", trusted, "10.1.2.3:80", []string{"203.0.113.9:4711"}, nil, "203.0.113.9"},
		{"trusted proxy, bracketed v6", trusted, "10.1.2.3:80", []string{"[2001:db8::1]"}, nil, "2001:db8::1"},
		{"trusted proxy, bracketed v6 with port", trusted, "10.1.2.3:80", []string{"[2001:db8::1]:443"}, nil, "2001:db8::1"},
		{"trusted proxy, v4-mapped entry", trusted, "10.1.2.3:80", []string{"::ffff:203.0.113.9"}, nil, "203.0.113.9"},
		{"trusted proxy, zone dropped", trusted, "10.1.2.3:80", []string{"fe80::1%eth0"}, nil, "fe80::1"},
		{"trusted proxy, X-Real-IP", trusted, "10.1.2.3:80", nil, []string{"203.0.113.7"}, "203.0.113.7"},
		{"trusted proxy, garbage X-Real-IP", trusted, "10.1.2.3:80", nil, []string{"nope"}, "10.1.2.3"},
		{"trusted proxy, two X-Real-IP", trusted, "10.1.2.3:80", nil, []string{"203.0.113.7", "203.0.113.8"}, "10.1.2.3"},
		{"trusted proxy, XFF before X-Real-IP", trusted, "10.1.2.3:80", []string{"203.0.113.9"}, []string{"203.0.113.7"}, "203.0.113.9"},
		{"trusted proxy, 0.0.0.0 in XFF stops the walk", trusted, "10.1.2.3:80", []string{"203.0.113.9, 0.0.0.0"}, nil, "10.1.2.3"},
		{"trusted proxy, :: in XFF stops the walk", trusted, "10.1.2.3:80", []string{"203.0.113.9, ::, 10.0.0.7"}, nil, "10.0.0.7"},
		{"trusted proxy, mapped 0.0.0.0 with port", trusted, "10.1.2.3:80", []string{"[::ffff:0.0.0.0]:80"}, nil, "10.1.2.3"},
		{"trusted proxy, unspecified X-Real-IP", trusted, "10.1.2.3:80", nil, []string{"0.0.0.0"}, "10.1.2.3"},
		{"trusted proxy, repeated X-Real-IP, last not taken", trusted, "10.1.2.3:80", nil, []string{"6.6.6.6", "203.0.113.8"}, "10.1.2.3"},
		{"unspecified peer is kept", middleware.ClientIP{}, "0.0.0.0:80", nil, nil, "0.0.0.0"},
		{"v4-mapped peer", trusted, "[::ffff:10.1.2.3]:80", []string{"203.0.113.9"}, nil, "203.0.113.9"},
		{"v6 trusted peer", trusted, "[2001:db8:ffff::5]:80", []string{"2001:db8:1::7"}, nil, "2001:db8:1::7"},
		{"bare remote address", middleware.ClientIP{}, "192.0.2.5", nil, nil, "192.0.2.5"},
		{"unix socket", middleware.ClientIP{}, "@", nil, nil, "invalid IP"},
		{"empty remote", trusted, "", []string{"203.0.113.9"}, nil, "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			for _, v := range tt.realIP {
				req.Header.Add("X-Real-IP", v)
			}
			assert.Equal(t, tt.want, tt.ip.Resolve(req).String(), "client address")
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"", nil, true},
		{" 10.0.0.0/8 ,192.0.2.7", []string{"10.0.0.0/8", "192.0.2.7/32"}, true},
		{"10.1.2.3/8", []string{"10.0.0.0/8"}, true},
		{"::ffff:10.0.0.0/104", []string{"10.0.0.0/8"}, true},
		{"::ffff:192.0.2.7", []string{"192.0.2.7/32"}, true},
		{"2001:db8::/32", []string{"2001:db8::/32"}, true},
		{"10.0.0.0/33", nil, false},
		{"nope", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := middleware.ParseTrustedProxies(tt.in)
			if !tt.ok {
				assert.Error(t, err, "invalid input")
				return
			}
			require.NoError(t, err, "valid input")
			var s []string
			for _, p := range got {
				s = append(s, p.String())
			}
			assert.Equal(t, tt.want, s, "prefixes")
		})
	}
}

func TestClientIPHandler(t *testing.T) {
	ip := middleware.ClientIP{TrustedProxies: mustProxies(t, "10.0.0.0/8")}
	var got netip.Addr
	var ok bool
	h := ip.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got, ok = middleware.ClientIPFrom(r.Context())
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "10.0.0.1:1"
	req.Header.Set("X-Forwarded-For", "198.51.100.4")
	serve(h, req)
	require.True(t, ok, "the address is in the context")
	assert.Equal(t, "198.51.100.4", got.String(), "the resolved address")

	req = httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "@"
	serve(h, req)
	assert.False(t, ok, "no address in the context for an unparsable peer")
}

// FuzzClientIP feeds arbitrary header values from a trusted peer: resolving
// never panics, always returns a valid address (the peer or a parsed header
// entry), and an untrusted peer always gets its own address.
func FuzzClientIP(f *testing.F) {
	for _, s := range []string{"203.0.113.9", "1.1.1.1, 10.0.0.1", "[::1]:80", "::ffff:1.2.3.4", "garbage,,", ", ,", "fe80::1%zone", "[", "]:", "1.2.3.4:99999"} {
		f.Add(s, s)
	}
	trusted := middleware.ClientIP{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	f.Fuzz(func(t *testing.T, xff, realIP string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = "10.0.0.1:1"
		req.Header["X-Forwarded-For"] = []string{xff}
		req.Header["X-Real-IP"] = []string{realIP}
		a := trusted.Resolve(req)
		if !a.IsValid() || a.Is4In6() || a.Zone() != "" {
			t.Fatalf("Resolve(%q, %q) = %v, want a valid normalised address", xff, realIP, a)
		}
		_ = middleware.KeyByIP(req.WithContext(middleware.WithClientIP(req.Context(), a)))

		req.RemoteAddr = "192.0.2.1:1"
		if got := trusted.Resolve(req); got != netip.MustParseAddr("192.0.2.1") {
			t.Fatalf("untrusted peer resolved to %v with XFF %q", got, xff)
		}
	})
}

// FuzzRemoteAddr feeds arbitrary RemoteAddr values: never a panic, never a
// mapped or zoned address.
func FuzzRemoteAddr(f *testing.F) {
	for _, s := range []string{"192.0.2.1:1", "[::1]:2", "@", "", "::ffff:1.2.3.4", "[fe80::1%eth0]:80", "1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, remote string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = remote
		a := middleware.ClientIP{}.Resolve(req)
		if a.IsValid() && (a.Is4In6() || a.Zone() != "") {
			t.Fatalf("Resolve(%q) = %v, not normalised", remote, a)
		}
		if key := middleware.KeyByIP(req); key == "" {
			t.Fatalf("KeyByIP(%q) is empty", remote)
		}
	})
}

func TestWithClientIP(t *testing.T) {
	type key struct{}
	deadline := time.Now().Add(time.Hour)
	parent, cancel := context.WithDeadline(context.WithValue(context.Background(), key{}, "v"), deadline)
	a := netip.MustParseAddr("2001:db8::1")
	ctx := middleware.WithClientIP(parent, a)

	got, ok := middleware.ClientIPFrom(ctx)
	assert.True(t, ok && got == a, "the address is carried: %v %v", got, ok)
	_, ok = middleware.ClientIPFrom(parent)
	assert.False(t, ok, "the parent carries none")
	_, ok = middleware.ClientIPFrom(middleware.WithClientIP(parent, netip.Addr{}))
	assert.False(t, ok, "an invalid address is not reported")
	got, _ = middleware.ClientIPFrom(middleware.WithClientIP(ctx, netip.MustParseAddr("192.0.2.1")))
	assert.Equal(t, "192.0.2.1", got.String(), "the innermost address wins")
	assert.Equal(t, "v", ctx.Value(key{}), "the parent's values pass through")
	d, ok := ctx.Deadline()
	assert.True(t, ok && d.Equal(deadline), "the parent's deadline: %v", d)
	assert.Equal(t, parent.Done(), ctx.Done(), "the parent's Done channel")

	var kept context.Context // escapes, as a request's context does
	assert.Equal(t, 2.0, testing.AllocsPerRun(100, func() { kept = context.WithValue(parent, key{}, a) }), "WithValue: two allocations")
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { kept = middleware.WithClientIP(parent, a) }), "WithClientIP: one")
	got, _ = middleware.ClientIPFrom(kept)
	assert.Equal(t, a, got, "the kept context carries the address")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = middleware.ClientIPFrom(ctx) }), "reading the address allocates nothing")
	derived := testing.AllocsPerRun(100, func() { _, stop := context.WithCancel(ctx); stop() })
	plain := context.WithValue(parent, key{}, "w")
	viaValue := testing.AllocsPerRun(100, func() { _, stop := context.WithCancel(plain); stop() })
	assert.Equal(t, viaValue, derived, "WithCancel over it costs what it costs over a WithValue context (no watch goroutine)")

	cancel()
	assert.ErrorIs(t, ctx.Err(), context.Canceled, "it ends with its parent")
}
