package redisstore_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/internal/testdb"
)

// TestRefusedFillNotServed is the history the linearizability check of
// examples/api caught on MariaDB: B takes k's lease, and its load is slow
// to reach the database. A late invalidation (of an earlier update) ends
// B's lease; C takes a new one and reads the row, still v1. An update to v2
// commits; its invalidation has not run yet. B's load now reads v2, and its
// fill is refused (C holds the lease). C then stores v1. Had B returned the
// v2 it loaded, a read that began after B returned would see v1: back in
// time. B must instead return what the store holds, and later reads agree.
func TestRefusedFillNotServed(t *testing.T) { testdb.EachRedis(t, testRefusedFillNotServed) }

func testRefusedFillNotServed(t *testing.T, rdb redis.UniversalClient, prefix string) {
	ctx := context.Background()
	procs := processes(t, rdb, prefix, 4, cache.Options[int]{})
	writer, b, c, d := procs[0], procs[1], procs[2], procs[3]
	var row atomic.Value // the database
	row.Store("v1")
	read := func(context.Context) (string, error) { return row.Load().(string), nil }

	bLeased, bGo := make(chan struct{}), make(chan struct{})
	bDone := make(chan string, 1)
	go func() {
		var once atomic.Bool
		v, err := b.Get(ctx, 1, func(ctx context.Context) (string, error) {
			if once.CompareAndSwap(false, true) {
				close(bLeased)
				<-bGo // slow to reach the database
			}
			return read(ctx)
		})
		assert.NoError(t, err, "B's read")
		bDone <- v
	}()
	<-bLeased
	require.NoError(t, writer.Delete(ctx, 1), "a late invalidation ends B's lease")

	cRead, cGo := make(chan struct{}), make(chan struct{})
	cDone := make(chan string, 1)
	go func() {
		v, err := c.Get(ctx, 1, func(ctx context.Context) (string, error) {
			v, err := read(ctx) // C reads v1 under its new lease
			close(cRead)
			<-cGo
			return v, err
		})
		assert.NoError(t, err, "C's read")
		cDone <- v
	}()
	<-cRead
	row.Store("v2") // the update commits; its invalidation comes later

	close(bGo) // B reads v2; its fill is refused
	require.Eventually(t, func() bool { return b.Stats().LostFills > 0 }, 10*time.Second, time.Millisecond,
		"B's fill is refused: C holds the lease")
	close(cGo) // C stores v1
	bv, cv := <-bDone, <-cDone
	assert.Equal(t, "v1", cv, "C read before the update")
	later, err := d.Get(ctx, 1, read)
	require.NoError(t, err, "a read begun after B's returned")
	assert.Equal(t, bv, later, "a read begun after B's returned sees what B saw, or newer: the update is not yet invalidated")
	assert.Equal(t, "v1", bv, "B serves the store's current entry, not the refused load")

	require.NoError(t, writer.Delete(ctx, 1), "the update's invalidation")
	for i, p := range procs {
		v, err := p.Get(ctx, 1, read)
		require.NoError(t, err, "read")
		assert.Equal(t, "v2", v, "process %d reads the update once it is invalidated", i)
	}
}
