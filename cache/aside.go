package cache

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/svckit/svckit/dedupe"
)

// Defaults used by NewAside for zero Options fields.
const (
	DefaultTTL         = time.Hour
	DefaultNegativeTTL = time.Minute
	DefaultJitter      = 0.05
)

// Options configure an Aside. The zero value caches values for DefaultTTL and
// "not found" for DefaultNegativeTTL, both ±5 %, keys formatted with
// fmt.Sprint (strings used as they are), store failures served from the
// loader and not logged.
type Options[K comparable] struct {
	// TTL is how long a loaded value stays cached. Zero means DefaultTTL.
	TTL time.Duration
	// NegativeTTL is how long a "not found" answer stays cached. Zero means
	// DefaultNegativeTTL; negative disables negative caching.
	NegativeTTL time.Duration
	// Jitter spreads each TTL uniformly over ±Jitter of itself, so that
	// entries written together do not expire together. Zero means
	// DefaultJitter; negative disables jitter. At most 1.
	Jitter float64
	// Rand returns uniform numbers in [0, 1) for the jitter. Nil means
	// math/rand/v2's Float64. Tests inject a fixed one.
	Rand func() float64
	// NotFound lists the errors, besides ErrNotFound, that mean the value
	// does not exist (matched with errors.Is), for example a repository's
	// not-found error. At most 254.
	NotFound []error
	// Key turns a key into the store key. Nil means the string itself for
	// string keys and fmt.Sprint otherwise.
	Key func(K) string
	// Prefix is put before every store key, for example "user:". Empty
	// keeps string keys free of allocation.
	Prefix string
	// Logger receives one record when the store starts failing and one
	// when it recovers. Nil discards them.
	Logger *slog.Logger
	// FailOnStoreError makes Get and Delete return store errors (wrapped)
	// instead of serving from the loader.
	FailOnStoreError bool
	// RefreshAfter turns on stale-while-revalidate: a value cached longer
	// than RefreshAfter (±Jitter) is still served, and one background load
	// per key replaces it. Zero turns it off. Keep it below TTL, which
	// still bounds how long a value lives. Call Aside.Close when done.
	RefreshAfter time.Duration
	// Now is the clock RefreshAfter is measured by. Nil means time.Now.
	Now func() time.Time
}

// stripes is the number of invalidation generations an Aside keeps; keys
// hash onto them.
const stripes = 256

// stripe is the invalidation generation of the keys hashing onto it. Stores
// of loaded values hold mu for reading and write only if gen has not moved
// since their load began; Delete holds it for writing to move gen.
type stripe struct {
	mu  sync.RWMutex
	gen atomic.Uint64
}

// Aside is a typed cache-aside over a Store: Get returns the cached value or
// calls the loader, once per key at a time in this process, and caches what
// it returns.
//
// Consistency: once Delete (or the hook queued by DeleteAfterCommit) has
// returned, no Get in this process that starts afterwards returns a value
// read before the Delete removed it: a load in flight across a Delete
// neither writes its result (a per-key generation, moved by Delete, is
// checked under a lock when storing) nor is joined by later callers. Another process's load can still write a value it read
// before the update, after this process deleted the key, when both share a
// remote store; that window is bounded by the TTL.
//
// Use NewAside; the zero value is not usable. An Aside is safe for concurrent
// use. It starts goroutines only for the background refreshes of
// Options.RefreshAfter; Close waits for them.
type Aside[K comparable, V any] struct {
	store       Store[Entry[V]]
	setNX       AbsentSetter[Entry[V]] // nil: no negative caching
	key         func(K) string
	ttl, negTTL time.Duration
	jitter      float64
	rand        func() float64
	notFound    []error
	log         *slog.Logger
	failFast    bool
	refresh     time.Duration
	now         func() time.Time

	group dedupe.Group[string, Entry[V]]
	seed  maphash.Seed
	gens  [stripes]stripe
	down  atomic.Bool // the store is failing; reported once

	bg bg // background refreshes

	hits, misses, negHits, loads, loadErrs, storeErrs, refreshes atomic.Uint64
}

