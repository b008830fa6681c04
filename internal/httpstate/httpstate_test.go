package httpstate

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestState(t *testing.T) {
	ip1, ip2 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	tests := []struct {
		name    string
		build   func() context.Context
		id      string
		ip      netip.Addr
		subject string
	}{
		{"no state", context.Background, "", netip.Addr{}, ""},
		{"empty state", func() context.Context {
			ctx, _ := Derive(context.Background())
			return ctx
		}, "", netip.Addr{}, ""},
		{"filled in place", func() context.Context {
			ctx, st := Derive(context.Background())
			require.True(t, st.SetRequestID("r1"), "first id")
			require.True(t, st.SetClientIP(ip1), "first address")
			require.True(t, st.SetClaims("claims", "u1"), "first claims")
			return ctx
		}, "r1", ip1, "u1"},
		{"set once", func() context.Context {
			ctx, st := Derive(context.Background())
			st.SetRequestID("r1")
			require.False(t, st.SetRequestID("r2"), "second id on the same state")
			return ctx
		}, "r1", netip.Addr{}, ""},
		{"inner shadows outer, outer shows through", func() context.Context {
			ctx, outer := Derive(context.Background())
			outer.SetRequestID("r1")
			outer.SetClientIP(ip1)
			ctx, inner := Derive(ctx)
			inner.SetClientIP(ip2)
			return ctx
		}, "r1", ip2, ""},
		{"field set further out after the inner state was derived", func() context.Context {
			ctx, outer := Derive(context.Background())
			ctx, _ = Derive(ctx)
			outer.SetClaims("claims", "u1")
			return ctx
		}, "", netip.Addr{}, "u1"},
		{"nil claims hide the outer ones", func() context.Context {
			ctx, outer := Derive(context.Background())
			outer.SetClaims("claims", "u1")
			ctx, inner := Derive(ctx)
			inner.SetClaims(nil, "")
			return ctx
		}, "", netip.Addr{}, ""},
		{"Ensure reuses the state in place", func() context.Context {
			ctx, st := Derive(context.Background())
			ctx2, st2 := Ensure(context.WithValue(ctx, otherKey{}, 1))
			require.Same(t, st, st2, "the same state")
			st2.SetRequestID("r1")
			return ctx2
		}, "r1", netip.Addr{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := From(tt.build())
			assert.Equal(t, tt.id, st.RequestID(), "request id")
			assert.Equal(t, tt.ip, st.ClientIP(), "client address")
			_, sub := st.Claims()
			assert.Equal(t, tt.subject, sub, "subject")
		})
	}
}

func TestNilStateRefusesWrites(t *testing.T) {
	var st *State
	assert.False(t, st.SetRequestID("r"), "request id")
	assert.False(t, st.SetClientIP(netip.MustParseAddr("192.0.2.1")), "address")
	assert.False(t, st.SetClaims("c", "s"), "claims")
	assert.False(t, st.HasClaims(), "no claims")
}

// TestOneWriterWins: of writers racing for one field, exactly one fills it
// and every reader sees that whole value (run with -race).
func TestOneWriterWins(t *testing.T) {
	ctx, st := Derive(context.Background())
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if st.SetRequestID(string(rune('a' + i))) {
				wins.Add(1)
			}
			if id := From(ctx).RequestID(); id != "" {
				assert.Len(t, id, 1, "a whole id")
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load(), "one writer")
	assert.NotEmpty(t, st.RequestID(), "the winner's id")
}

// otherKey is a context key of no package's, to put a value between a
// state and the context Ensure is given.
type otherKey struct{}
