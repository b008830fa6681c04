// Package cache implements cache-aside reads that are safe under load: one
// load per key per process at a time, negative caching of "not found" that
// never overwrites a real value, TTL jitter, invalidation after the database
// commit, and reads that fall through to the loader when the store is down.
//
// Aside is the typed layer services use. It keeps its entries in a Store:
// Memory, in this package, or the stores of the rediscache sub-package
// (importing this package does not compile a Redis client): Redis alone, or
// TwoLevel, process memory in front of Redis with invalidation across
// processes over pub/sub. Options.RefreshAfter adds stale-while-revalidate.
//
// Invalidate with Aside.Delete after the write has committed, or with
// Aside.DeleteAfterCommit inside a transaction of package txn.
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

// Store keeps values by string key, each with its own time to live.
//
// Get reports a missing or expired key with ok false and a nil error; a non-nil
// error means the store itself failed, or, wrapping ErrUndecodable, that the
// key holds bytes it cannot decode. A ttl of zero or less means the entry
// does not expire. Implementations are safe for concurrent use.
type Store[V any] interface {
	Get(ctx context.Context, key string) (v V, ok bool, err error)
	Set(ctx context.Context, key string, v V, ttl time.Duration) error
	Delete(ctx context.Context, keys ...string) error
}

// AbsentSetter is the optional capability of a Store to set a key only when
// it holds nothing (Redis SET NX). Aside writes its not-found placeholders
// with it, so a placeholder never overwrites a real value; with a Store that
// lacks it, Aside does not cache "not found" at all.
type AbsentSetter[V any] interface {
	// SetIfAbsent stores v under key unless the key holds an unexpired
	// entry, and reports whether it stored v.
	SetIfAbsent(ctx context.Context, key string, v V, ttl time.Duration) (set bool, err error)
}

// Entry is what an Aside keeps in its Store for one key: a value, or a
// placeholder saying the value does not exist. Stores for an Aside[K, V] are
// therefore Store[Entry[V]].
//
// Remote stores keep it as a frame (see Framer): a short binary header and
// the value encoded by the store's codec. Its fields are exported, with
// short JSON names, for stores that encode the whole entry instead.
type Entry[V any] struct {
	// Value is the cached value; the zero V in a placeholder.
	Value V `json:"v"`
	// Missing is zero for a value. In a placeholder it says which error
	// the loader returned: 1 for ErrNotFound, 2+i for Options.NotFound[i].
	Missing uint8 `json:"m,omitempty"`
	// RefreshAt is when the value goes stale, in Unix nanoseconds, with
	// Options.RefreshAfter set; zero otherwise.
	RefreshAt int64 `json:"r,omitempty"`
}

// NotFoundError is returned by Aside.Get when the value does not exist: from
// the load that found out, and from the "not found" placeholder cached after
// it. errors.Is matches it against ErrNotFound and against the loader's
// error (one of Options.NotFound, say a repository's not-found error), so
// callers test it the way they test their loader's error.
type NotFoundError struct {
	Key string // the store key
	// Err is the loader's error on the load, and the sentinel it matched
	// (ErrNotFound or one of Options.NotFound) on a cached placeholder.
	Err error
}

// Error names the key and the original error.
func (e *NotFoundError) Error() string {
	return "cache: " + e.Key + ": " + e.Err.Error()
}

// Unwrap returns the loader's not-found error.
func (e *NotFoundError) Unwrap() error { return e.Err }

// Is reports whether target is ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Stats are an Aside's counters since it was made.
type Stats struct {
	Hits         uint64 // values served from the store
	Misses       uint64 // reads that found nothing in the store (or could not read it)
	NegativeHits uint64 // "not found" placeholders served from the store
	Loads        uint64 // calls of a loader
	LoadErrors   uint64 // loader calls that failed with an error other than "not found"
	StoreErrors  uint64 // failed store operations
	Refreshes    uint64 // background refreshes of stale values started
}
