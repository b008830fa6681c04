package ratelimit

import (
	"cmp"
	"context"
	"hash/maphash"
	"slices"
	"sync"
	"time"
)

const (
	// numShards spreads keys over this many independently locked maps.
	numShards = 256
	// defaultMaxKeys bounds a MemoryStore whose MaxKeys is zero: at roughly
	// 100 bytes per entry for short keys, about 25 MiB.
	defaultMaxKeys = 1 << 18
	// evictSample is the least number of entries a full shard looks at to
	// make room.
	evictSample = 8
)

// MemoryOptions configure a MemoryStore. The zero value is ready to use.
type MemoryOptions struct {
	// MaxKeys bounds the number of keys held at once. When a shard is full,
	// inserting a key first drops the expired keys among a sample of the
	// shard, topped up with the sampled keys closest to expiry, so memory
	// stays bounded under any number of distinct keys. Zero means 262 144
	// keys. The bound is rounded up to a multiple of the shard count (256).
	MaxKeys int
	// Now is the clock. Nil means the monotonic clock (time.Since the store
	// was created), which costs one clock read where time.Now costs two and
	// ignores wall-clock steps. Tests inject a fake clock.
	Now func() time.Time
}

// MemoryStore is a Store held in the process: 256 shards, each a mutex and a
// map from key to its theoretical arrival time.
//
// A key costs nothing once it is idle long enough to be back at its full
// burst: it is then treated as absent and its entry may be reused or dropped.
// The number of entries never exceeds MaxKeys (see MemoryOptions). The store
// starts no goroutine and needs no Close.
//
// The zero MemoryStore is ready to use, with the defaults of MemoryOptions.
// A MemoryStore is safe for concurrent use; it must not be copied after first
// use.
type MemoryStore struct {
	now         func() time.Time
	maxPerShard int

	once   sync.Once
	seed   maphash.Seed
	epoch  time.Time
	shards [numShards]shard
}

// shard is one lock, an index from key to slot and the slots' theoretical
// arrival times (ns since the store's epoch). Updating a known key touches its
// slot without a second map operation. Padding keeps neighbouring shards off
// one cache line.
type shard struct {
	mu    sync.Mutex
	index map[string]int32
	tats  []int64
	free  []int32
	// scratch is reused by evict.
	scratch []candidate
	_       [64]byte
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore configured by opts.
func NewMemoryStore(opts MemoryOptions) *MemoryStore {
	s := &MemoryStore{now: opts.Now}
	if opts.MaxKeys > 0 {
		s.maxPerShard = (opts.MaxKeys + numShards - 1) / numShards
	}
	s.init()
	return s
}

func (s *MemoryStore) init() {
	s.once.Do(func() {
		if s.maxPerShard == 0 {
			s.maxPerShard = defaultMaxKeys / numShards
		}
		s.seed = maphash.MakeSeed()
		if s.now != nil {
			s.epoch = s.now()
		} else {
			s.epoch = time.Now()
		}
	})
}

// clock returns the time since the store's epoch in nanoseconds.
func (s *MemoryStore) clock() int64 {
	if s.now != nil {
		return int64(s.now().Sub(s.epoch))
	}
	return int64(time.Since(s.epoch))
}

// Allow implements Store. It never returns an error.
func (s *MemoryStore) Allow(_ context.Context, key string, limit Limit) (Result, error) {
	s.init()
	now := s.clock()
	sh := &s.shards[maphash.String(s.seed, key)%numShards]

	sh.mu.Lock()
	slot, ok := sh.index[key]
	tat := now
	if ok && sh.tats[slot] > now {
		tat = sh.tats[slot]
	}
	newTAT, res := gcra(now, tat, limit)
	if res.Allowed {
		if ok {
			sh.tats[slot] = newTAT
		} else {
			sh.insert(key, newTAT, now, s.maxPerShard)
		}
	}
	sh.mu.Unlock()
	return res, nil
}

// insert adds a key, making room first when the shard is full.
func (sh *shard) insert(key string, tat, now int64, capacity int) {
	if sh.index == nil {
		sh.index = make(map[string]int32)
	}
	if len(sh.index) >= capacity {
		sh.evict(now, capacity)
	}
	var slot int32
	if n := len(sh.free); n > 0 {
		slot, sh.free = sh.free[n-1], sh.free[:n-1]
		sh.tats[slot] = tat
	} else {
		slot = int32(len(sh.tats))
		sh.tats = append(sh.tats, tat)
	}
	sh.index[key] = slot
}

// evict makes room in a full shard, a batch at a time so the cost spreads
// over many inserts: among a sample of the shard it drops every expired key
// and, when that frees less than a batch, the sampled keys closest to expiry.
// Keys far from expiry, those that are being limited, go last, so flooding the
// store with new keys cannot cheaply reset a limited client. Map iteration
// starts at a random position, so the sample moves across the shard.
func (sh *shard) evict(now int64, capacity int) {
	batch := max(1, capacity/16)
	sample := 2*batch + evictSample
	cand := sh.scratch[:0]
	dropped, seen := 0, 0
	for k, slot := range sh.index {
		if tat := sh.tats[slot]; tat <= now {
			sh.drop(k, slot)
			dropped++
		} else {
			cand = append(cand, candidate{key: k, tat: tat})
		}
		if seen++; seen == sample {
			break
		}
	}
	if dropped < batch {
		slices.SortFunc(cand, func(a, b candidate) int { return cmp.Compare(a.tat, b.tat) })
		for _, c := range cand[:min(batch-dropped, len(cand))] {
			sh.drop(c.key, sh.index[c.key])
		}
	}
	clear(cand)
	sh.scratch = cand[:0]
}

// candidate is a key considered for eviction.
type candidate struct {
	key string
	tat int64
}

func (sh *shard) drop(key string, slot int32) {
	delete(sh.index, key)
	sh.free = append(sh.free, slot)
}

// Len returns the number of keys held, idle ones included until they are
// dropped. It locks each shard in turn, so it is meant for tests and metrics.
func (s *MemoryStore) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.index)
		sh.mu.Unlock()
	}
	return n
}

// gcra takes one decision for a key whose theoretical arrival time is tat
// (never before now). It returns the new TAT to store when allowed.
func gcra(now, tat int64, limit Limit) (int64, Result) {
	interval := int64(limit.Interval())
	tolerance := interval * int64(limit.BurstSize())
	newTAT := tat + interval
	allowAt := newTAT - tolerance
	if now < allowAt {
		return tat, Result{
			RetryAfter: time.Duration(allowAt - now),
			ResetAfter: time.Duration(tat - now),
		}
	}
	return newTAT, Result{
		Allowed:    true,
		Remaining:  int((now - allowAt) / interval),
		ResetAfter: time.Duration(newTAT - now),
	}
}
