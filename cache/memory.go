package cache

import (
	"cmp"
	"context"
	"math"
	"strings"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/svckit/svckit/internal/keyhash"
)

// DefaultMaxEntries bounds a Memory store whose options set no bound.
const DefaultMaxEntries = 10_000

// MemoryOptions configure a Memory store. The zero value holds up to
// DefaultMaxEntries entries.
//
// Bounds are enforced as the store drains its write buffer, so a small store
// may hold a few hundred entries more than its bound for a moment.
type MemoryOptions[V any] struct {
	// MaxEntries bounds the number of entries. Zero means DefaultMaxEntries
	// unless MaxBytes is set.
	MaxEntries int
	// MaxBytes bounds the total weight of the entries, as measured by
	// Weigher, instead of their number. Zero means no weight bound.
	MaxBytes uint64
	// Weigher returns an entry's weight in bytes. Required with MaxBytes;
	// ignored without it.
	Weigher func(key string, v V) uint32
	// Now is the clock entries expire by. Nil means time.Now. With a clock
	// of its own the store checks expiry on access only, with no
	// background clean-up.
	Now func() time.Time
	// Resolution is how often the store reads the time, on a goroutine
	// of its own, instead of on every access: reads get cheaper (about a
	// third on the hit path), and entries may expire up to Resolution
	// late. Zero means DefaultResolution; negative reads the time on
	// every access. Ignored with Now.
	Resolution time.Duration
}

// DefaultResolution is the default MemoryOptions.Resolution.
const DefaultResolution = 10 * time.Millisecond

// memoryItem is an entry with the time to live it was stored with.
type memoryItem[V any] struct {
	e   Entry[V]
	ttl time.Duration
}

// Memory is an in-memory Store bounded by entry count or total weight, with
// a time to live per entry. A Memory[V] keeps the entries of an
// Aside[K, V]. Reads take no global lock: it is built on otter,
// a concurrent cache with an S3-FIFO eviction policy.
//
// Keys come from clients (an email, an id from a path), so a key longer
// than MaxKeyLen bytes is held as "#" and its SHA-256 digest, 44 bytes: a
// key of any size costs the store a bounded string. The Weigher sees the
// key as held.
//
// Use NewMemory; the zero value is not usable. A Memory is safe for
// concurrent use. Close stops its goroutines (clock and clean-up).
type Memory[V any] struct {
	c      *otter.Cache[string, *memoryItem[V]]
	coarse *otter.CoarseClock // nil with MemoryOptions.Now or a negative Resolution
}

var (
	_ Store[int]        = (*Memory[int])(nil)
	_ AbsentSetter[int] = (*Memory[int])(nil)
)

// MaxKeyLen is the longest key a Memory store holds as it is; longer keys
// are held as a digest (see Memory).
const MaxKeyLen = 64

// noExpiry stands for "never" in otter's per-entry expiry.
const noExpiry = time.Duration(math.MaxInt64)

// NewMemory returns an empty Memory store. It panics if MaxBytes is set
// without a Weigher.
func NewMemory[V any](opts MemoryOptions[V]) *Memory[V] {
	o := &otter.Options[string, *memoryItem[V]]{
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, *memoryItem[V]]) time.Duration {
			if e.Value.ttl <= 0 {
				return noExpiry
			}
			return e.Value.ttl
		}),
	}
	switch {
	case opts.MaxBytes > 0:
		if opts.Weigher == nil {
			panic("cache: MemoryOptions.MaxBytes needs a Weigher")
		}
		weigh := opts.Weigher
		o.MaximumWeight = opts.MaxBytes
		o.Weigher = func(k string, it *memoryItem[V]) uint32 { return weigh(k, it.e.Value) }
	case opts.MaxEntries > 0:
		o.MaximumSize = opts.MaxEntries
	default:
		o.MaximumSize = DefaultMaxEntries
	}
	m := &Memory[V]{}
	switch {
	case opts.Now != nil:
		o.Clock = clock(opts.Now)
	case opts.Resolution >= 0:
		m.coarse = otter.NewCoarseClock(cmp.Or(opts.Resolution, DefaultResolution))
		o.Clock = m.coarse
	}
	m.c = otter.Must(o)
	return m
}

// Get returns the entry stored under key, if it has not expired. It never
// fails.
func (m *Memory[V]) Get(_ context.Context, key string) (e Entry[V], ok bool, err error) {
	it, ok := m.c.GetIfPresent(keyhash.Bound(key, MaxKeyLen))
	if !ok {
		return e, false, nil
	}
	return it.e, true, nil
}

// Set stores e under key for ttl (zero or less: no expiry). It never fails.
func (m *Memory[V]) Set(_ context.Context, key string, e Entry[V], ttl time.Duration) error {
	m.c.Set(heldKey(key), &memoryItem[V]{e: e, ttl: ttl})
	return nil
}

// SetIfAbsent stores e under key for ttl unless the key holds an unexpired
// entry, and reports whether it did. It never fails.
func (m *Memory[V]) SetIfAbsent(_ context.Context, key string, e Entry[V], ttl time.Duration) (bool, error) {
	_, set := m.c.SetIfAbsent(heldKey(key), &memoryItem[V]{e: e, ttl: ttl})
	return set, nil
}

// Delete removes the keys. It never fails.
func (m *Memory[V]) Delete(_ context.Context, keys ...string) error {
	for _, k := range keys {
		m.c.Invalidate(keyhash.Bound(k, MaxKeyLen))
	}
	return nil
}

// Clear removes every entry.
func (m *Memory[V]) Clear() { m.c.InvalidateAll() }

// Len returns the approximate number of entries, expired ones not yet
// evicted included.
func (m *Memory[V]) Len() int { return m.c.EstimatedSize() }

// Close stops the store's goroutines. The store still works after Close,
// dropping expired entries on access only and reading the time on every
// access.
func (m *Memory[V]) Close() error {
	m.c.StopAllGoroutines()
	if m.coarse != nil {
		m.coarse.Stop()
	}
	return nil
}

// heldKey is the key a write keeps: bounded, and copied so that the store
// never holds on to a larger string the caller's key is part of.
func heldKey(key string) string {
	if len(key) > MaxKeyLen {
		return keyhash.Bound(key, MaxKeyLen)
	}
	return strings.Clone(key)
}

// clock adapts a time source to otter's clock, without ticks.
type clock func() time.Time

func (c clock) NowNano() int64 { return c().UnixNano() }

func (c clock) Tick(time.Duration) <-chan time.Time { return nil }
