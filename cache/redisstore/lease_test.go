package redisstore_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/cache/redisstore"
	"github.com/svckit/svckit/dedupe"
	"github.com/svckit/svckit/internal/telemetry/telemetrytest"
	"github.com/svckit/svckit/internal/testdb"
)

// TestLeaseProtocol walks the lease states of one key on the store itself.
func TestLeaseProtocol(t *testing.T) { testdb.EachRedis(t, testLeaseProtocol) }

func testLeaseProtocol(t *testing.T, rdb redis.UniversalClient, prefix string) {
	ctx := context.Background()
	s := redisstore.New[int](rdb, testOptions(prefix))
	other := redisstore.New[int](otherClient(t, rdb), testOptions(prefix))

	t.Run("grant, busy, fill, found", func(t *testing.T) {
		_, found, token, err := s.Lease(ctx, "a", time.Minute)
		require.NoError(t, err, "lease")
		require.False(t, found, "empty key")
		require.NotZero(t, token, "the first caller gets the lease")
		_, found, busy, err := other.Lease(ctx, "a", time.Minute)
		require.NoError(t, err, "second lease")
		assert.False(t, found, "nothing to find yet")
		assert.Zero(t, busy, "the second caller waits")
		_, ok, err := s.Get(ctx, "a")
		require.NoError(t, err, "a lease marker is not an error")
		assert.False(t, ok, "a leased key is a miss")
		stored, err := s.Fill(ctx, "a", token, ent(1), time.Minute)
		require.NoError(t, err, "fill")
		assert.True(t, stored, "the holder's fill is stored")
		e, found, _, err := other.Lease(ctx, "a", time.Minute)
		require.NoError(t, err, "lease after fill")
		require.True(t, found, "the fill is found")
		assert.Equal(t, 1, e.Value, "filled value")
		assert.NotZero(t, e.Version, "entries carry a version")
	})
	t.Run("delete ends the lease", func(t *testing.T) {
		_, _, token, err := s.Lease(ctx, "b", time.Minute)
		require.NoError(t, err, "lease")
		require.NoError(t, other.Delete(ctx, "b"), "invalidation elsewhere")
		stored, err := s.Fill(ctx, "b", token, ent(1), time.Minute)
		require.NoError(t, err, "fill")
		assert.False(t, stored, "a fill after an invalidation is dropped")
		_, ok, _ := s.Get(ctx, "b")
		assert.False(t, ok, "nothing stored")
	})
	t.Run("lease timeout hands the key over", func(t *testing.T) {
		_, _, dead, err := s.Lease(ctx, "c", 30*time.Millisecond)
		require.NoError(t, err, "lease of a filler that dies")
		var token uint64
		require.Eventually(t, func() bool {
			_, _, token, err = other.Lease(ctx, "c", time.Minute)
			return err == nil && token != 0
		}, 5*time.Second, 5*time.Millisecond, "the key is leased again after the timeout")
		stored, err := s.Fill(ctx, "c", dead, ent(1), time.Minute)
		require.NoError(t, err, "late fill")
		assert.False(t, stored, "the timed-out holder's fill is dropped")
		stored, err = other.Fill(ctx, "c", token, ent(2), time.Minute)
		require.NoError(t, err, "fill")
		assert.True(t, stored, "the new holder fills")
	})
	t.Run("release", func(t *testing.T) {
		_, _, token, err := s.Lease(ctx, "d", time.Minute)
		require.NoError(t, err, "lease")
		require.NoError(t, s.Release(ctx, "d", token+1), "release with a wrong token")
		_, _, busy, _ := other.Lease(ctx, "d", time.Minute)
		assert.Zero(t, busy, "a wrong token releases nothing")
		require.NoError(t, s.Release(ctx, "d", token), "release")
		_, _, next, err := other.Lease(ctx, "d", time.Minute)
		require.NoError(t, err, "lease after release")
		assert.NotZero(t, next, "released: the next caller gets the lease at once")
	})
	t.Run("refresh replaces only the version it read", func(t *testing.T) {
		require.NoError(t, s.Set(ctx, "e", ent(1), time.Minute), "set")
		e, _, err := s.Get(ctx, "e")
		require.NoError(t, err, "get")
		stored, err := other.Fill(ctx, "e", e.Version, ent(2), time.Minute)
		require.NoError(t, err, "refresh")
		assert.True(t, stored, "the version read is replaced")
		stored, err = s.Fill(ctx, "e", e.Version, ent(3), time.Minute)
		require.NoError(t, err, "second refresh of the same version")
		assert.False(t, stored, "a refresh of a replaced version is dropped")
		got, _, _ := s.Get(ctx, "e")
		assert.Equal(t, 2, got.Value, "the first refresh stays")
		assert.NotEqual(t, e.Version, got.Version, "a refresh gets a new version")
	})
}

