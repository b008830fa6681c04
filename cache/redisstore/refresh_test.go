package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/cache/redisstore"
	"github.com/svckit/svckit/internal/telemetry/telemetrytest"
	"github.com/svckit/svckit/internal/testdb"
)

// clock is a fake clock shared by the processes of a test: refresh times
// and refresh leases are read from it, so tests move time, never sleep.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := new(clock)
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// otherClient opens another connection pool to rdb's Redis (standalone or
// cluster), standing for another process.
func otherClient(t *testing.T, rdb redis.UniversalClient) redis.UniversalClient {
	t.Helper()
	if _, ok := rdb.(*redis.ClusterClient); !ok {
		return secondClient(t)
	}
	opts, err := redis.ParseClusterURL(testdb.RedisClusterURL(t))
	require.NoError(t, err, "parse cluster url")
	opts.ContextTimeoutEnabled = true
	c := redis.NewClusterClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// process is one instance of a service: its store, and an Aside on it
// that refreshes after a minute of a shared fake clock.
type process struct {
	*cache.Aside[string, string]
	t     *testing.T
	store cache.Store[string]
	opts  cache.Options[string]
}

// refreshers returns n processes on n clients of rdb's Redis sharing
// prefix: on Stores, or on TwoLevels when twoLevel is set. The first one
// uses rdb itself.
func refreshers(t *testing.T, n int, rdb redis.UniversalClient, prefix string, twoLevel bool, clk *clock, lease time.Duration) []*process {
	t.Helper()
	out := make([]*process, n)
	for i := range out {
		c := rdb
		if i > 0 {
			c = otherClient(t, rdb)
		}
		p := &process{t: t, store: redisstore.New[string](c, testOptions(prefix)), opts: cache.Options[string]{
			TTL: time.Hour, RefreshAfter: time.Minute, Jitter: -1, Now: clk.Now, LeaseTimeout: lease,
		}}
		if twoLevel {
			p.store = newTwoLevel[string](t, c, prefix)
		}
		p.Aside = cache.NewAside[string, string](p.store, p.opts)
		t.Cleanup(func() { require.NoError(t, p.Close(), "close") })
		out[i] = p
	}
	return out
}

// settle waits for p's background refreshes and returns its Stats: Close
// waits for them, and a new Aside on the same store takes over (a closed
// one serves stale values without refreshing them).
func (p *process) settle() cache.Stats {
	p.t.Helper()
	require.NoError(p.t, p.Close(), "close")
	st := p.Stats()
	p.Aside = cache.NewAside[string, string](p.store, p.opts)
	return st
}

// TestLeaseRefreshProtocol walks the refresh lease of one entry on the
// store itself: who gets it, what it changes in the entry, and what it
// leaves alone.
func TestLeaseRefreshProtocol(t *testing.T) {
	ctx := context.Background()
	testdb.EachRedis(t, func(t *testing.T, rdb redis.UniversalClient, prefix string) {
		s := redisstore.New[int](rdb, testOptions(prefix))
		other := redisstore.New[int](otherClient(t, rdb), testOptions(prefix))
		stale := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
		until := stale + int64(2*time.Second)
		set := func(t *testing.T, key string, refreshAt int64) cache.Entry[int] {
			t.Helper()
			require.NoError(t, s.Set(ctx, key, cache.Entry[int]{Value: 7, RefreshAt: refreshAt}, time.Hour), "set")
			e, ok, err := s.Get(ctx, key)
			require.NoError(t, err, "get")
			require.True(t, ok, "entry stored")
			return e
		}
		tests := []struct {
			name      string
			refreshAt int64 // of the entry set
			until     int64 // the first lease's
		}{
			{"same width refresh time", stale, until},
			{"shorter refresh time before", 1, until}, // the entry is rewritten whole
			{"longer refresh time before", stale, 5},  // and back
			{"negative refresh time", -stale, until},  // planted, say: still stale
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				key := fmt.Sprint("p", i)
				e := set(t, key, tt.refreshAt)
				leased, err := s.LeaseRefresh(ctx, key, e, tt.until)
				require.NoError(t, err, "lease")
				require.True(t, leased, "the first process gets the refresh lease")
				got, ok, err := other.Get(ctx, key)
				require.NoError(t, err, "get after the lease")
				require.True(t, ok, "the entry stays")
				assert.Equal(t, cache.Entry[int]{Value: 7, RefreshAt: tt.until, Version: e.Version}, got,
					"the lease moved the refresh time only")
				ttl, err := rdb.PTTL(ctx, rkey(prefix, key)).Result()
				require.NoError(t, err, "pttl")
				assert.Greater(t, ttl, 59*time.Minute, "the entry keeps its expiry")

				leased, err = other.LeaseRefresh(ctx, key, e, tt.until+1)
				require.NoError(t, err, "second lease")
				assert.False(t, leased, "a process that read the entry before the lease is refused")
				leased, err = other.LeaseRefresh(ctx, key, got, tt.until+1)
				require.NoError(t, err, "lease of the leased entry")
				assert.True(t, leased, "a process that read the leased entry takes it over (its lease ran out)")

				stored, err := s.Fill(ctx, key, e.Version, cache.Entry[int]{Value: 8}, time.Hour)
				require.NoError(t, err, "refresh")
				assert.True(t, stored, "the lease keeps the version: the refresh is stored")
			})
		}

		t.Run("delete ends the lease", func(t *testing.T) {
			e := set(t, "d", stale)
			require.NoError(t, other.Delete(ctx, "d"), "invalidation")
			leased, err := s.LeaseRefresh(ctx, "d", e, until)
			require.NoError(t, err, "lease")
			assert.False(t, leased, "no lease on a deleted entry")
			n, err := rdb.Exists(ctx, rkey(prefix, "d")).Result()
			require.NoError(t, err, "exists")
			assert.Zero(t, n, "the lease creates nothing")
		})
		t.Run("a fill lease is left alone", func(t *testing.T) {
			e := set(t, "f", stale)
			require.NoError(t, other.Delete(ctx, "f"), "invalidation")
			_, _, token, err := other.Lease(ctx, "f", time.Minute)
			require.NoError(t, err, "fill lease")
			require.NotZero(t, token, "granted")
			leased, err := s.LeaseRefresh(ctx, "f", e, until)
			require.NoError(t, err, "refresh lease")
			assert.False(t, leased, "no refresh lease on a key being filled")
			stored, err := other.Fill(ctx, "f", token, cache.Entry[int]{Value: 9}, time.Hour)
			require.NoError(t, err, "fill")
			assert.True(t, stored, "the fill lease still holds")
		})
		t.Run("a refreshed entry is not leased again", func(t *testing.T) {
			e := set(t, "r", stale)
			stored, err := other.Fill(ctx, "r", e.Version, cache.Entry[int]{Value: 8, RefreshAt: stale}, time.Hour)
			require.NoError(t, err, "refresh elsewhere")
			require.True(t, stored, "stored")
			leased, err := s.LeaseRefresh(ctx, "r", e, until)
			require.NoError(t, err, "lease")
			assert.False(t, leased, "the version read is gone")
		})
		t.Run("a placeholder", func(t *testing.T) {
			require.NoError(t, s.Set(ctx, "n", cache.Entry[int]{NotFound: true, RefreshAt: stale}, time.Hour), "set")
			e, _, err := s.Get(ctx, "n")
			require.NoError(t, err, "get")
			leased, err := s.LeaseRefresh(ctx, "n", e, until)
			require.NoError(t, err, "lease")
			assert.True(t, leased, "a placeholder's header is matched with its own kind")
			e.NotFound = false
			leased, err = other.LeaseRefresh(ctx, "n", cache.Entry[int]{Version: e.Version, RefreshAt: until}, until+1)
			require.NoError(t, err, "lease as a value")
			assert.False(t, leased, "a value's header does not match a placeholder")
		})
		t.Run("an entry from no store", func(t *testing.T) {
			leased, err := s.LeaseRefresh(ctx, "z", cache.Entry[int]{Value: 1}, until)
			require.NoError(t, err, "lease")
			assert.False(t, leased, "no version, no lease")
		})
	})
}

