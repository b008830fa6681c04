package cache_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache"
)

// heldReadStore is a Leaser store whose first Get reads the entry, then
// holds its answer until release is closed: a read in flight. It counts
// its Gets.
type heldReadStore struct {
	*leaseStore
	once    sync.Once
	reading chan struct{} // closed once the first Get has read
	release chan struct{}
	gets    atomic.Int64
}

func (s *heldReadStore) Get(ctx context.Context, k string) (cache.Entry[string], bool, error) {
	s.gets.Add(1)
	e, ok, err := s.leaseStore.Get(ctx, k)
	s.once.Do(func() {
		close(s.reading)
		<-s.release
	})
	return e, ok, err
}

// Lease returns the entry the store holds, or grants a lease, as a
// shared store's Lease does.
func (s *heldReadStore) Lease(ctx context.Context, k string, _ time.Duration) (cache.Entry[string], bool, uint64, error) {
	e, ok, err := s.Memory.Get(ctx, k)
	if err != nil || ok {
		return e, ok, 0, err
	}
	return cache.Entry[string]{}, false, 1, nil
}

// TestSharedReads: on a Leaser store, callers that ask for a key while a
// read of it is in flight wait for one next read, begun after they asked,
// and take its answer, not the one in flight: n callers make one store
// read between them, and see what the store holds after the read in
// flight began (a replaced or deleted entry included).
func TestSharedReads(t *testing.T) {
	const n = 200
	for _, tc := range []struct {
		name   string
		during func(ctx context.Context, s *heldReadStore) // while the first read is held
		want   string                                      // what the n later callers get
		reads  int64                                       // store reads in all; -1: not counted
		loads  uint64
	}{
		{"unchanged", func(context.Context, *heldReadStore) {}, "v1", 2, 0},
		{"replaced", func(ctx context.Context, s *heldReadStore) {
			require.NoError(t, s.Memory.Set(ctx, "k", cache.Entry[string]{Value: "v2"}, 0), "replace")
		}, "v2", 2, 0},
		// The callers miss and share one load: a fill's later
		// joiners read what it stored, in reads not counted here.
		{"deleted", func(ctx context.Context, s *heldReadStore) {
			require.NoError(t, s.Memory.Delete(ctx, "k"), "delete")
		}, "loaded", -1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := &heldReadStore{leaseStore: &leaseStore{opStore: &opStore{Memory: newMemory[string](t, cache.MemoryOptions[string]{})}},
				reading: make(chan struct{}), release: make(chan struct{})}
			require.NoError(t, s.Memory.Set(ctx, "k", cache.Entry[string]{Value: "v1"}, 0), "seed")
			a := cache.NewAside[string, string](s, cache.Options[string]{})
			t.Cleanup(func() { a.Close() })

			first := make(chan string, 1)
			go func() {
				v, err := a.Get(ctx, "k", constLoad("loaded"))
				assert.NoError(t, err, "the first read")
				first <- v
			}()
			<-s.reading
			tc.during(ctx, s)
			var wg sync.WaitGroup
			got := make([]string, n)
			for i := range n {
				wg.Go(func() {
					v, err := a.Get(ctx, "k", constLoad("loaded"))
					assert.NoError(t, err, "a later read")
					got[i] = v
				})
			}
			for a.ReadWaiters("k") < n {
				runtime.Gosched() // until every later caller waits for the next read
			}
			assert.Equal(t, int64(1), s.gets.Load(), "no later caller reads the store while the first read is in flight")
			close(s.release)
			wg.Wait()
			assert.Equal(t, "v1", <-first, "the first caller takes its own read")
			for i, v := range got {
				require.Equal(t, tc.want, v, "later caller %d takes a read begun after it asked", i)
			}
			if tc.reads >= 0 {
				assert.Equal(t, tc.reads, s.gets.Load(), "store reads for %d callers", n+1)
			}
			assert.Equal(t, tc.loads, a.Stats().Loads, "loads")
		})
	}
}
