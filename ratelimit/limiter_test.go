package ratelimit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/ratelimit"
)

// TestBoundKey checks the form in which stores keep keys: up to MaxKeyLen
// bytes as they are, longer ones as a 44-byte digest, stable under a second
// application.
func TestBoundKey(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		wantLen int
		asIs    bool
	}{
		{"empty", "", 0, true},
		{"short", "ip:192.0.2.1", 12, true},
		{"exactly MaxKeyLen", strings.Repeat("k", ratelimit.MaxKeyLen), ratelimit.MaxKeyLen, true},
		{"one byte over", strings.Repeat("k", ratelimit.MaxKeyLen+1), 44, false},
		{"1 MiB", strings.Repeat("k", 1<<20), 44, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ratelimit.BoundKey(tt.key)
			assert.Len(t, got, tt.wantLen, "bounded length")
			assert.Equal(t, tt.asIs, got == tt.key, "kept as it is: %v", tt.asIs)
			assert.Equal(t, got, ratelimit.BoundKey(got), "bounding twice changes nothing")
		})
	}
	assert.NotEqual(t, ratelimit.BoundKey(strings.Repeat("k", 100)+"a"), ratelimit.BoundKey(strings.Repeat("k", 100)+"b"),
		"long keys differing in their last byte have distinct digests")
}

// recordingStore allows everything and records the keys it is given.
type recordingStore struct{ keys []string }

func (s *recordingStore) Allow(_ context.Context, key string, limit ratelimit.Limit) (ratelimit.Result, error) {
	s.keys = append(s.keys, key)
	return ratelimit.Result{Allowed: true, Limit: limit}, nil
}

// TestLimiterPassesKeysAsGiven checks that a Limiter hands its Store the
// caller's key: bounding it is the store's (BoundKey), which keeps
// Limiter.Allow small enough to inline.
func TestLimiterPassesKeysAsGiven(t *testing.T) {
	store := &recordingStore{}
	l := ratelimit.New(ratelimit.PerSecond(1), store)
	long := strings.Repeat("k", 1000)
	for _, key := range []string{"short", long} {
		res, err := l.Allow(context.Background(), key)
		require.NoError(t, err, "the store does not fail")
		assert.Equal(t, ratelimit.PerSecond(1), res.Limit, "the Limiter sets the Result's Limit")
	}
	assert.Equal(t, []string{"short", long}, store.keys, "keys as given")
}