// TestLeaseRefreshMalformed plants bytes of every wrong shape under a key
// and asks for its refresh lease with an entry that looks like what a
// reader could have decoded: never granted, nothing changed, no panic.
func TestLeaseRefreshMalformed(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testdb.Redis(t)
	s := redisstore.New[string](rdb, testOptions(prefix))
	e := cache.Entry[string]{Value: "x", Version: 1, RefreshAt: 0}
	tests := []struct{ name, raw string }{
		{"empty", ""},
		{"header only, short", "\xE2\x00\x00\x00\x00\x00\x00\x00\x00\x01"},
		{"bad refresh varint", "\xE2\x00\x00\x00\x00\x00\x00\x00\x00\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"},
		{"other version", "\xE2\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\"x\""},
		{"lease marker", "\xE3\x00\x00\x00\x00\x00\x00\x00\x01"},
		{"json", `{"id":1}`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := fmt.Sprint("m", i)
			require.NoError(t, rdb.Set(ctx, rkey(prefix, key), tt.raw, time.Minute).Err(), "plant")
			leased, err := s.LeaseRefresh(ctx, key, e, 99)
			require.NoError(t, err, "a malformed value is no error")
			assert.False(t, leased, "and no lease")
			raw, err := rdb.Get(ctx, rkey(prefix, key)).Result()
			require.NoError(t, err, "get")
			assert.Equal(t, tt.raw, raw, "left as it was")
		})
	}
	t.Run("not a string", func(t *testing.T) {
		require.NoError(t, rdb.HSet(ctx, rkey(prefix, "h"), "f", "v").Err(), "plant a hash")
		leased, err := s.LeaseRefresh(ctx, "h", e, 99)
		assert.Error(t, err, "Redis refuses the script on a hash")
		assert.False(t, leased, "no lease")
	})
}