// TestMalformedValuesAreReplaced plants bytes of every wrong shape where an
// entry belongs. Get and the lease treat them as a miss: the loader's value
// replaces them, and the next read hits. Nothing panics or blocks.
func TestMalformedValuesAreReplaced(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testdb.Redis(t)
	tests := []struct {
		name string
		raw  string
		ttl  time.Duration
	}{
		{"empty", "", time.Minute},
		{"one byte", "\xE2", time.Minute},
		{"short entry", "\xE2\x00\x01\x02", time.Minute},
		{"old frame format", "\xE1\x00\x00{\"id\":1}", time.Minute},
		{"unknown kind", "\xE2\x07\x00\x00\x00\x00\x00\x00\x00\x01\x00", time.Minute},
		{"zero version", "\xE2\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\"x\"", time.Minute},
		{"value the codec rejects", "\xE2\x00\x00\x00\x00\x00\x00\x00\x00\x09\x00{not json", time.Minute},
		{"placeholder with a value", "\xE2\x01\x00\x00\x00\x00\x00\x00\x00\x09\x00junk", time.Minute},
		{"bad refresh varint", "\xE2\x00\x00\x00\x00\x00\x00\x00\x00\x09\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", time.Minute},
		{"short lease", "\xE3\x01\x02", time.Minute},
		{"lease with zero token", "\xE3\x00\x00\x00\x00\x00\x00\x00\x00", time.Minute},
		{"lease without expiry", "\xE3\x00\x00\x00\x00\x00\x00\x00\x05", 0},
		{"json", `{"id":1}`, time.Minute},
		{"binary noise", "\x00\xff\xfe\xE2\xE3", time.Minute},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "m" + string(rune('a'+i))
			require.NoError(t, rdb.Set(ctx, rkey(prefix, "user:"+key), tt.raw, tt.ttl).Err(), "plant")
			a := cache.NewAside[string, string](redisstore.New[string](rdb, testOptions(prefix)),
				cache.Options[string]{Prefix: "user:", LeaseTimeout: time.Second})
			t.Cleanup(func() { require.NoError(t, a.Close(), "close") })
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			v, err := a.Get(ctx, key, func(context.Context) (string, error) { return "fresh", nil })
			require.NoError(t, err, "a malformed value is a miss")
			assert.Equal(t, "fresh", v, "served from the loader")
			v, err = a.Get(ctx, key, func(context.Context) (string, error) { return "again", nil })
			require.NoError(t, err, "second read")
			assert.Equal(t, "fresh", v, "the malformed value was replaced")
			assert.Equal(t, uint64(1), a.Stats().Loads, "one load")
		})
	}
}

// processes returns n Asides on n clients of rdb's Redis (standalone or
// cluster) sharing prefix, as n instances of a service would be.
func processes(t *testing.T, rdb redis.UniversalClient, prefix string, n int, opts cache.Options[int]) []*cache.Aside[int, string] {
	t.Helper()
	out := make([]*cache.Aside[int, string], n)
	for i := range out {
		c := rdb
		if i > 0 {
			c = otherClient(t, rdb)
		}
		out[i] = cache.NewAside[int, string](redisstore.New[string](c, testOptions(prefix)), opts)
		a := out[i]
		t.Cleanup(func() { require.NoError(t, a.Close(), "close") })
	}
	return out
}

// TestOneLoadAcrossProcesses: concurrent misses of one key spread over four
// processes load it once; the others wait for the filler's value.
func TestOneLoadAcrossProcesses(t *testing.T) { testdb.EachRedis(t, testOneLoadAcrossProcesses) }

