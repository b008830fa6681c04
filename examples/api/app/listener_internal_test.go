package app

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPeerOf(t *testing.T) {
	tests := []struct {
		name string
		addr net.Addr
		want string // "" when not counted
	}{
		{"IPv4", &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 40000}, "192.0.2.7/32"},
		{"IPv4 mapped in IPv6", &net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 1}, "192.0.2.7/32"},
		{"IPv6: its /64", &net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:aaaa::1"), Port: 1}, "2001:db8:1:2::/64"},
		{"IPv6 zone dropped", &net.TCPAddr{IP: net.ParseIP("fe80::1"), Zone: "eth0", Port: 1}, "fe80::/64"},
		{"not TCP", &net.UnixAddr{Name: "/tmp/s", Net: "unix"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := peerOf(tt.addr)
			if tt.want == "" {
				assert.False(t, ok, "not counted")
				return
			}
			require.True(t, ok, "counted")
			assert.Equal(t, tt.want, p.String(), "the prefix connections are counted under")
		})
	}
}

// TestConnLimiterPerPeer: past perPeer connections of one address, a new
// one is closed at once unless that address has an idle one to give up,
// while other addresses and exempt ones (trusted proxies) are admitted.
func TestConnLimiterPerPeer(t *testing.T) {
	if probe, err := net.Listen("tcp", "127.0.0.2:0"); err != nil {
		t.Skipf("cannot use 127.0.0.2 as a second client address here: %v", err)
	} else {
		probe.Close()
	}
	dialFrom := func(t *testing.T, addr, local string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		require.NoError(t, err, "dial from %s", local)
		t.Cleanup(func() { c.Close() })
		return c
	}
	tests := []struct {
		name   string
		exempt []netip.Prefix
		// wantSecond: the second connection from 127.0.0.1 stays open.
		wantSecond bool
	}{
		{"capped", nil, false},
		{"a trusted proxy is not capped", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err, "listen")
			l := newConnLimiter(inner, 10, 1, tt.exempt, time.Hour)
			defer l.Close()
			addr := inner.Addr().String()

			first := dialFrom(t, addr, "127.0.0.1")
			second := dialFrom(t, addr, "127.0.0.1")
			other := dialFrom(t, addr, "127.0.0.2")
			var accepted []net.Conn
			want := 2
			if tt.wantSecond {
				want = 3
			}
			for range want {
				c, err := l.Accept()
				require.NoError(t, err, "accept")
				defer c.Close()
				accepted = append(accepted, c)
			}
			assert.Equal(t, first.LocalAddr().String(), accepted[0].RemoteAddr().String(), "the first connection is admitted")
			assert.Equal(t, other.LocalAddr().String(), accepted[len(accepted)-1].RemoteAddr().String(), "another address is admitted")
			if tt.wantSecond {
				_ = second.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				_, err = second.Read(make([]byte, 1))
				var ne net.Error
				assert.True(t, errors.As(err, &ne) && ne.Timeout(), "the second connection stays open: %v", err)
				return
			}
			// The server closed the second before it accepted the other:
			// its FIN is there already.
			_ = second.SetReadDeadline(time.Now().Add(time.Second))
			_, err = second.Read(make([]byte, 1))
			assert.ErrorIs(t, err, io.EOF, "the second connection is closed at once")

			// The first connection goes idle: a new one from its address
			// takes its place.
			l.connState(accepted[0], http.StateIdle)
			third := dialFrom(t, addr, "127.0.0.1")
			c, err := l.Accept()
			require.NoError(t, err, "accept the third")
			defer c.Close()
			assert.Equal(t, third.LocalAddr().String(), c.RemoteAddr().String(), "admitted in place of the idle one")
			_ = first.SetReadDeadline(time.Now().Add(time.Second))
			_, err = first.Read(make([]byte, 1))
			assert.ErrorIs(t, err, io.EOF, "the idle connection was closed for it")
		})
	}
}