// TestOneRefreshAcrossProcesses: four processes serve stale keys from many
// goroutines at the same moment; each key is refreshed by one load in
// all, round after round, on Stores and TwoLevels, standalone and cluster.
func TestOneRefreshAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name     string
		twoLevel bool
	}{{"store", false}, {"twolevel", true}} {
		t.Run(tt.name, func(t *testing.T) {
			testdb.EachRedis(t, func(t *testing.T, rdb redis.UniversalClient, prefix string) {
				const keys, rounds, perProc = 8, 3, 16
				clk := newClock()
				procs := refreshers(t, 4, rdb, prefix, tt.twoLevel, clk, time.Hour)
				var loads [keys]atomic.Int32
				var value atomic.Int32 // what the database holds: "v<n>"
				var block atomic.Pointer[chan struct{}]
				load := func(k int) func(context.Context) (string, error) {
					return func(context.Context) (string, error) {
						loads[k].Add(1)
						if ch := block.Load(); ch != nil {
							<-*ch
						}
						return fmt.Sprint("v", value.Load()), nil
					}
				}
				// readAll reads every key on every process until each
				// serves want (a TwoLevel's copy goes when the
				// invalidation of the refresh reaches it), then settles.
				readAll := func(want string) {
					for _, p := range procs {
						for k := range keys {
							require.Eventually(t, func() bool {
								v, err := p.Get(ctx, fmt.Sprint(k), load(k))
								return err == nil && v == want
							}, 10*time.Second, time.Millisecond, "key %d serves %s", k, want)
						}
						p.settle()
					}
				}
				readAll("v0")
				for k := range keys {
					require.Equal(t, int32(1), loads[k].Load(), "one first load of key %d", k)
				}
				for r := 1; r <= rounds; r++ {
					value.Store(int32(r))
					clk.Advance(time.Minute) // every entry and copy is stale now
					release := make(chan struct{})
					block.Store(&release)
					gate := make(chan struct{})
					var wg sync.WaitGroup
					for i := range len(procs) * perProc {
						wg.Go(func() {
							<-gate
							for k := range keys {
								v, err := procs[i%len(procs)].Get(ctx, fmt.Sprint(k), load(k))
								assert.NoError(t, err, "stale read")
								assert.Equal(t, fmt.Sprint("v", r-1), v, "the stale value is served while the refresh runs")
							}
						})
					}
					close(gate)
					wg.Wait()
					close(release)
					block.Store(nil)
					var started, skipped uint64
					for _, p := range procs {
						st := p.settle()
						started += st.Refreshes
						skipped += st.RefreshSkips
					}
					for k := range keys {
						assert.Equal(t, int32(r+1), loads[k].Load(), "round %d: one load of key %d in all processes", r, k)
					}
					assert.Equal(t, uint64(keys), started, "round %d: one refresh per key started", r)
					t.Logf("round %d: %d refreshes skipped by processes that had read the stale entry", r, skipped)
					readAll(fmt.Sprint("v", r))
					for k := range keys {
						require.Equal(t, int32(r+1), loads[k].Load(), "round %d: reading the refreshed key %d loads nothing", r, k)
					}
				}
			})
		})
	}
}