func testOneLoadAcrossProcesses(t *testing.T, rdb redis.UniversalClient, prefix string) {
	ctx := context.Background()
	procs := processes(t, rdb, prefix, 4, cache.Options[int]{})
	var loads atomic.Int32
	waits := func() (n uint64) {
		for _, p := range procs {
			n += p.Stats().LeaseWaits
		}
		return n
	}
	load := func(context.Context) (string, error) {
		loads.Add(1)
		// A database read that takes a while: until the other processes
		// are seen waiting for it (or 5 s).
		for deadline := time.Now().Add(5 * time.Second); waits() < 3 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		return "row", nil
	}
	const callers = 1000
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	gate := make(chan struct{})
	for i := range callers {
		wg.Go(func() {
			<-gate
			v, err := procs[i%len(procs)].Get(ctx, 1, load)
			if err == nil && v != "row" {
				err = errors.New("wrong value " + v)
			}
			errs <- err
		})
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err, "every caller gets the row")
	}
	assert.Equal(t, int32(1), loads.Load(), "one database load for %d misses over %d processes", callers, len(procs))
	assert.GreaterOrEqual(t, waits(), uint64(3), "the other processes waited for the filler")
}

// TestStaleFillAcrossProcesses is the race of the issue: B's load reads the
// old row, A updates it and invalidates, then B's load ends. B must not
// store the old row, and reads begun after A's invalidation, in either
// process, see the new row, including those that joined B's load. The read
// that ran B's load fills again (see TestRefusedFillNotServed).
func TestStaleFillAcrossProcesses(t *testing.T) { testdb.EachRedis(t, testStaleFillAcrossProcesses) }

func testStaleFillAcrossProcesses(t *testing.T, rdb redis.UniversalClient, prefix string) {
	ctx := context.Background()
	sdk := telemetrytest.New(t)
	procs := processes(t, rdb, prefix, 2, cache.Options[int]{Name: "stale-fill", MeterProvider: sdk.Meters})
	a, b := procs[0], procs[1]
	var mu sync.Mutex
	row := "old"
	read := func() string { mu.Lock(); defer mu.Unlock(); return row }
	readOld, release := make(chan struct{}), make(chan struct{})
	stale := make(chan string, 1)
	var first sync.Once
	go func() {
		v, _ := b.Get(ctx, 1, func(context.Context) (string, error) {
			v := read()
			first.Do(func() { close(readOld) })
			<-release
			return v, nil
		})
		stale <- v
	}()
	<-readOld
	mu.Lock()
	row = "new"
	mu.Unlock()
	require.NoError(t, a.Delete(ctx, 1), "A invalidates after its commit")
	// A read on B that starts now joins B's load in flight.
	joined := make(chan string, 1)
	go func() {
		v, _ := b.Get(ctx, 1, func(context.Context) (string, error) { return read(), nil })
		joined <- v
	}()
	// It has joined B's load: only a process's own load can be joined.
	sdk.WaitSum(t, dedupe.MetricCalls+"{"+dedupe.AttrRole+"=shared,"+dedupe.AttrName+"=stale-fill}", 1, 10*time.Second)
	close(release)
	assert.Equal(t, "new", <-stale, "the read whose fill was refused tries again: it may not serve a row the store refused")
	assert.Equal(t, "new", <-joined, "a read begun after the invalidation does not get the old row")
	for _, p := range procs {
		v, err := p.Get(ctx, 1, func(context.Context) (string, error) { return read(), nil })
		require.NoError(t, err, "read")
		assert.Equal(t, "new", v, "the old row was not stored")
	}
	assert.Positive(t, b.Stats().LostFills, "B's fill was refused")
}

// TestDeadFillerBlocksOnlyUntilLeaseTimeout: a filler that took the lease
// and died leaves the key loadable once its lease times out.
func TestDeadFillerBlocksOnlyUntilLeaseTimeout(t *testing.T) {
	testdb.EachRedis(t, testDeadFillerBlocksOnlyUntilLeaseTimeout)
}

