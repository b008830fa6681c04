package benchmarks

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	gocache "github.com/go-redis/cache/v9"
	"github.com/maypok86/otter/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/cache/redisstore"
	"github.com/svckit/svckit/internal/testdb"
)

// cachedUser is the value the cache benchmarks store, by pointer.
type cachedUser struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

const cacheKeys = 1 << 14 // all resident: the benchmarks measure the hit path

func cacheKeyset() []string {
	keys := make([]string, cacheKeys)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i)
	}
	return keys
}

// getSetter is what BenchmarkCacheGetParallel needs of each cache.
type getSetter struct {
	get   func(key string) bool
	set   func(key string, u *cachedUser)
	wait  func() // nil, or waits for buffered writes to land
	close func()
}

// BenchmarkCacheGetParallel measures the in-memory hit path under parallel
// load: 90 % reads, 10 % writes of resident keys, pointer values. svckit-memory
// is cache.Memory (per-entry TTL, clock read every 10 ms), -precise the same
// reading the clock on every access; svckit-aside is Aside.Get over it;
// otter and ristretto are the raw libraries without expiry, otter-ttl is
// otter with a TTL as svckit-memory uses it.
func BenchmarkCacheGetParallel(b *testing.B) {
	ctx := context.Background()
	keys := cacheKeyset()
	impls := []struct {
		name string
		new  func() getSetter
	}{
		{"svckit-memory", func() getSetter {
			m := cache.NewMemory[*cachedUser](cache.MemoryOptions[*cachedUser]{MaxEntries: 2 * cacheKeys})
			return getSetter{
				get:   func(k string) bool { _, ok, _ := m.Get(ctx, k); return ok },
				set:   func(k string, u *cachedUser) { _ = m.Set(ctx, k, cache.Entry[*cachedUser]{Value: u}, time.Hour) },
				close: func() { m.Close() },
			}
		}},
		{"svckit-memory-precise", func() getSetter {
			m := cache.NewMemory[*cachedUser](cache.MemoryOptions[*cachedUser]{MaxEntries: 2 * cacheKeys, Resolution: -1})
			return getSetter{
				get:   func(k string) bool { _, ok, _ := m.Get(ctx, k); return ok },
				set:   func(k string, u *cachedUser) { _ = m.Set(ctx, k, cache.Entry[*cachedUser]{Value: u}, time.Hour) },
				close: func() { m.Close() },
			}
		}},
		{"otter-ttl", func() getSetter {
			c := otter.Must(&otter.Options[string, *cachedUser]{
				MaximumSize:      2 * cacheKeys,
				ExpiryCalculator: otter.ExpiryWriting[string, *cachedUser](time.Hour),
			})
			return getSetter{
				get:   func(k string) bool { _, ok := c.GetIfPresent(k); return ok },
				set:   func(k string, u *cachedUser) { c.Set(k, u) },
				close: func() { c.StopAllGoroutines() },
			}
		}},
		{"svckit-aside", func() getSetter {
			m := cache.NewMemory[*cachedUser](cache.MemoryOptions[*cachedUser]{MaxEntries: 2 * cacheKeys})
			a := cache.NewAside[string, *cachedUser](m, cache.Options[string]{})
			miss := func(context.Context) (*cachedUser, error) { panic("benchmark: miss") }
			return getSetter{
				get:   func(k string) bool { u, err := a.Get(ctx, k, miss); return err == nil && u != nil },
				set:   func(k string, u *cachedUser) { _ = m.Set(ctx, k, cache.Entry[*cachedUser]{Value: u}, time.Hour) },
				close: func() { m.Close() },
			}
		}},
		{"otter", func() getSetter {
			c := otter.Must(&otter.Options[string, *cachedUser]{MaximumSize: 2 * cacheKeys})
			return getSetter{
				get:   func(k string) bool { _, ok := c.GetIfPresent(k); return ok },
				set:   func(k string, u *cachedUser) { c.Set(k, u) },
				close: func() { c.StopAllGoroutines() },
			}
		}},
		{"ristretto", func() getSetter {
			c, err := ristretto.NewCache(&ristretto.Config[string, *cachedUser]{
				NumCounters: 20 * cacheKeys, MaxCost: 2 * cacheKeys, BufferItems: 64,
				IgnoreInternalCost: true,
			})
			if err != nil {
				b.Fatal(err)
			}
			return getSetter{
				get:   func(k string) bool { _, ok := c.Get(k); return ok },
				set:   func(k string, u *cachedUser) { c.Set(k, u, 1) },
				wait:  c.Wait,
				close: c.Close,
			}
		}},
	}
	for _, impl := range impls {
		b.Run(impl.name, func(b *testing.B) {
			c := impl.new()
			defer c.close()
			users := make([]*cachedUser, cacheKeys)
			for i, k := range keys {
				users[i] = &cachedUser{ID: int64(i), Name: "user " + k, Email: k + "@example.com"}
				c.set(k, users[i])
			}
			if c.wait != nil {
				c.wait()
			}
			var seed atomic.Uint64
			var misses atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				x := seed.Add(0x9e3779b97f4a7c15) | 1 // xorshift state per goroutine
				for pb.Next() {
					x ^= x << 13
					x ^= x >> 7
					x ^= x << 17
					i := int(x % cacheKeys)
					if x>>60 < 2 { // 2 of 16 ≈ 12 %, close to the 10 % of writes
						c.set(keys[i], users[i])
						continue
					}
					if !c.get(keys[i]) {
						misses.Add(1)
					}
				}
			})
			b.StopTimer()
			// Ristretto drops some writes by design; the others hit always.
			b.ReportMetric(float64(misses.Load())/float64(b.N), "misses/op")
		})
	}
}