// TestStaleCopySkipsLeasedRefresh: a process whose local copy went stale
// while another process holds the refresh lease serves the copy, skips
// the refresh, counts the skip, and reads the leased entry next time.
func TestStaleCopySkipsLeasedRefresh(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testdb.Redis(t)
	clk := newClock()
	procs := refreshers(t, 2, rdb, prefix, true, clk, time.Hour)
	a, b := procs[0], procs[1]
	sdk := telemetrytest.New(t)
	b.opts.Name, b.opts.MeterProvider = "b", sdk.Meters
	b.settle()

	var loads atomic.Int32
	load := func(context.Context) (string, error) { return fmt.Sprint("v", loads.Add(1)), nil }
	_, err := a.Get(ctx, "k", load)
	require.NoError(t, err, "first load")
	_, err = b.Get(ctx, "k", load)
	require.NoError(t, err, "B keeps a local copy")
	clk.Advance(time.Minute)

	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	v, err := a.Get(ctx, "k", func(ctx context.Context) (string, error) { <-release; return load(ctx) })
	require.NoError(t, err, "stale read on A")
	assert.Equal(t, "v1", v, "A serves the stale value")
	require.Eventually(t, func() bool { return a.Stats().Refreshes == 1 }, 10*time.Second, time.Millisecond,
		"A takes the refresh lease")
	var skips uint64
	for i := range 3 {
		v, err = b.Get(ctx, "k", load)
		require.NoError(t, err, "read %d on B", i)
		assert.Equal(t, "v1", v, "B serves its stale copy, then the leased entry")
		st := b.settle()
		assert.Zero(t, st.Refreshes, "B starts no refresh")
		skips += st.RefreshSkips
	}
	assert.Equal(t, int32(1), loads.Load(), "nobody loaded while A refreshes")
	assert.Equal(t, uint64(1), skips, "B skipped the refresh once, then read the entry as fresh")
	assert.Equal(t, int64(1), sdk.Sums(t)["svckit.cache.refreshes{result=skipped,svckit.cache.name=b}"],
		"the skip is counted by result, without the key")
	release <- struct{}{}
	a.settle()
	assert.Equal(t, int32(2), loads.Load(), "A's refresh loaded")
}

// TestDeadRefresherBlocksOnlyUntilLeaseTimeout: a process whose refresh
// never finishes holds the key's refresh lease for LeaseTimeout; then
// another process refreshes it, and the first one's late fill is refused.
func TestDeadRefresherBlocksOnlyUntilLeaseTimeout(t *testing.T) {
	ctx := context.Background()
	testdb.EachRedis(t, func(t *testing.T, rdb redis.UniversalClient, prefix string) {
		const lease = 5 * time.Second
		clk := newClock()
		procs := refreshers(t, 2, rdb, prefix, false, clk, lease)
		a, b := procs[0], procs[1]
		_, err := a.Get(ctx, "k", func(context.Context) (string, error) { return "v1", nil })
		require.NoError(t, err, "first load")
		clk.Advance(time.Minute)

		hung, started := make(chan struct{}), make(chan struct{})
		t.Cleanup(func() { close(hung) }) // runs before the processes close: they wait for it
		v, err := a.Get(ctx, "k", func(context.Context) (string, error) {
			close(started)
			<-hung
			return "late", nil
		})
		require.NoError(t, err, "stale read on A")
		assert.Equal(t, "v1", v, "stale value")
		<-started

		var bLoads atomic.Int32
		bLoad := func(context.Context) (string, error) { bLoads.Add(1); return "v2", nil }
		tests := []struct {
			name    string
			advance time.Duration
			loads   int32 // B's, after the read
		}{
			{"within the lease", 0, 0},
			{"a nanosecond before its end", lease - time.Nanosecond, 0},
			{"at its end", time.Nanosecond, 1},
		}
		for _, tt := range tests {
			clk.Advance(tt.advance)
			v, err = b.Get(ctx, "k", bLoad)
			require.NoError(t, err, "read on B %s", tt.name)
			assert.Equal(t, "v1", v, "B serves the stale value %s", tt.name)
			b.settle()
			assert.Equal(t, tt.loads, bLoads.Load(), "B's refreshes %s", tt.name)
		}
		v, err = b.Get(ctx, "k", bLoad)
		require.NoError(t, err, "read after B's refresh")
		assert.Equal(t, "v2", v, "B's refresh is stored")

		hung <- struct{}{} // A's load ends; Cleanup closes the channel
		assert.Equal(t, uint64(1), a.settle().LostFills, "A's late refresh is refused")
		v, err = b.Get(ctx, "k", bLoad)
		require.NoError(t, err, "read")
		assert.Equal(t, "v2", v, "A's refresh did not overwrite B's")
	})
}

