package cache_test

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache"
)

// TestMemoryHeapBoundedByKeyBytes floods an Aside over a Memory store with
// keys of 1 MiB (a client's made-up id or search) and measures the live
// heap after a collection: the flood may leave at most 1 MiB more than
// before, for 200 MiB of keys, as the rate limiter's test bounds its store.
// Before keys were bounded, the store held every key whole.
func TestMemoryHeapBoundedByKeyBytes(t *testing.T) {
	const (
		keys    = 200
		keySize = 1 << 20
		bound   = 1 << 20
	)
	for _, tt := range []struct {
		name string
		key  func(i int) string
	}{
		{"1 MiB keys", func(i int) string { return strconv.Itoa(i) + strings.Repeat("a", keySize) }},
		{"short keys cut from 1 MiB strings", func(i int) string {
			return (strconv.Itoa(i) + ":" + strings.Repeat("a", keySize))[:cache.MaxKeyLen]
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := cache.NewMemory[int](cache.MemoryOptions[int]{})
			defer m.Close()
			a := cache.NewAside[string, int](m, cache.Options[string]{})
			defer a.Close()
			ctx := context.Background()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for i := range keys {
				v, err := a.Get(ctx, tt.key(i), func(context.Context) (int, error) { return i, nil })
				require.NoError(t, err, "load")
				require.Equal(t, i, v, "value")
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			t.Logf("live heap grew by %d bytes for %d keys of %d bytes", growth, keys, keySize)
			assert.Less(t, growth, int64(bound), "a flood of %d MiB of keys leaves less than %d bytes", keys*keySize>>20, bound)
			for i := range keys {
				v, err := a.Get(ctx, tt.key(i), func(context.Context) (int, error) { return -1, nil })
				require.NoError(t, err, "hit")
				require.Equal(t, i, v, "key %d is held, as a bounded copy, and told apart from the others", i)
			}
			runtime.KeepAlive(m)
		})
	}
}