// NewAside returns an Aside keeping its entries in store. A nil opts is the
// zero Options. It panics on options out of range.
func NewAside[K comparable, V any](store Store[Entry[V]], opts *Options[K]) *Aside[K, V] {
	if store == nil {
		panic("cache: NewAside with a nil store")
	}
	if opts == nil {
		opts = &Options[K]{}
	}
	if opts.Jitter > 1 {
		panic("cache: Options.Jitter above 1")
	}
	if len(opts.NotFound) > 254 {
		panic("cache: more than 254 Options.NotFound errors")
	}
	a := &Aside[K, V]{
		store:    store,
		key:      keyFunc(opts.Key, opts.Prefix),
		ttl:      orDefault(opts.TTL, DefaultTTL),
		negTTL:   orDefault(opts.NegativeTTL, DefaultNegativeTTL),
		jitter:   opts.Jitter,
		rand:     opts.Rand,
		notFound: append([]error(nil), opts.NotFound...),
		log:      opts.Logger,
		failFast: opts.FailOnStoreError,
		refresh:  max(opts.RefreshAfter, 0),
		now:      opts.Now,
		seed:     maphash.MakeSeed(),
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.setNX, _ = store.(AbsentSetter[Entry[V]])
	switch {
	case a.jitter == 0:
		a.jitter = DefaultJitter
	case a.jitter < 0:
		a.jitter = 0
	}
	if a.rand == nil {
		a.rand = rand.Float64
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func keyFunc[K comparable](key func(K) string, prefix string) func(K) string {
	if key == nil {
		var zero K
		if _, ok := any(zero).(string); ok {
			key = func(k K) string { return any(k).(string) }
		} else {
			key = func(k K) string { return fmt.Sprint(k) }
		}
	}
	if prefix == "" {
		return key
	}
	return func(k K) string { return prefix + key(k) }
}

// Get returns the value cached for key, or calls load, caches its result and
// returns it. Concurrent Gets of a missing key in this process share one call
// of load, which runs on a context detached from the callers' cancellation
// (see dedupe.Group.Do); a panic in load reaches every caller.
//
// When load returns an error matching ErrNotFound or one of Options.NotFound,
// Get returns a *NotFoundError wrapping it and caches the answer for
// NegativeTTL; until then Get returns a *NotFoundError for the key, wrapping
// the matched sentinel, without calling load. Either matches ErrNotFound and
// the declared error with errors.Is. Other errors are returned as they are
// and not cached.
//
// When the store fails, Get serves from load (or, with FailOnStoreError,
// returns the store error).
func (a *Aside[K, V]) Get(ctx context.Context, key K, load func(ctx context.Context) (V, error)) (V, error) {
	var zero V
	k := a.key(key)
	e, ok, err := a.store.Get(ctx, k)
	if err != nil && errors.Is(err, ErrUndecodable) {
		if err := a.undecodable(ctx, err); err != nil {
			return zero, err
		}
		ok, err = false, nil
	}
	if err != nil {
		if err := a.storeFailed(ctx, "get", err); err != nil {
			return zero, err
		}
	} else {
		a.storeUp(ctx)
		if ok {
			if e.Missing == 0 {
				a.hits.Add(1)
				if e.RefreshAt != 0 && a.refresh > 0 && a.now().UnixNano() >= e.RefreshAt {
					a.revalidate(ctx, k, load)
				}
				return e.Value, nil
			}
			a.negHits.Add(1)
			return zero, &NotFoundError{Key: k, Err: a.notFoundErr(e.Missing)}
		}
	}
	a.misses.Add(1)
	write := err == nil
	e, _, err = a.group.Do(ctx, k, func(ctx context.Context) (Entry[V], error) {
		return a.fill(ctx, k, load, write)
	})
	if err != nil {
		return zero, err
	}
	return e.Value, nil
}

// fill runs once per key at a time. It looks in the store again, as a load
// that finished between this caller's miss and its call of Do has stored its
// answer there, then loads.
func (a *Aside[K, V]) fill(ctx context.Context, k string, load func(context.Context) (V, error), write bool) (Entry[V], error) {
	if write {
		e, ok, err := a.store.Get(ctx, k)
		if err != nil && errors.Is(err, ErrUndecodable) {
			if err := a.undecodable(ctx, err); err != nil {
				return Entry[V]{}, err
			}
			ok, err = false, nil
		}
		switch {
		case err != nil:
			if err := a.storeFailed(ctx, "get", err); err != nil {
				return Entry[V]{}, err
			}
			write = false
		case ok && e.Missing != 0:
			return e, &NotFoundError{Key: k, Err: a.notFoundErr(e.Missing)}
		case ok:
			return e, nil
		}
	}
	return a.load(ctx, k, load, write)
}

// load calls the loader and stores its answer, unless write is false (the
// store just failed) or the key was deleted since the load began.
func (a *Aside[K, V]) load(ctx context.Context, k string, load func(context.Context) (V, error), write bool) (Entry[V], error) {
	s := &a.gens[maphash.String(a.seed, k)%stripes]
	gen := s.gen.Load()
	a.loads.Add(1)
	v, err := load(ctx)
	if err != nil {
		m := a.missing(err)
		if m == 0 {
			a.loadErrs.Add(1)
			return Entry[V]{}, err
		}
		if write && a.negTTL > 0 && a.setNX != nil {
			if serr := a.put(ctx, s, gen, k, Entry[V]{Missing: m}, a.negTTL); serr != nil {
				return Entry[V]{}, serr
			}
		}
		return Entry[V]{Missing: m}, &NotFoundError{Key: k, Err: err}
	}
	e := Entry[V]{Value: v}
	if a.refresh > 0 {
		e.RefreshAt = a.now().Add(a.jittered(a.refresh)).UnixNano()
	}
	if write {
		if serr := a.put(ctx, s, gen, k, e, a.ttl); serr != nil {
			return Entry[V]{}, serr
		}
	}
	return e, nil
}

// put stores e under k unless k's generation moved past gen. Placeholders
// are set only where nothing is stored.
func (a *Aside[K, V]) put(ctx context.Context, s *stripe, gen uint64, k string, e Entry[V], ttl time.Duration) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.gen.Load() != gen {
		return nil
	}
	ttl = a.jittered(ttl)
	var err error
	if e.Missing != 0 {
		_, err = a.setNX.SetIfAbsent(ctx, k, e, ttl)
	} else {
		err = a.store.Set(ctx, k, e, ttl)
	}
	if err != nil {
		return a.storeFailed(ctx, "set", err)
	}
	a.storeUp(ctx)
	return nil
}

func (a *Aside[K, V]) jittered(ttl time.Duration) time.Duration {
	if a.jitter == 0 {
		return ttl
	}
	return time.Duration(float64(ttl) * (1 + a.jitter*(2*a.rand()-1)))
}

// missing returns the placeholder code for a not-found error, or 0.
func (a *Aside[K, V]) missing(err error) uint8 {
	for i, nf := range a.notFound {
		if errors.Is(err, nf) {
			return uint8(i + 2)
		}
	}
	if errors.Is(err, ErrNotFound) {
		return 1
	}
	return 0
}

func (a *Aside[K, V]) notFoundErr(m uint8) error {
	if i := int(m) - 2; i >= 0 && i < len(a.notFound) {
		return a.notFound[i]
	}
	return ErrNotFound
}

// storeFailed counts a store error and reports the first of an outage. It
// returns the error to give the caller, nil when the loader serves instead.
func (a *Aside[K, V]) storeFailed(ctx context.Context, op string, err error) error {
	a.storeErrs.Add(1)
	if a.down.CompareAndSwap(false, true) {
		a.log.LogAttrs(ctx, slog.LevelWarn, "cache: store failing, reads fall through to the loader",
			slog.String("op", op), slog.Any("error", err))
	}
	if a.failFast {
		return fmt.Errorf("cache: store %s: %w", op, err)
	}
	return nil
}

// undecodable counts and logs an entry the store could not decode, which the
// caller then treats as missing so that the loaded value replaces it. It
// returns the error to give the caller under FailOnStoreError, else nil.
func (a *Aside[K, V]) undecodable(ctx context.Context, err error) error {
	a.storeErrs.Add(1)
	a.log.LogAttrs(ctx, slog.LevelWarn, "cache: undecodable entry, reloading it", slog.Any("error", err))
	if a.failFast {
		return fmt.Errorf("cache: store get: %w", err)
	}
	return nil
}

// storeUp reports the end of an outage.
func (a *Aside[K, V]) storeUp(ctx context.Context) {
	if a.down.Load() && a.down.CompareAndSwap(true, false) {
		a.log.LogAttrs(ctx, slog.LevelInfo, "cache: store recovered")
	}
}

// Stats returns the counters. Each is read atomically; together they are a
// snapshot only when the Aside is idle.
func (a *Aside[K, V]) Stats() Stats {
	return Stats{
		Hits:         a.hits.Load(),
		Misses:       a.misses.Load(),
		NegativeHits: a.negHits.Load(),
		Loads:        a.loads.Load(),
		LoadErrors:   a.loadErrs.Load(),
		StoreErrors:  a.storeErrs.Load(),
		Refreshes:    a.refreshes.Load(),
	}
}