// TestRefreshLosesToInvalidation: an invalidation while a refresh runs
// wins, whatever follows it, and leaves no lease behind that delays the
// next refresh.
func TestRefreshLosesToInvalidation(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		refill   bool // another process fills the key again before the refresh ends
		twoLevel bool
	}{
		{"deleted", false, false},
		{"deleted and filled again", true, false},
		{"two-level, deleted", false, true},
		{"two-level, deleted and filled again", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testdb.EachRedis(t, func(t *testing.T, rdb redis.UniversalClient, prefix string) {
				clk := newClock()
				procs := refreshers(t, 2, rdb, prefix, tt.twoLevel, clk, time.Hour)
				a, b := procs[0], procs[1]
				_, err := a.Get(ctx, "k", func(context.Context) (string, error) { return "old", nil })
				require.NoError(t, err, "first load")
				clk.Advance(time.Minute)

				release, started := make(chan struct{}), make(chan struct{})
				_, err = a.Get(ctx, "k", func(context.Context) (string, error) {
					close(started)
					<-release
					return "read before the update", nil
				})
				require.NoError(t, err, "stale read starts A's refresh")
				<-started
				require.NoError(t, b.Delete(ctx, "k"), "B's update invalidates")
				if tt.refill {
					v, err := b.Get(ctx, "k", func(context.Context) (string, error) { return "new", nil })
					require.NoError(t, err, "B fills again")
					require.Equal(t, "new", v, "B loads the update")
				}
				close(release)
				assert.Equal(t, uint64(1), a.settle().LostFills, "A's refresh is refused")

				var loads atomic.Int32
				next := func(context.Context) (string, error) { loads.Add(1); return "new", nil }
				read := func(p *process) string {
					v, err := p.Get(ctx, "k", next)
					require.NoError(t, err, "read")
					return v
				}
				assert.Equal(t, "new", read(b), "B never sees A's refresh")
				require.Eventually(t, func() bool { return read(a) == "new" }, 10*time.Second, time.Millisecond,
					"A drops its copy and reads the update")
				a.settle()

				// The new entry goes stale a minute after it was loaded; A's
				// lease (an hour) went with the old entry.
				clk.Advance(time.Minute)
				before := loads.Load()
				assert.Equal(t, "new", read(b), "stale read of the new entry")
				assert.Equal(t, uint64(1), b.settle().Refreshes, "B refreshes")
				assert.Equal(t, before+1, loads.Load(), "at once, not after the old lease")
			})
		})
	}
}

