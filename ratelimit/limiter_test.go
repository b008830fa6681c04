package ratelimit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/ratelimit"
)

// recordingStore allows everything and records the keys it is given.
type recordingStore struct{ keys []string }

func (s *recordingStore) Allow(_ context.Context, key string, limit ratelimit.Limit) (ratelimit.Result, error) {
	s.keys = append(s.keys, key)
	return ratelimit.Result{Allowed: true, Limit: limit}, nil
}

// TestLimiterBoundsKeysForEveryStore checks that any Store, Redis's
// included, receives keys of at most MaxKeyLen bytes from a Limiter: short
// keys as they are, longer ones as their 44-byte digest.
func TestLimiterBoundsKeysForEveryStore(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		wantLen int
		asIs    bool
	}{
		{"short", "ip:192.0.2.1", 12, true},
		{"exactly MaxKeyLen", strings.Repeat("k", ratelimit.MaxKeyLen), ratelimit.MaxKeyLen, true},
		{"one byte over", strings.Repeat("k", ratelimit.MaxKeyLen+1), 44, false},
		{"1 MiB", strings.Repeat("k", 1<<20), 44, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &recordingStore{}
			l := ratelimit.New(ratelimit.PerSecond(1), store)
			_, err := l.Allow(context.Background(), tt.key)
			require.NoError(t, err, "the store does not fail")
			require.Len(t, store.keys, 1, "one decision")
			assert.Len(t, store.keys[0], tt.wantLen, "key length the store sees")
			assert.Equal(t, tt.asIs, store.keys[0] == tt.key, "passed as it is: %v", tt.asIs)
		})
	}
}
