package ratelimit

import (
	"context"
	"hash/maphash"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// numShards spreads keys over this many independently locked tables.
	numShards = 256
	// defaultMaxKeys bounds a Memory whose MaxKeys is zero: at about
	// 100 bytes per key (a 64-byte entry and its slots) plus the key of at
	// most MaxKeyLen bytes, about 30 MiB with short keys and 50 MiB at most.
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
	// about 100 bytes besides the key itself, which is at most MaxKeyLen
	// bytes. Zero means 262 144 keys (about 30 MiB with short keys, 50 MiB
	// at most). The bound is rounded up to a multiple
	// of the shard count (256).
	MaxKeys int
	// ExactClock makes every decision read the system clock. By default a
	// decision reads a clock that a goroutine of the store advances every
	// millisecond while the store is deciding (it stops by itself a few
	// milliseconds after the last decision, and for good on Close), which
	// costs a memory load where the system clock costs an instruction that
	// waits for every earlier memory access. A denied decision always reads the system
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
// A key idle long enough to be back at its full burst has no state left, and
// dropping it loses nothing. Decisions sweep the shards in turn, one shard at
// a time, so that every idle key is dropped within about a minute of going
// idle (SweepPeriod) while the store keeps deciding; a full shard also drops
// idle keys first to make room. The number of entries never exceeds MaxKeys
// (see MemoryOptions), and no key is stored longer than MaxKeyLen bytes (a
// longer one is stored as its digest), so memory is bounded in bytes too: at
// most about 200 bytes per key, 50 MiB with the default MaxKeys. Keys are
// copied when stored.
//
// The zero Memory is ready to use, with the defaults of MemoryOptions.
// A Memory is safe for concurrent use; it must not be copied after first
// use. Close stops the goroutine of its clock (see MemoryOptions.ExactClock);
// that goroutine also stops by itself a few milliseconds after the last
// decision, so a store that is dropped without Close leaks nothing for long.
type Memory struct {
	now         func() time.Time
	exact       bool
	maxPerShard int
	// foundDropped, set by tests only, runs when a decision has found its
	// entry dropped and is about to take the shard's lock.
	foundDropped func()

	once sync.Once
	seed maphash.Seed
	// epoch is the origin of an injected clock (now).
	epoch time.Time
	clock coarseClock

	// nextSweep is the time the next shard is due to be swept; sweepShard
	// counts the shards swept, the next one being sweepShard%numShards.
	nextSweep  atomic.Int64
	sweepShard atomic.Uint64
	_          [64 - 16]byte

	shards [numShards]shard
}

// SweepPeriod is the time a Memory store takes to sweep all its shards for
// idle keys while it is deciding: a shard is due every SweepPeriod/256.
const SweepPeriod = time.Minute

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
		s.clock.epoch = time.Now()
		if s.now != nil {
			s.epoch = s.now()
		}
		s.nextSweep.Store(sweepStep)
	})
}

// sweepStep is the time between two shard sweeps.
const sweepStep = int64(SweepPeriod / numShards)

// time returns the time in nanoseconds (since the store's first reading of
// its injected clock, or since its clock's epoch) and whether it is exact.
func (s *Memory) time() (int64, bool) {
	switch {
	case s.now != nil:
		return int64(s.now().Sub(s.epoch)), true
	case s.exact:
		return s.clock.exact(), true
	}
	return s.clock.coarse()
}

// Allow implements Store. It never returns an error. It stores
// BoundKey(key).
func (s *Memory) Allow(_ context.Context, key string, limit Limit) (Result, error) {
	s.init()
	if len(key) > MaxKeyLen {
		key = BoundKey(key)
	}
	var now int64
	var exact bool
	if c := &s.clock; s.now == nil && !s.exact && c.running.Load() {
		// The coarse clock's fast path, inline: one load while it runs.
		if !c.used.Load() {
			c.used.Store(true)
		}
		now = c.now.Load()
	} else {
		now, exact = s.time()
	}
	if now >= s.nextSweep.Load() {
		s.sweep(now)
	}
	h := maphash.String(s.seed, key)
	sh := &s.shards[h%numShards]
	var res Result
	if e := sh.table.Load().find(tagOf(h), key); e != nil {
		if s.decide(e, now, exact, limit, &res) {
			return res, nil
		}
		if s.foundDropped != nil {
			s.foundDropped()
		}
	}
	return s.allowLocked(sh, tagOf(h), key, now, exact, limit), nil
}

// Close stops the store's clock goroutine and waits for it to return. The
// store keeps deciding afterwards, reading the system clock each time.
// Close never fails; it is safe to call more than once.
func (s *Memory) Close() error {
	s.clock.close()
	return nil
}

// decide takes the decision for a found entry without the lock, into res.
// It reports false, having changed nothing, when the entry has been dropped.
// A denial on an inexact time is taken again on the exact time.
func (s *Memory) decide(e *entry, now int64, exact bool, limit Limit, res *Result) bool {
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
			now, exact = s.clock.exact(), true
			s.clock.advance(now)
		default:
			return true
		}
	}
}

// allowLocked takes the decision for a key that was not found, or was found
// dropped, without the lock: it looks again under the lock and inserts the
// key when it is still absent.
func (s *Memory) allowLocked(sh *shard, tag uint64, key string, now int64, exact bool, limit Limit) Result {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e := sh.table.Load().find(tag, key); e != nil {
		// Entries are dropped only under the lock, so e is live; lock-free
		// decisions may still move its arrival time.
		var res Result
		s.decide(e, now, exact, limit, &res)
		return res
	}
	// A fresh key is at its full burst, so the first event is allowed.
	newTAT, res := gcra(now, now, limit)
	if sh.live >= s.maxPerShard {
		sh.evict(now, s.maxPerShard)
	}
	// The key is copied so that the entry never holds on to a larger
	// string the caller's key is part of.
	e := &entry{tag: tag, key: strings.Clone(key)}
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
			// The entry is nil when the slot has just been dropped.
			if e := sl.entry.Load(); e != nil && e.tag == tag && e.key == key {
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