// TestRefreshRoundTrips counts the commands a read sends: a fresh hit is
// one GET, a stale hit adds the refresh lease's script to the refresh's
// fill, and a hit on an entry another process leased is a fresh hit.
func TestRefreshRoundTrips(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testdb.Redis(t)
	clk := newClock()
	procs := refreshers(t, 2, rdb, prefix, false, clk, time.Hour)
	cmds := new(commands)
	p := procs[1]
	p.store = redisstore.New[string](func() *redis.Client {
		c := secondClient(t)
		require.NoError(t, c.Ping(ctx).Err(), "connect before counting")
		c.AddHook(cmds)
		return c
	}(), testOptions(prefix))
	p.settle()
	load := func(context.Context) (string, error) { return "v", nil }
	// Load the scripts into Redis's script cache, so that each runs as
	// one EVALSHA below.
	_, err := procs[0].Get(ctx, "warm", load)
	require.NoError(t, err, "warm-up load")
	clk.Advance(time.Minute)
	_, err = procs[0].Get(ctx, "warm", load)
	require.NoError(t, err, "warm-up refresh")
	procs[0].settle()

	_, err = procs[0].Get(ctx, "k", load)
	require.NoError(t, err, "first load")
	elsewhere := redisstore.New[string](rdb, testOptions(prefix))
	tests := []struct {
		name    string
		advance time.Duration
		before  func(t *testing.T) // what another process does first
		want    []string
	}{
		{"fresh hit", 0, nil, []string{"get"}},
		{"stale hit", time.Minute, nil, []string{"get", "evalsha", "evalsha"}},
		{"fresh hit after the refresh", 0, nil, []string{"get"}},
		{"stale hit on a leased entry", time.Minute, func(t *testing.T) {
			e, ok, err := elsewhere.Get(ctx, "k")
			require.NoError(t, err, "get elsewhere")
			require.True(t, ok, "cached")
			leased, err := elsewhere.LeaseRefresh(ctx, "k", e, clk.Now().Add(time.Hour).UnixNano())
			require.NoError(t, err, "lease elsewhere")
			require.True(t, leased, "leased elsewhere")
		}, []string{"get"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Advance(tt.advance)
			if tt.before != nil {
				tt.before(t)
			}
			cmds.reset()
			_, err := p.Get(ctx, "k", load)
			require.NoError(t, err, "read")
			p.settle()
			assert.Equal(t, tt.want, cmds.names(), "commands sent")
		})
	}
}

// TestRefreshLeaseStoreError: when the refresh lease's script fails, the
// stale value is served, the failure is counted as a store error of the
// "refresh" operation, and nothing loads: the refresh could not be stored.
func TestRefreshLeaseStoreError(t *testing.T) {
	ctx := context.Background()
	_, prefix := testdb.Redis(t)
	clk := newClock()
	sdk := telemetrytest.New(t)
	cmds := &commands{fail: "evalsha"}
	c := secondClient(t)
	c.AddHook(cmds)
	a := cache.NewAside[string, string](redisstore.New[string](c, testOptions(prefix)), cache.Options[string]{
		TTL: time.Hour, RefreshAfter: time.Minute, Jitter: -1, Now: clk.Now,
		Name: "flaky", MeterProvider: sdk.Meters,
	})
	t.Cleanup(func() { require.NoError(t, a.Close(), "close") })
	require.NoError(t, redisstore.New[string](c, testOptions(prefix)).Set(ctx, "k",
		cache.Entry[string]{Value: "stale", RefreshAt: clk.Now().UnixNano()}, time.Hour), "plant a stale entry")

	cmds.failing.Store(true)
	v, err := a.Get(ctx, "k", func(context.Context) (string, error) {
		t.Error("a refresh that cannot lease must not load")
		return "", nil
	})
	require.NoError(t, err, "stale read")
	assert.Equal(t, "stale", v, "the stale value is served")
	require.NoError(t, a.Close(), "close waits for the refresh attempt")
	st := a.Stats()
	assert.Equal(t, uint64(1), st.StoreErrors, "the failed lease is a store error")
	assert.Zero(t, st.Refreshes+st.RefreshSkips, "neither started nor skipped")
	sums := sdk.Sums(t)
	assert.Equal(t, int64(1), sums["svckit.cache.store.errors{operation=refresh,svckit.cache.name=flaky}"],
		"counted under its operation")
	assert.Zero(t, sums["svckit.cache.fallbacks{svckit.cache.name=flaky}"], "not a read served from the loader")
}

// commands is a go-redis hook recording the names of the commands sent;
// while failing is set, it fails the commands named fail.
type commands struct {
	mu      sync.Mutex
	sent    []string
	fail    string
	failing atomic.Bool
}

func (c *commands) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commands) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.mu.Lock()
		c.sent = append(c.sent, strings.ToLower(cmd.Name()))
		c.mu.Unlock()
		if c.failing.Load() && strings.EqualFold(cmd.Name(), c.fail) {
			err := errors.New("injected failure")
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

func (c *commands) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (c *commands) reset() { c.mu.Lock(); c.sent = nil; c.mu.Unlock() }

func (c *commands) names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.sent...)
}