func testDeadFillerBlocksOnlyUntilLeaseTimeout(t *testing.T, rdb redis.UniversalClient, prefix string) {
	ctx := context.Background()
	s := redisstore.New[string](rdb, testOptions(prefix))
	const timeout = 200 * time.Millisecond
	_, _, token, err := s.Lease(ctx, "1", timeout)
	require.NoError(t, err, "the filler that dies takes the lease")
	require.NotZero(t, token, "lease granted")
	a := cache.NewAside[int, string](redisstore.New[string](otherClient(t, rdb), testOptions(prefix)),
		cache.Options[int]{LeaseTimeout: timeout})
	t.Cleanup(func() { require.NoError(t, a.Close(), "close") })
	start := time.Now()
	v, err := a.Get(ctx, 1, func(context.Context) (string, error) { return "row", nil })
	waited := time.Since(start)
	require.NoError(t, err, "read")
	assert.Equal(t, "row", v, "loaded once the lease lapsed")
	assert.Less(t, waited, 2*time.Second, "blocked about one lease timeout, not more")
	e, ok, err := s.Get(ctx, "1")
	require.NoError(t, err, "get")
	require.True(t, ok, "the new filler stored the row")
	assert.Equal(t, "row", e.Value, "stored value")
}

// TestLoadErrorReleasesLease: a load that fails gives the lease up, so a
// caller in another process loads at once instead of waiting it out.
func TestLoadErrorReleasesLease(t *testing.T) { testdb.EachRedis(t, testLoadErrorReleasesLease) }

func testLoadErrorReleasesLease(t *testing.T, rdb redis.UniversalClient, prefix string) {
	ctx := context.Background()
	procs := processes(t, rdb, prefix, 2, cache.Options[int]{LeaseTimeout: time.Minute})
	errDB := errors.New("db blip")
	_, err := procs[0].Get(ctx, 1, func(context.Context) (string, error) { return "", errDB })
	require.ErrorIs(t, err, errDB, "the load error is returned")
	done := make(chan string, 1)
	go func() {
		v, _ := procs[1].Get(ctx, 1, func(context.Context) (string, error) { return "row", nil })
		done <- v
	}()
	select {
	case v := <-done:
		assert.Equal(t, "row", v, "loaded by the other process")
	case <-time.After(10 * time.Second):
		t.Fatal("the other process waited for a lease that should have been released")
	}
}

// TestRedisDownDuringLease: the lease script failing is a store error like
// any other: served from the loader.
func TestRedisDownDuringLease(t *testing.T) {
	ctx := context.Background()
	a := cache.NewAside[int, string](redisstore.New[string](deadRedis(t), redisstore.Options{}), cache.Options[int]{DeleteRetries: -1})
	t.Cleanup(func() { require.NoError(t, a.Close(), "close") })
	v, err := a.Get(ctx, 1, func(context.Context) (string, error) { return "row", nil })
	require.NoError(t, err, "served from the loader")
	assert.Equal(t, "row", v, "value")
	_, found, token, err := redisstore.New[string](deadRedis(t), redisstore.Options{}).Lease(ctx, "k", time.Second)
	assert.Error(t, err, "lease fails with the connection error")
	assert.False(t, errors.Is(err, redis.Nil), "not a miss")
	assert.False(t, found, "nothing found")
	assert.Zero(t, token, "no lease granted")
}

// TestPlaceholderIndependentOfNotFoundOrder: processes listing their
// not-found errors in different orders share placeholders correctly (the
// entry records "not found", not a position in a list).
func TestPlaceholderIndependentOfNotFoundOrder(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testdb.Redis(t)
	errA, errB := errors.New("a: no row"), errors.New("b: no row")
	p1 := cache.NewAside[int, string](redisstore.New[string](rdb, testOptions(prefix)), cache.Options[int]{NotFound: []error{errA, errB}})
	p2 := cache.NewAside[int, string](redisstore.New[string](secondClient(t), testOptions(prefix)), cache.Options[int]{NotFound: []error{errB, errA}})
	t.Cleanup(func() { p1.Close(); p2.Close() })
	_, err := p1.Get(ctx, 1, func(context.Context) (string, error) { return "", errB })
	require.ErrorIs(t, err, errB, "the loading process gets its loader's error")
	_, err = p2.Get(ctx, 1, func(context.Context) (string, error) {
		t.Error("the placeholder must be served")
		return "", nil
	})
	var nf *cache.NotFoundError
	require.ErrorAs(t, err, &nf, "a cached not-found")
	assert.ErrorIs(t, err, errB, "matches the error the loader gave")
	assert.ErrorIs(t, err, cache.ErrNotFound, "and cache.ErrNotFound")
}
