package ratelimit

import (
	"cmp"
	"context"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// numShards spreads keys over this many independently locked tables.
	numShards = 256
	// defaultMaxKeys bounds a Memory whose MaxKeys is zero: at about
	// 100 bytes per key (a 64-byte entry and its slots) plus the key, about
	// 30 MiB with short keys.
	defaultMaxKeys = 1 << 18
	// evictSample is the least number of entries a full shard looks at to
	// make room.
	evictSample = 8
	// minTableSize is the number of slots of a shard's first table.
	minTableSize = 8
	// dead marks an entry removed from its shard. A decision that finds it
	// looks the key up again under the shard's lock.
	dead = math.MinInt64
)

// MemoryOptions configure a Memory. The zero value is ready to use.
type MemoryOptions struct {
	// MaxKeys bounds the number of keys held at once. When a shard is full,
	// inserting a key first drops the expired keys among a sample of the
	// shard, topped up with the sampled keys closest to expiry, so memory
	// stays bounded under any number of distinct keys. Each key held costs
	// about 100 bytes besides the key itself. Zero means 262 144 keys
	// (about 30 MiB with short keys). The bound is rounded up to a multiple
	// of the shard count (256).
	MaxKeys int
	// ExactClock makes every decision read the system clock. By default a
	// decision reads a clock that one goroutine of the package advances
	// every millisecond while any store is deciding (it stops by itself a
	// few milliseconds after the last decision), which costs a memory load
	// where the system clock costs an instruction that waits for every
	// earlier memory access. A denied decision always reads the system
	// clock again, so denials and RetryAfter are exact either way. The
	// default clock lags by the goroutine's delay: about a millisecond, more
	// while the process is starved of CPU and the goroutine runs late. An
	// allowed decision's Remaining and ResetAfter are then that far behind,
	// and a key whose budget was full may be credited that lag's worth of
	// events beyond its limit (at 1000 events a second and a 1 ms lag, one
	// event). Set ExactClock where a limit must hold to the event.
	ExactClock bool
	// Now is the clock, for tests that move time themselves. Nil means the
	// monotonic clock, as set by ExactClock.
	Now func() time.Time
}

// Memory is a Store held in the process: 256 shards, each an
// open-addressing hash table from key to the key's theoretical arrival time.
//
// A decision on a known key takes no lock: it finds the key's entry through
// an atomically published table and updates the entry's arrival time with
// one compare-and-swap, so decisions on different keys write different cache
// lines. Only inserting a new key, and making room for it, locks the key's
// shard.
//
// A key idle long enough to be back at its full burst has no state left: its
// entry is among the first a full shard drops, and dropping it loses
// nothing. The number of entries never exceeds MaxKeys (see MemoryOptions).
// The store needs no Close: the only goroutine it relies on, the package's
// clock (see MemoryOptions.ExactClock), stops by itself when decisions stop.
//
// The zero Memory is ready to use, with the defaults of MemoryOptions.
// A Memory is safe for concurrent use; it must not be copied after first
// use.
type Memory struct {
	now         func() time.Time
	exact       bool
	maxPerShard int

	once   sync.Once
	seed   maphash.Seed
	epoch  time.Time
	shards [numShards]shard
}

// shard is one table of entries. Readers load the table without a lock;
// writers hold mu, and replace the table (a larger one, or one rid of
// dropped slots) by publishing a copy, so a reader never sees a table being
// rebuilt.
type shard struct {
	table atomic.Pointer[table]

	mu sync.Mutex
	// live is the number of entries held; used counts the slots that are
	// not empty, dropped ones included. Both are guarded by mu.
	live, used int
	// scratch is reused by evict.
	scratch []candidate
	// Padding keeps neighbouring shards' locks off one cache line.
	_ [64]byte
}

// table is a linear-probing hash table. A slot goes from empty to a key's
// entry, from there to dropped, and from dropped to an entry again (of that
// key or another); it never goes back to empty, so a probe that reaches an
// empty slot has seen every slot the key could be in.
type table struct {
	mask  uint64
	slots []slot
}

