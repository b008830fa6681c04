package cache

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is the error a loader returns (possibly wrapped) when the value
// does not exist. Aside caches that answer for Options.NegativeTTL; the
// errors in Options.NotFound are treated the same way.
var ErrNotFound = errors.New("cache: not found")

// ErrUndecodable is wrapped by a Store's Get error when the key holds bytes
// the store cannot decode: written by an older version, another program or
// another codec. Aside counts it as a store error and treats the key as
// missing, so the loaded value overwrites the bad one.
var ErrUndecodable = errors.New("cache: stored value cannot be decoded")

// Store keeps an Aside's entries by string key, each with its own time to
// live. Memory, in this package, and the stores of the redisstore
// sub-package implement it; users pick one and never handle the way it
// encodes entries.
//
// Get reports a missing or expired key with ok false and a nil error; a non-nil
// error means the store itself failed, or, wrapping ErrUndecodable, that the
// key holds bytes it cannot decode. A ttl of zero or less means the entry
// does not expire. Implementations are safe for concurrent use.
type Store[V any] interface {
	Get(ctx context.Context, key string) (e Entry[V], ok bool, err error)
	Set(ctx context.Context, key string, e Entry[V], ttl time.Duration) error
	Delete(ctx context.Context, keys ...string) error
}

// AbsentSetter is the optional capability of a Store to set a key only when
// it holds nothing. Aside writes its not-found placeholders with it, so a
// placeholder never overwrites a real value; with a Store that has neither
// it nor Leaser, Aside does not cache "not found" at all.
type AbsentSetter[V any] interface {
	// SetIfAbsent stores e under key unless the key holds an unexpired
	// entry, and reports whether it stored e.
	SetIfAbsent(ctx context.Context, key string, e Entry[V], ttl time.Duration) (set bool, err error)
}

// Leaser is the optional capability of a Store that several processes
// share (redisstore has it) to hand out fill leases, as memcache does: the
// caller that misses a key gets a lease, a token only valid until the key is
// deleted or the lease times out; its fill is stored only while the lease
// holds, checked in the same atomic step that stores it. See the package
// documentation for the protocol Aside runs on top of it.
type Leaser[V any] interface {
	// Lease is Get for a caller that has missed key. It returns the key's
	// entry if it holds one (found). Otherwise, unless another caller's
	// lease on the key is in force, it grants the caller a lease for ttl
	// and returns its token, never zero. With found false and a zero token
	// another caller holds the lease: ask again after a short wait.
	Lease(ctx context.Context, key string, ttl time.Duration) (e Entry[V], found bool, token uint64, err error)
	// Fill stores e under key for ttl if the key still holds the lease
	// token, or still holds the entry whose Version is token (a refresh),
	// and reports whether it did. The stored entry gets a new Version.
	Fill(ctx context.Context, key string, token uint64, e Entry[V], ttl time.Duration) (stored bool, err error)
	// Release gives up the lease token on key, if the key still holds
	// it, so that waiting callers need not wait for it to time out.
	Release(ctx context.Context, key string, token uint64) error
	// LeaseRefresh takes the refresh lease of e, an entry read under key
	// and found stale: if the key still holds e, the same Version with
	// the same RefreshAt, it sets the entry's RefreshAt to until (Unix
	// nanoseconds), so that every caller takes it for fresh until then,
	// and reports true. Otherwise another caller holds the lease, or the
	// entry was refreshed, replaced or deleted meanwhile: it changes
	// nothing and reports false.
	LeaseRefresh(ctx context.Context, key string, e Entry[V], until int64) (leased bool, err error)
}

// Entry is what an Aside keeps in its Store for one key: a value, or a
// placeholder saying the value does not exist. How a store encodes it is
// the store's own business (redisstore's format is private, versioned and
// stable); a process reads entries written by another whatever order it
// lists Options.NotFound in.
type Entry[V any] struct {
	// Value is the cached value; the zero V in a placeholder.
	Value V
	// NotFound marks a placeholder: the loader reported that the value
	// does not exist.
	NotFound bool
	// RefreshAt is when the value goes stale, in Unix nanoseconds, with
	// Options.RefreshAfter set; zero otherwise.
	RefreshAt int64
	// Version identifies this write of the entry in a Leaser store, which
	// sets it on Get and Lease (a refresh replaces the entry only while it
	// is still this version); zero in other stores. Stores ignore it on
	// writes.
	Version uint64
}

// NotFoundError is returned by Aside.Get when the value does not exist: from
// the load that found out, and from the "not found" placeholder cached after
// it. errors.Is matches it against ErrNotFound and against the loader's
// error (one of Options.NotFound, say a repository's not-found error), so
// callers test it the way they test their loader's error.
type NotFoundError struct {
	Key string // the store key
	// Err is the loader's error on the load. On a cached placeholder it is
	// the first of Options.NotFound (ErrNotFound when there is none), and
	// errors.Is matches every error of Options.NotFound: a placeholder
	// records that the value does not exist, not which error said so.
	Err error

	also []error // Options.NotFound, on a cached placeholder
}

// Error names the key and the original error.
func (e *NotFoundError) Error() string {
	return "cache: " + e.Key + ": " + e.Err.Error()
}

// Unwrap returns the loader's not-found error.
func (e *NotFoundError) Unwrap() error { return e.Err }

// Is reports whether target is ErrNotFound or, on a cached placeholder, one
// of Options.NotFound.
func (e *NotFoundError) Is(target error) bool {
	if target == ErrNotFound {
		return true
	}
	for _, nf := range e.also {
		if errors.Is(nf, target) {
			return true
		}
	}
	return false
}

// Stats are an Aside's counters since it was made.
type Stats struct {
	Hits         uint64 // values served from the store
	Misses       uint64 // reads that found nothing in the store (or could not read it)
	NegativeHits uint64 // "not found" placeholders served from the store
	Loads        uint64 // calls of a loader
	LoadErrors   uint64 // loader calls that failed with an error other than "not found"
	StoreErrors  uint64 // failed store operations
	Refreshes    uint64 // background refreshes of stale values started
	// RefreshSkips counts the refreshes of stale values this process
	// did not start because another held the key's refresh lease, or had
	// already refreshed or invalidated the key (Leaser stores).
	RefreshSkips uint64
	// LeaseWaits counts the waits of a caller that missed a key while
	// another process held its fill lease (Leaser stores).
	LeaseWaits uint64
	// LostFills counts loads whose result was not stored because the key
	// was invalidated (or its lease timed out) while they ran.
	LostFills uint64
	// DeleteRetries counts invalidations tried again after a store error.
	DeleteRetries uint64
	// DeleteFailures counts invalidations that failed after every retry;
	// their keys are then fenced (see Aside.Delete).
	DeleteFailures uint64
}