// BenchmarkAsideHit measures a cache-aside hit on Redis: svckit's Aside on
// cache/redisstore (JSON) against go-redis/cache's Once (msgpack), both without a
// local cache, so each hit is one Redis round trip. svckit-twolevel adds the
// in-process level in front of Redis (a hit costs no round trip).
//
// The wall time of a hit is mostly the round trip, the same for both, so each
// also reports the process's CPU time per hit (cpu-ns/op): what the client
// side of each implementation costs.
func BenchmarkAsideHit(b *testing.B) {
	ctx := context.Background()
	want := &cachedUser{ID: 1, Name: "Ada", Email: "ada@example.com"}
	b.Run("svckit-redis", func(b *testing.B) {
		rdb, prefix := testdb.Redis(b)
		benchAsideHit(b, redisstore.New[*cachedUser](rdb, redisstore.Options{Prefix: prefix, Timeout: benchRedisTimeout, WriteTimeout: benchRedisTimeout}))
	})
	b.Run("svckit-redis-cluster", func(b *testing.B) {
		// The same on a three-master Redis Cluster: one round trip to the
		// key's shard.
		rdb, prefix := testdb.RedisCluster(b)
		benchAsideHit(b, redisstore.New[*cachedUser](rdb, redisstore.Options{Prefix: prefix, Timeout: benchRedisTimeout, WriteTimeout: benchRedisTimeout}))
	})
	b.Run("svckit-redis-msgpack", func(b *testing.B) {
		// The same with go-redis/cache's codec, to separate the codec's
		// share from the rest of the hit path.
		rdb, prefix := testdb.Redis(b)
		benchAsideHit(b, redisstore.New[*cachedUser](rdb,
			redisstore.Options{Prefix: prefix, Codec: msgpackCodec{}}))
	})
	b.Run("svckit-twolevel", func(b *testing.B) {
		rdb, prefix := testdb.Redis(b)
		tl, err := redisstore.NewTwoLevel(ctx, rdb, redisstore.TwoLevelOptions[*cachedUser]{
			Options: redisstore.Options{Prefix: prefix},
		})
		if err != nil {
			b.Fatal(err)
		}
		defer tl.Close()
		benchAsideHit(b, tl)
	})
	b.Run("go-redis-cache", func(b *testing.B) {
		rdb, prefix := testdb.Redis(b)
		c := gocache.New(&gocache.Options{Redis: rdb})
		loads := 0
		item := func(u *cachedUser) *gocache.Item {
			return &gocache.Item{
				Ctx: ctx, Key: prefix + "user:1", Value: u, TTL: time.Hour,
				Do: func(*gocache.Item) (any, error) { loads++; return want, nil },
			}
		}
		if err := c.Once(item(new(cachedUser))); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		cpu := processCPU()
		for b.Loop() {
			u := new(cachedUser)
			if err := c.Once(item(u)); err != nil || u.ID != 1 {
				b.Fatal("bad hit", err)
			}
		}
		reportCPU(b, cpu)
		if loads != 1 {
			b.Fatalf("%d loads: hits must not load", loads)
		}
	})
}