// slot holds an entry and its hash tag. The tag lets a probe pass over other
// keys' slots without touching their entries, which other goroutines write.
// A writer stores the entry before the tag, so a reader that sees a key's tag
// sees the entry; a reader that sees no tag yet treats the slot as empty and
// looks again under the lock.
type slot struct {
	tag   atomic.Uint64
	entry atomic.Pointer[entry]
}

// Tags of a key have the top bit set; these two do not.
const (
	tagEmpty   = 0
	tagDropped = 1
)

// tagOf returns the tag of a key's hash.
func tagOf(h uint64) uint64 { return h | 1<<63 }

// entry is one key's state. tat is the theoretical arrival time in
// nanoseconds since the store's epoch, or dead once the entry is dropped.
//
// An entry fills a 64-byte cache line (the allocator aligns 64-byte objects
// to 64 bytes): sharing one with another key's entry would make decisions
// on the two keys from different cores contend for it. Measured on 10 000
// keys from two cores, the padding is worth 10 to 45 % of a decision.
type entry struct {
	tat atomic.Int64
	tag uint64
	key string
	_   [64 - 32]byte
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty Memory configured by opts.
func NewMemory(opts MemoryOptions) *Memory {
	s := &Memory{now: opts.Now, exact: opts.ExactClock || opts.Now != nil}
	if opts.MaxKeys > 0 {
		s.maxPerShard = opts.MaxKeys/numShards + min(1, opts.MaxKeys%numShards)
	}
	s.init()
	return s
}

func (s *Memory) init() {
	s.once.Do(func() {
		if s.maxPerShard == 0 {
			s.maxPerShard = defaultMaxKeys / numShards
		}
		s.seed = maphash.MakeSeed()
		if s.now != nil {
			s.epoch = s.now()
		}
	})
}

// clock returns the time in nanoseconds (since the store's first reading of
// its injected clock, or since the package's epoch) and whether it is exact.
func (s *Memory) clock() (int64, bool) {
	switch {
	case s.now != nil:
		return int64(s.now().Sub(s.epoch)), true
	case s.exact:
		return exactNow(), true
	}
	return coarseNow(), false
}

// Allow implements Store. It never returns an error.
func (s *Memory) Allow(_ context.Context, key string, limit Limit) (Result, error) {
	s.init()
	now, exact := s.clock()
	h := maphash.String(s.seed, key)
	sh := &s.shards[h%numShards]
	var res Result
	if e := sh.table.Load().find(tagOf(h), key); e != nil && decide(e, now, exact, limit, &res) {
		return res, nil
	}
	return sh.allowLocked(tagOf(h), key, now, exact, limit, s.maxPerShard), nil
}

// decide takes the decision for a found entry without the lock, into res.
// It reports false, having changed nothing, when the entry has been dropped.
// A denial on an inexact time is taken again on the exact time.
func decide(e *entry, now int64, exact bool, limit Limit, res *Result) bool {
	for {
		old := e.tat.Load()
		if old == dead {
			return false
		}
		var newTAT int64
		newTAT, *res = gcra(now, max(old, now), limit)
		switch {
		case res.Allowed:
			if e.tat.CompareAndSwap(old, newTAT) {
				return true
			}
		case !exact:
			now, exact = exactNow(), true
			advanceCoarse(now)
		default:
			return true
		}
	}
}

// allowLocked takes the decision for a key that was not found, or was found
// dropped, without the lock: it looks again under the lock and inserts the
// key when it is still absent.
func (sh *shard) allowLocked(tag uint64, key string, now int64, exact bool, limit Limit, capacity int) Result {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e := sh.table.Load().find(tag, key); e != nil {
		// Entries are dropped only under the lock, so e is live; lock-free
		// decisions may still move its arrival time.
		var res Result
		decide(e, now, exact, limit, &res)
		return res
	}
	// A fresh key is at its full burst, so the first event is allowed.
	newTAT, res := gcra(now, now, limit)
	if sh.live >= capacity {
		sh.evict(now, capacity)
	}
	e := &entry{tag: tag, key: key}
	e.tat.Store(newTAT)
	sh.insert(e)
	return res
}

// find returns the entry of the key with tag, or nil. A nil table holds
// nothing.
func (t *table) find(tag uint64, key string) *entry {
	if t == nil {
		return nil
	}
	for i := tag >> 8; ; i++ {
		sl := &t.slots[i&t.mask]
		switch sl.tag.Load() {
		case tagEmpty:
			return nil
		case tag:
			if e := sl.entry.Load(); e.tag == tag && e.key == key {
				return e
			}
		}
	}
}

// insert adds an entry for a key the shard does not hold, growing or
// rebuilding the table first when it is three quarters used.
func (sh *shard) insert(e *entry) {
	t := sh.table.Load()
	if t == nil || 4*(sh.used+1) > 3*len(t.slots) {
		size := minTableSize
		for 2*(sh.live+1) > size {
			size *= 2
		}
		t = sh.rebuild(size)
	}
	for i := e.tag >> 8; ; i++ {
		sl := &t.slots[i&t.mask]
		switch sl.tag.Load() {
		case tagEmpty:
			sh.used++
			fallthrough
		case tagDropped:
			sl.entry.Store(e)
			sl.tag.Store(e.tag)
			sh.live++
			return
		}
	}
}

// rebuild publishes a table of size slots holding the live entries, and
// returns it.
func (sh *shard) rebuild(size int) *table {
	t := &table{mask: uint64(size - 1), slots: make([]slot, size)}
	if old := sh.table.Load(); old != nil {
		for i := range old.slots {
			if old.slots[i].tag.Load() <= tagDropped {
				continue
			}
			e := old.slots[i].entry.Load()
			for j := e.tag >> 8; ; j++ {
				if sl := &t.slots[j&t.mask]; sl.tag.Load() == tagEmpty {
					sl.entry.Store(e)
					sl.tag.Store(e.tag)
					break
				}
			}
		}
	}
	sh.used = sh.live
	sh.table.Store(t)
	return t
}

// evict makes room in a full shard, a batch at a time so the cost spreads
// over many inserts: among a sample of the shard it drops every expired key
// and, when that frees less than a batch, the sampled keys closest to expiry.
// Keys far from expiry, those that are being limited, go last, so flooding the
// store with new keys cannot cheaply reset a limited client. The sample starts
// at a random slot, so it moves across the shard.
//
// An entry is dropped by swapping its arrival time for dead, so a concurrent
// lock-free decision either lands before the drop or sees dead and decides
// again under the lock, on a fresh entry; none lands on a dropped entry. An
// expired entry is dropped only if no decision has moved its time since it
// was sampled; otherwise it joins the candidates.
func (sh *shard) evict(now int64, capacity int) {
	t := sh.table.Load()
	batch := max(1, capacity/16)
	sample := 2*batch + evictSample
	cand := sh.scratch[:0]
	dropped, seen := 0, 0
	start := rand.Uint64()
	for i := range uint64(len(t.slots)) {
		sl := &t.slots[(start+i)&t.mask]
		if sl.tag.Load() <= tagDropped {
			continue
		}
		e := sl.entry.Load()
		tat := e.tat.Load()
		if tat <= now && e.tat.CompareAndSwap(tat, dead) {
			sh.drop(sl)
			dropped++
		} else {
			// Live, or a decision has just moved it.
			cand = append(cand, candidate{slot: sl, entry: e, tat: e.tat.Load()})
		}
		if seen++; seen == sample {
			break
		}
	}
	if dropped < batch {
		slices.SortFunc(cand, func(a, b candidate) int { return cmp.Compare(a.tat, b.tat) })
		for _, c := range cand {
			if dropped == batch {
				break
			}
			// An unconditional swap: a decision that moved the time
			// since the sample is dropped with the key, as if eviction
			// had come a moment later, and the shard always makes room.
			c.entry.tat.Swap(dead)
			sh.drop(c.slot)
			dropped++
		}
	}
	clear(cand)
	sh.scratch = cand[:0]
}

// candidate is an entry considered for eviction, with the arrival time it
// had when sampled.
type candidate struct {
	slot  *slot
	entry *entry
	tat   int64
}

// drop empties the slot of an entry marked dead. The entry stays in the slot
// until the slot is reused: a reader that still finds it sees it dead.
func (sh *shard) drop(sl *slot) {
	sl.tag.Store(tagDropped)
	sh.live--
}

// Len returns the number of keys held, idle ones included until they are
// dropped. It locks each shard in turn, so it is meant for tests and metrics.
func (s *Memory) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += sh.live
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
