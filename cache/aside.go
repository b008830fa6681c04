package cache

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/svckit/svckit/dedupe"
	"github.com/svckit/svckit/internal/opt"
)

// Defaults used by NewAside for zero Options fields.
const (
	DefaultTTL         = time.Hour
	DefaultNegativeTTL = time.Minute
	DefaultJitter      = 0.05
	// DefaultLeaseTimeout is how long a fill lease lasts (Leaser stores):
	// a load that takes longer may be repeated by another caller, and a
	// filler that died blocks its key for at most this long.
	DefaultLeaseTimeout = 2 * time.Second
	// DefaultDeleteRetries is how often a failed invalidation is tried
	// again before its key is fenced.
	DefaultDeleteRetries = 3
	// DefaultDeleteBackoff is the wait before the first retry of a failed
	// invalidation; it doubles with every retry (10, 20, 40 ms: 70 ms in
	// all by default) and is jittered.
	DefaultDeleteBackoff = 10 * time.Millisecond
	// DefaultFenceRetry is how often a fenced key's invalidation is tried
	// again in the background.
	DefaultFenceRetry = 250 * time.Millisecond
)

// Options configure an Aside. The zero value caches values for DefaultTTL and
// "not found" for DefaultNegativeTTL, both ±5 %, keys formatted with
// fmt.Sprint (strings used as they are), store failures served from the
// loader and not logged.
type Options[K comparable] struct {
	// TTL is how long a loaded value stays cached. Zero or negative means
	// DefaultTTL.
	TTL time.Duration
	// NegativeTTL is how long a "not found" answer stays cached. Zero means
	// DefaultNegativeTTL; negative disables negative caching.
	NegativeTTL time.Duration
	// Jitter spreads each TTL uniformly over ±Jitter of itself, so that
	// entries written together do not expire together. Zero (or NaN) means
	// DefaultJitter; negative disables jitter; above 1 means 1.
	Jitter float64
	// Rand returns uniform numbers in [0, 1) for the jitter. Nil means
	// math/rand/v2's Float64. Tests inject a fixed one.
	Rand func() float64
	// NotFound lists the errors, besides ErrNotFound, that mean the value
	// does not exist (matched with errors.Is), for example a repository's
	// not-found error. A cached "not found" matches all of them (see
	// NotFoundError), so their order does not matter across processes.
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
	// per key replaces it: one per process, and one across processes on a
	// Leaser store (see LeaseTimeout). Zero turns it off. Keep it below TTL, which
	// still bounds how long a value lives. Call Aside.Close when done.
	RefreshAfter time.Duration
	// Now is the clock RefreshAfter is measured by. Nil means time.Now.
	Now func() time.Time
	// LeaseTimeout is how long a fill lease lasts on a Leaser store, and
	// a refresh lease: the other processes serve a stale value without
	// refreshing it for that long while one refreshes it. Zero means
	// DefaultLeaseTimeout, and so does a negative value. Keep it above the
	// loader's usual time: a fill
	// that outlives its lease is not stored, and a refresh that does may
	// be repeated by another process.
	LeaseTimeout time.Duration
	// DeleteRetries is how many times Delete tries a failed store delete
	// again before it fences the keys. Zero means DefaultDeleteRetries;
	// negative means no retry.
	DeleteRetries int
	// DeleteBackoff is the wait before the first retry, doubled after
	// each. Zero or negative means DefaultDeleteBackoff.
	DeleteBackoff time.Duration
	// FenceRetry is how often the background retry of fenced keys runs.
	// Zero or negative means DefaultFenceRetry.
	FenceRetry time.Duration
	// Name is the value of the svckit.cache.name attribute of the
	// Aside's metrics and spans (see MetricRequests). Empty means
	// "default". It must come from code, never from input.
	Name string
	// MeterProvider and TracerProvider receive the Aside's metrics and
	// load spans. Nil means the global providers of package otel.
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider
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
// calls the loader, once per key at a time in this process (and, on a
// Leaser store, across processes), and caches what it returns.
//
// Consistency: once Delete (or the hook queued by txn.DeleteAfterCommit) has
// returned, no Get that starts afterwards returns a value read before the
// Delete removed it: in this process always, and in every process sharing
// a Leaser store (redisstore.Store) too. The package documentation gives
// the protocol and the bounds of the two-level store.
//
// Use NewAside; the zero value is not usable. An Aside is safe for concurrent
// use. It starts goroutines only for the background refreshes of
// Options.RefreshAfter and the background retry of fenced keys (see
// Delete); Close ends them.
type Aside[K comparable, V any] struct {
	store       Store[V]
	setNX       AbsentSetter[V] // nil: no negative caching without leases
	leaser      Leaser[V]       // nil: the store is not shared
	key         func(K) string
	ttl, negTTL time.Duration
	jitter      float64
	rand        func() float64
	notFound    []error
	log         *slog.Logger
	failFast    bool
	refresh     time.Duration
	now         func() time.Time
	leaseTTL    time.Duration
	retries     int
	backoff     time.Duration
	fenceEvery  time.Duration

	group *dedupe.Group[string, filled[V]] // loads shared in this process
	seed  maphash.Seed
	gens  [stripes]stripe
	reads [stripes]readStripe[V] // store reads shared in this process (see read)
	down  atomic.Bool            // the store is failing; reported once

	bg     bg     // background refreshes
	fences fences // keys whose invalidation failed

	req                                            *requestCounts
	loads, loadErrs, storeErrs, refreshes          atomic.Uint64
	leaseWaits, lostFills, delRetries, delFailures atomic.Uint64
	refreshSkips                                   atomic.Uint64
	m                                              asideMetrics
}

// filled is the result of one fill, shared by the callers that joined it.
type filled[V any] struct {
	e Entry[V]
	// lost: the result was not stored, because the key was invalidated
	// or the lease lapsed meanwhile, or because the load was not to store
	// (the store failed, or nothing stores a not-found). Unless refused,
	// it is good for the caller that ran the load and for callers that
	// joined after the fill began, but not for those that joined earlier:
	// they may have started after an invalidation the load cannot know
	// of, and fill again (see miss).
	lost bool
	// refused: the result was not stored because the key was invalidated
	// or the lease lapsed while the load ran. Nobody takes it, not even
	// the caller that ran the load (see miss).
	refused bool
	// began is when the fill started: callers that joined it after that
	// cannot take its result as it is (see miss).
	began time.Time
}

// NewAside returns an Aside keeping its entries in store. Every option
// value is accepted (see Options for what each means); a nil store
// panics.
func NewAside[K comparable, V any](store Store[V], opts Options[K]) *Aside[K, V] {
	if store == nil {
		panic("cache: NewAside: nil store")
	}
	a := &Aside[K, V]{
		store:      store,
		key:        keyFunc(opts.Key, opts.Prefix),
		ttl:        opt.PositiveOr(opts.TTL, DefaultTTL),
		negTTL:     cmp.Or(opts.NegativeTTL, DefaultNegativeTTL),
		jitter:     jitter(opts.Jitter),
		rand:       opts.Rand,
		notFound:   append([]error(nil), opts.NotFound...),
		log:        opts.Logger,
		failFast:   opts.FailOnStoreError,
		refresh:    max(opts.RefreshAfter, 0),
		now:        opts.Now,
		leaseTTL:   opt.PositiveOr(opts.LeaseTimeout, DefaultLeaseTimeout),
		retries:    max(cmp.Or(opts.DeleteRetries, DefaultDeleteRetries), 0),
		backoff:    opt.PositiveOr(opts.DeleteBackoff, DefaultDeleteBackoff),
		fenceEvery: opt.PositiveOr(opts.FenceRetry, DefaultFenceRetry),
		seed:       maphash.MakeSeed(),
	}
	a.req = new(requestCounts)
	a.m = newAsideMetrics(opts, a.req)
	if a.m.requests != nil {
		// The provider holds the callback until it is unregistered:
		// unregister it once the Aside is unreachable.
		runtime.AddCleanup(a, func(r metric.Registration) { _ = r.Unregister() }, a.m.requests)
	}
	a.group = dedupe.New[string, filled[V]](dedupe.Options{Name: a.m.name, MeterProvider: opts.MeterProvider})
	if a.now == nil {
		a.now = time.Now
	}
	a.setNX, _ = store.(AbsentSetter[V])
	a.leaser, _ = store.(Leaser[V])
	if a.rand == nil {
		a.rand = rand.Float64
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a
}

// jitter returns the fraction Options.Jitter means: DefaultJitter for zero
// and NaN, none for a negative value, at most 1.
func jitter(j float64) float64 {
	switch {
	case j == 0 || j != j:
		return DefaultJitter
	case j < 0:
		return 0
	}
	return min(j, 1)
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
// (see dedupe.Group.Do); a panic in load reaches every caller. On a Leaser
// store, Gets in other processes wait for that load's result instead of
// loading too.
//
// When load returns an error matching ErrNotFound or one of Options.NotFound,
// Get returns a *NotFoundError wrapping it and caches the answer for
// NegativeTTL; until then Get returns a *NotFoundError for the key, without
// calling load. Either matches ErrNotFound and the declared errors with
// errors.Is. Other errors are returned as they are and not cached.
//
// On a Leaser store, Gets of one key in this process share their reads of
// the store: a Get never joins a read begun before it asked, but waits for
// the next one, which all the Gets that came meanwhile share; so a burst
// of misses of one key makes a read or two per process, not one per Get
// queued for the client's connections. The Get that runs a shared read
// waits for it whatever its context says (the store bounds the call).
//
// When the store fails, Get serves from load (or, with FailOnStoreError,
// returns the store error).
func (a *Aside[K, V]) Get(ctx context.Context, key K, load func(ctx context.Context) (V, error)) (V, error) {
	var zero V
	k := a.key(key)
	write := true
	if a.fences.n.Load() != 0 && a.fenced(k) {
		// Its invalidation failed: the store may hold a stale entry.
		write = false
	} else {
		e, ok, err := a.read(ctx, k)
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
			write = false
		} else {
			a.storeUp(ctx)
			if ok {
				return a.hit(ctx, k, e, load)
			}
		}
	}
	a.req.misses.Add(1)
	return a.miss(ctx, k, load, write)
}

// miss runs or joins the fill of k. It is apart from Get so that the
// variables its closure captures are not allocated on Get's hit path.
//
// A caller returns only a value that was the store's current answer at
// some moment of its own call: an entry the fill found in the store, or
// the value its fill stored (an entry is current: invalidations remove
// stale ones, and a fill stores only under a lease no invalidation has
// ended). A loaded value the store refused is not: the load may have read
// a row whose update has committed but not yet invalidated the key, while
// another process fills or serves the older row; returning it would let a
// later read go back in time. So a refused fill is tried again, by the
// caller that ran it and by those that joined it.
//
// A caller that joined a fill begun before it asked takes no answer from
// it as it is: that fill may have read the database before an update that
// finished before this caller began, in this process or another one, and
// may even have stored its value before that update's invalidation removed
// it. Such a joiner returns only what the store holds once the fill is done,
// and fills again when the store holds nothing. The next fill it joins
// began after the one before ended, so after it asked.
//
// Every try after the first follows an invalidation of k during this call
// (or a lapsed lease); after maxFills tries the caller serves a load of its
// own without storing it, a read around the leases like those of a failing
// store.
//
// While the store fails or the key is fenced (write is false) nothing can
// be checked, and a joiner takes the fill's result as it is: it is at most
// one load older than the caller.
func (a *Aside[K, V]) miss(ctx context.Context, k string, load func(ctx context.Context) (V, error), write bool) (V, error) {
	var zero V
	asked := time.Now()
	for attempt := 0; ; attempt++ {
		ran := false
		f, _, err := a.group.Do(ctx, k, func(ctx context.Context) (filled[V], error) {
			ran = true
			began := time.Now()
			f, err := a.fill(ctx, k, load, write)
			f.began = began
			return f, err
		})
		early := !ran && f.began.Before(asked)
		if write && (err == nil || a.isNotFound(err)) && (f.refused || early) {
			switch {
			case attempt >= maxFills:
				f, err = a.load(ctx, k, load, false, 0)
			case f.lost:
				continue // not stored: fill again
			default:
				e, ok, gerr := a.read(ctx, k)
				switch {
				case gerr != nil:
					// The store failed this read, shared by
					// every caller in its wave: share one
					// load without the store too.
					write = false
					continue
				case ok && e.NotFound:
					return zero, a.placeholderErr(k)
				case ok:
					return e.Value, nil // counted as a miss already
				default:
					continue // invalidated since it was stored: fill again
				}
			}
		}
		if err != nil {
			return zero, err
		}
		return f.e.Value, nil
	}
}

// maxFills bounds how often a caller fills (or joins fills) whose results
// it cannot use before it loads for itself, without storing.
const maxFills = 8

// hit serves an entry found in the store.
func (a *Aside[K, V]) hit(ctx context.Context, k string, e Entry[V], load func(context.Context) (V, error)) (V, error) {
	if e.NotFound {
		a.req.negHits.Add(1)
		var zero V
		return zero, a.placeholderErr(k)
	}
	a.req.hits.Add(1)
	if e.RefreshAt != 0 && a.refresh > 0 && a.now().UnixNano() >= e.RefreshAt {
		a.m.stale.Inc(ctx)
		a.revalidate(ctx, k, e, load)
	}
	return e.Value, nil
}

func (a *Aside[K, V]) jittered(ttl time.Duration) time.Duration {
	if a.jitter == 0 {
		return ttl
	}
	d := float64(ttl) * (1 + a.jitter*(2*a.rand()-1))
	if d >= math.MaxInt64 {
		return math.MaxInt64 // a TTL near the top of the range stays there
	}
	return time.Duration(d)
}

// isNotFound reports whether a loader's error says the value does not exist.
func (a *Aside[K, V]) isNotFound(err error) bool {
	for _, nf := range a.notFound {
		if errors.Is(err, nf) {
			return true
		}
	}
	return errors.Is(err, ErrNotFound)
}

// placeholderErr is the error for a cached "not found".
func (a *Aside[K, V]) placeholderErr(k string) error {
	if len(a.notFound) == 0 {
		return &NotFoundError{Key: k, Err: ErrNotFound}
	}
	return &NotFoundError{Key: k, Err: a.notFound[0], also: a.notFound}
}

// storeFailed counts a store error and reports the first of an outage. It
// returns the error to give the caller, nil when the loader serves instead.
func (a *Aside[K, V]) storeFailed(ctx context.Context, op string, err error) error {
	a.storeErrs.Add(1)
	a.m.storeError(ctx, op, a.failFast)
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
	a.m.storeError(ctx, "decode", a.failFast)
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
		Hits:           a.req.hits.Load(),
		Misses:         a.req.misses.Load(),
		NegativeHits:   a.req.negHits.Load(),
		Loads:          a.loads.Load(),
		LoadErrors:     a.loadErrs.Load(),
		StoreErrors:    a.storeErrs.Load(),
		Refreshes:      a.refreshes.Load(),
		RefreshSkips:   a.refreshSkips.Load(),
		LeaseWaits:     a.leaseWaits.Load(),
		LostFills:      a.lostFills.Load(),
		DeleteRetries:  a.delRetries.Load(),
		DeleteFailures: a.delFailures.Load(),
	}
}
