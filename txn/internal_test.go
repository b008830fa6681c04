package txn

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestJitter(t *testing.T) {
	lowest := func(n int64) int64 { return 0 }
	highest := func(n int64) int64 { return n - 1 }
	for _, tc := range []struct {
		failures int
		lo, hi   time.Duration
	}{
		{0, 5 * time.Millisecond, 10 * time.Millisecond},
		{1, 5 * time.Millisecond, 10 * time.Millisecond},
		{2, 10 * time.Millisecond, 20 * time.Millisecond},
		{3, 20 * time.Millisecond, 40 * time.Millisecond},
		{7, 320 * time.Millisecond, 640 * time.Millisecond},
		{8, 500 * time.Millisecond, time.Second},
		{70, 500 * time.Millisecond, time.Second},
		{1 << 30, 500 * time.Millisecond, time.Second},
	} {
		t.Run(strconv.Itoa(tc.failures), func(t *testing.T) {
			assert.Equal(t, tc.lo, jitter(10*time.Millisecond, time.Second, tc.failures, lowest), "lowest delay")
			assert.Equal(t, tc.hi-1, jitter(10*time.Millisecond, time.Second, tc.failures, highest), "highest delay")
		})
	}
	d := Options{}.delay(1)
	assert.True(t, d >= 5*time.Millisecond && d < 10*time.Millisecond, "default backoff after one failure: %v", d)
	assert.Equal(t, time.Minute, Options{Backoff: func(int) time.Duration { return time.Minute }}.delay(1), "Backoff overrides")
}