// benchAsideHit measures hits of an Aside on store, after one load.
func benchAsideHit(b *testing.B, store cache.Store[*cachedUser]) {
	ctx := context.Background()
	want := &cachedUser{ID: 1, Name: "Ada", Email: "ada@example.com"}
	a := cache.NewAside[string, *cachedUser](store, cache.Options[string]{})
	load := func(context.Context) (*cachedUser, error) { return want, nil }
	if _, err := a.Get(ctx, "user:1", load); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		u, err := a.Get(ctx, "user:1", load)
		if err != nil || u.ID != 1 {
			b.Fatal("bad hit", err)
		}
	}
	reportCPU(b, cpu)
	if st := a.Stats(); st.Loads != 1 {
		b.Fatalf("%d loads: hits must not load", st.Loads)
	}
}

// BenchmarkAsideMiss measures the miss path of an Aside on Redis: each
// iteration invalidates the key, then reads it, which takes the key's fill
// lease, loads and fills under the lease (three round trips: the GET that
// misses, the lease script, the fill script), against go-redis/cache's
// Once (GET that misses, SET).
func BenchmarkAsideMiss(b *testing.B) {
	ctx := context.Background()
	want := &cachedUser{ID: 1, Name: "Ada", Email: "ada@example.com"}
	b.Run("svckit-redis", func(b *testing.B) {
		rdb, prefix := testdb.Redis(b)
		a := cache.NewAside[string, *cachedUser](redisstore.New[*cachedUser](rdb, redisstore.Options{Prefix: prefix, Timeout: benchRedisTimeout, WriteTimeout: benchRedisTimeout}), cache.Options[string]{})
		defer a.Close()
		load := func(context.Context) (*cachedUser, error) { return want, nil }
		b.ReportAllocs()
		cpu := processCPU()
		for b.Loop() {
			if err := a.Delete(ctx, "user:1"); err != nil {
				b.Fatal(err)
			}
			if u, err := a.Get(ctx, "user:1", load); err != nil || u.ID != 1 {
				b.Fatal("bad miss", err)
			}
		}
		reportCPU(b, cpu)
		if st := a.Stats(); st.Loads != uint64(b.N) {
			b.Fatalf("%d loads for %d misses", st.Loads, b.N)
		}
	})
	b.Run("go-redis-cache", func(b *testing.B) {
		rdb, prefix := testdb.Redis(b)
		c := gocache.New(&gocache.Options{Redis: rdb})
		b.ReportAllocs()
		cpu := processCPU()
		for b.Loop() {
			if err := c.Delete(ctx, prefix+"user:1"); err != nil && !errors.Is(err, gocache.ErrCacheMiss) {
				b.Fatal(err)
			}
			u := new(cachedUser)
			err := c.Once(&gocache.Item{
				Ctx: ctx, Key: prefix + "user:1", Value: u, TTL: time.Hour,
				Do: func(*gocache.Item) (any, error) { return want, nil },
			})
			if err != nil || u.ID != 1 {
				b.Fatal("bad miss", err)
			}
		}
		reportCPU(b, cpu)
	})
}

// reportCPU reports the process's CPU time since start per operation, as
// cpu-ns/op. Call it right after the benchmark loop.
func reportCPU(b *testing.B, start time.Duration) {
	if used := processCPU() - start; used > 0 {
		b.ReportMetric(float64(used)/float64(b.N), "cpu-ns/op")
	}
}

// msgpackCodec is MessagePack, go-redis/cache's encoding, as a
// redisstore.Codec.
type msgpackCodec struct{}

func (msgpackCodec) Marshal(v any) ([]byte, error)      { return msgpack.Marshal(v) }
func (msgpackCodec) Unmarshal(data []byte, v any) error { return msgpack.Unmarshal(data, v) }
