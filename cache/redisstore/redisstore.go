// Package redisstore keeps the entries of cache.Aside in Redis, for caches
// shared by many processes:
//
//	users := cache.NewAside[int64, User](
//		redisstore.New[User](client, redisstore.Options{Prefix: "app:"}),
//		cache.Options[int64]{Prefix: "user:"})
//
// Store is Redis alone; TwoLevel puts process memory in front of it, with
// invalidation over pub/sub. Values are encoded with a pluggable Codec,
// JSON by default, inside an entry format of this package's own (versioned,
// stable, private: see the cache package documentation for what it
// carries), and every key carries a prefix.
//
// Store is a cache.Leaser: Aside uses its fill leases to keep processes
// coherent (a load that began before an invalidation is never stored after
// it) and to load a missing key once across processes. Every operation
// touches one key, so it runs on Redis Cluster unchanged, and keys spread
// over every shard (give the prefix no hash tag).
//
// A cache key is stored as the prefix and the key's digest:
//
//	<Prefix><43 bytes: unpadded base64url SHA-256 of the cache key>
//	app:6j_UO-HlfWLhY9rhn8dAvW1mDuxJcjX9DvhZ4r2foyg   (the cache key "user:42")
//
// So a key of any length costs Redis one bounded key, nothing a client put
// in a key (an email, a search) is written in clear (TwoLevel's
// invalidations on pub/sub carry the same digests), and a hash tag in a
// key does not gather keys on one slot: no operation touches two keys, so
// none needs them together, and keys spread over every shard of a cluster
// (give the prefix no hash tag). Entries written under the earlier layout,
// the key as it was, are not read any more: deploy with a new Prefix, or
// stop every instance of the old version first, so that no old instance
// serves an entry the new ones cannot invalidate. TwoLevel's invalidations,
// which named keys in clear until digests replaced them, need no such care
// (see TwoLevel): an older process drops all its local copies on a newer
// message, and a newer one applies an older message's keys.
//
// Every call to Redis has its own deadline, also when the caller's context
// has none: Options.Timeout for reads (DefaultTimeout, 50 ms) and
// Options.WriteTimeout for writes, leases, fills, deletes and
// invalidations (DefaultWriteTimeout, 250 ms). The deadline needs a client
// with ContextTimeoutEnabled (the store logs a warning when it sees one
// without). Each Store sits behind a circuit breaker: after five failed
// calls in a row, or within a second (at least half of those made), it
// fails calls at once for 500 ms, lets one probe through, and closes when the probe
// succeeds; a missing key, a cancelled context or a reply that blames the
// command never count. A failing, hung or refused call, a CLUSTERDOWN or
// a redirection left over, is an error from the Store, so an Aside loads
// from the database instead; the outage is logged once when the breaker
// opens and once when it closes, with the number of calls that fell back.
// On Redis Cluster the breaker is one per master: with one master down
// (and no replica promoted yet), the calls to its slots open its breaker
// and fall back to the database, while the keys on the other masters are
// served from Redis as before (the servers must keep serving a partial
// slot map, cluster-require-full-coverage no; by default every master
// answers CLUSTERDOWN once one is marked failed). A call of several keys
// (a Delete of many, a publish on a plain channel) is under the Store's own
// breaker.
package redisstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/internal/keyhash"
	"github.com/svckit/svckit/internal/opt"
	"github.com/svckit/svckit/internal/redisguard"
)

// Codec turns values into bytes and back.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is the default Codec, encoding/json.
type JSON struct{}

// Marshal encodes v as JSON.
func (JSON) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal decodes JSON data into v.
func (JSON) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// Options configure a Store. The zero value uses no prefix and JSON.
type Options struct {
	// Prefix is put before every key, for example "myapp:cache:".
	Prefix string
	// Codec encodes values. Nil means JSON.
	Codec Codec
	// Timeout bounds each read. Zero means DefaultTimeout.
	Timeout time.Duration
	// WriteTimeout bounds each write, lease, fill, delete and
	// invalidation. Zero means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// Logger receives one warning when Redis becomes unavailable and one
	// notice when it answers again. Nil discards them.
	Logger *slog.Logger
}

// Default deadlines of one call to Redis: a cache read is worth tens of
// milliseconds, not seconds (the database answers instead); an
// invalidation is worth waiting a little longer for.
const (
	DefaultTimeout      = 50 * time.Millisecond
	DefaultWriteTimeout = 250 * time.Millisecond
)

// Store is a cache.Store, cache.AbsentSetter and cache.Leaser on Redis for
// the entries of an Aside[K, V]. Get is one GET; Set one SET PX;
// SetIfAbsent one SET NX PX; Lease, Fill, LeaseRefresh and Release one
// script each; Delete one DEL (a pipeline of DELs for several keys, so that
// it works on Redis Cluster).
//
// Use New; the zero value is not usable. A Store is safe for concurrent use;
// it does not own the client, which the caller closes.
type Store[V any] struct {
	rdb    redis.UniversalClient
	prefix string
	codec  Codec
	guard  *redisguard.Guard
	write  time.Duration
}

var (
	_ cache.Store[int]        = (*Store[int])(nil)
	_ cache.AbsentSetter[int] = (*Store[int])(nil)
	_ cache.Leaser[int]       = (*Store[int])(nil)
)

// New returns a Store on rdb.
func New[V any](rdb redis.UniversalClient, opts Options) *Store[V] {
	if rdb == nil {
		panic("redisstore: New with a nil client")
	}
	s := &Store[V]{rdb: rdb, prefix: opts.Prefix, codec: opts.Codec, write: opt.PositiveOr(opts.WriteTimeout, DefaultWriteTimeout)}
	if s.codec == nil {
		s.codec = JSON{}
	}
	s.guard = redisguard.New(rdb, redisguard.Options{Name: "cache/redisstore", Timeout: opt.PositiveOr(opts.Timeout, DefaultTimeout),
		Fallback: "failing cache calls (loads go to the database)", Logger: opts.Logger})
	return s
}

// redisKey returns the Redis key of a cache key: the prefix and the
// key's digest (see the package documentation).
func (s *Store[V]) redisKey(key string) string { return s.prefix + keyhash.Sum(key) }

// begin starts a guarded call on the Redis key rkey ("" for a call of
// several keys) with the given deadline.
func (s *Store[V]) begin(ctx context.Context, rkey string, timeout time.Duration) (context.Context, redisguard.Call, error) {
	var (
		cctx context.Context
		call redisguard.Call
		err  error
	)
	if rkey == "" {
		cctx, call, err = s.guard.BeginTimeout(ctx, timeout)
	} else {
		cctx, call, err = s.guard.BeginKey(ctx, rkey, timeout)
	}
	if err != nil {
		s.guard.Fallback()
	}
	return cctx, call, err
}

// end reports a guarded call's outcome.
func (s *Store[V]) end(ctx context.Context, call redisguard.Call, err error) {
	if s.guard.End(ctx, call, err) {
		s.guard.Fallback()
	}
}

// Get returns the entry under key. A missing key, or one that holds a fill
// lease, is ok false with a nil error; bytes that do not decode are an
// error wrapping cache.ErrUndecodable.
func (s *Store[V]) Get(ctx context.Context, key string) (e cache.Entry[V], ok bool, err error) {
	rkey := s.redisKey(key)
	cctx, call, err := s.begin(ctx, rkey, s.guard.Timeout())
	if err != nil {
		return e, false, fmt.Errorf("redisstore: get: %w", err)
	}
	b, err := s.rdb.Get(cctx, rkey).Bytes()
	s.end(ctx, call, err)
	if errors.Is(err, redis.Nil) {
		return e, false, nil
	}
	if err != nil {
		return e, false, fmt.Errorf("redisstore: get: %w", err)
	}
	e, lease, err := decodeEntry[V](b, s.codec)
	if err != nil {
		return cache.Entry[V]{}, false, fmt.Errorf("redisstore: decode %q: %w: %w", key, cache.ErrUndecodable, err)
	}
	if lease != 0 {
		return cache.Entry[V]{}, false, nil
	}
	return e, true, nil
}

// encode returns e's bytes with a new version, and the version.
func (s *Store[V]) encode(key string, e cache.Entry[V]) ([]byte, uint64, error) {
	version := newToken()
	b, err := appendEntry(nil, e, version, s.codec)
	if err != nil {
		return nil, 0, fmt.Errorf("redisstore: encode %q: %w", key, err)
	}
	return b, version, nil
}

// newToken returns a random lease token or version, never zero.
func newToken() uint64 {
	for {
		if t := rand.Uint64(); t != 0 {
			return t
		}
	}
}

// Set stores e under key for ttl (zero or less: no expiry), with a new
// version.
func (s *Store[V]) Set(ctx context.Context, key string, e cache.Entry[V], ttl time.Duration) error {
	_, err := s.set(ctx, key, e, ttl)
	return err
}

// set is Set returning the stored entry's version.
func (s *Store[V]) set(ctx context.Context, key string, e cache.Entry[V], ttl time.Duration) (uint64, error) {
	b, version, err := s.encode(key, e)
	if err != nil {
		return 0, err
	}
	rkey := s.redisKey(key)
	cctx, call, err := s.begin(ctx, rkey, s.write)
	if err == nil {
		err = s.rdb.Set(cctx, rkey, b, expiry(ttl)).Err()
		s.end(ctx, call, err)
	}
	if err != nil {
		return 0, fmt.Errorf("redisstore: set: %w", err)
	}
	return version, nil
}

// SetIfAbsent stores e under key for ttl unless the key exists (SET NX), and
// reports whether it did.
func (s *Store[V]) SetIfAbsent(ctx context.Context, key string, e cache.Entry[V], ttl time.Duration) (bool, error) {
	version, err := s.setIfAbsent(ctx, key, e, ttl)
	return version != 0, err
}

// setIfAbsent is SetIfAbsent returning the stored entry's version, zero
// when it stored nothing.
func (s *Store[V]) setIfAbsent(ctx context.Context, key string, e cache.Entry[V], ttl time.Duration) (uint64, error) {
	b, version, err := s.encode(key, e)
	if err != nil {
		return 0, err
	}
	rkey := s.redisKey(key)
	cctx, call, err := s.begin(ctx, rkey, s.write)
	if err != nil {
		return 0, fmt.Errorf("redisstore: set nx: %w", err)
	}
	set, err := s.rdb.SetNX(cctx, rkey, b, expiry(ttl)).Result()
	s.end(ctx, call, err)
	if err != nil {
		return 0, fmt.Errorf("redisstore: set nx: %w", err)
	}
	if !set {
		return 0, nil
	}
	return version, nil
}

// Lease returns key's entry, or grants the caller a fill lease for ttl if
// no other lease is in force (see cache.Leaser). An entry that does not
// decode is replaced by the caller's lease.
func (s *Store[V]) Lease(ctx context.Context, key string, ttl time.Duration) (e cache.Entry[V], found bool, token uint64, err error) {
	token = newToken()
	marker := appendLease(nil, token)
	ms := max(ttl.Milliseconds(), 1)
	replace := ""
	rkey := s.redisKey(key)
	for range 2 {
		cctx, call, err := s.begin(ctx, rkey, s.write)
		if err != nil {
			return e, false, 0, fmt.Errorf("redisstore: lease: %w", err)
		}
		b, err := leaseScript.Run(cctx, s.rdb, []string{rkey}, marker, ms, replace).Text()
		s.end(ctx, call, err)
		if errors.Is(err, redis.Nil) {
			return e, false, token, nil
		}
		if err != nil {
			return e, false, 0, fmt.Errorf("redisstore: lease: %w", err)
		}
		e, lease, err := decodeEntry[V]([]byte(b), s.codec)
		switch {
		case err == nil && lease != 0:
			return cache.Entry[V]{}, false, 0, nil
		case err == nil:
			return e, true, 0, nil
		case len(b) < minEntry || b[0] != entryMagic:
			// Not what the script returns; wait rather than trust it.
			return cache.Entry[V]{}, false, 0, nil
		}
		// An entry with a sound header whose rest does not decode:
		// replace exactly it, by its version.
		replace = b[2:10]
	}
	return e, false, 0, fmt.Errorf("redisstore: lease %q: %w: entry replaced concurrently", key, cache.ErrUndecodable)
}

// Fill stores e under key if the key still holds the lease token or the
// entry of version token, and reports whether it did (see cache.Leaser).
func (s *Store[V]) Fill(ctx context.Context, key string, token uint64, e cache.Entry[V], ttl time.Duration) (bool, error) {
	stored, _, _, err := s.fill(ctx, key, token, e, ttl)
	return stored, err
}

// fill is Fill that also returns the stored entry's version and whether it
// replaced an entry (a refresh) rather than a lease.
func (s *Store[V]) fill(ctx context.Context, key string, token uint64, e cache.Entry[V], ttl time.Duration) (stored bool, version uint64, replaced bool, err error) {
	b, version, err := s.encode(key, e)
	if err != nil {
		return false, 0, false, err
	}
	var ms int64
	if ttl > 0 {
		ms = max(ttl.Milliseconds(), 1)
	}
	rkey := s.redisKey(key)
	cctx, call, err := s.begin(ctx, rkey, s.write)
	if err != nil {
		return false, 0, false, fmt.Errorf("redisstore: fill: %w", err)
	}
	r, err := fillScript.Run(cctx, s.rdb, []string{rkey}, tokenBytes(token), b, ms).Int()
	s.end(ctx, call, err)
	if err != nil {
		return false, 0, false, fmt.Errorf("redisstore: fill: %w", err)
	}
	return r != 0, version, r == 2, nil
}

// LeaseRefresh takes the refresh lease of e, read under key (see
// cache.Leaser): one script that moves the entry's refresh time to until
// if the key still holds e's version with e's refresh time, and reports
// whether it did. The lease lives in the entry, so a Delete ends it with
// the entry.
func (s *Store[V]) LeaseRefresh(ctx context.Context, key string, e cache.Entry[V], until int64) (bool, error) {
	if e.Version == 0 {
		return false, nil // not read from this store
	}
	kind := byte(kindValue)
	if e.NotFound {
		kind = kindNotFound
	}
	head := appendHeader(make([]byte, 0, minEntry+binary.MaxVarintLen64), kind, e.Version, e.RefreshAt)
	rkey := s.redisKey(key)
	cctx, call, err := s.begin(ctx, rkey, s.write)
	if err != nil {
		return false, fmt.Errorf("redisstore: refresh lease: %w", err)
	}
	r, err := refreshScript.Run(cctx, s.rdb, []string{rkey}, head, binary.AppendVarint(nil, until)).Int()
	s.end(ctx, call, err)
	if err != nil {
		return false, fmt.Errorf("redisstore: refresh lease: %w", err)
	}
	return r == 1, nil
}

// Release deletes key if it holds the lease token.
func (s *Store[V]) Release(ctx context.Context, key string, token uint64) error {
	rkey := s.redisKey(key)
	cctx, call, err := s.begin(ctx, rkey, s.write)
	if err == nil {
		err = releaseScript.Run(cctx, s.rdb, []string{rkey}, appendLease(nil, token)).Err()
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		s.end(ctx, call, err)
	}
	if err != nil {
		return fmt.Errorf("redisstore: release: %w", err)
	}
	return nil
}

// Delete removes the keys.
func (s *Store[V]) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	rkey := "" // several keys: the store's breaker
	if len(keys) == 1 {
		rkey = s.redisKey(keys[0])
	}
	cctx, call, err := s.begin(ctx, rkey, s.write)
	if err != nil {
		return fmt.Errorf("redisstore: delete: %w", err)
	}
	if len(keys) == 1 {
		err = s.rdb.Del(cctx, rkey).Err()
	} else {
		_, err = s.rdb.Pipelined(cctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.Del(cctx, s.redisKey(k))
			}
			return nil
		})
	}
	s.end(ctx, call, err)
	if err != nil {
		return fmt.Errorf("redisstore: delete: %w", err)
	}
	return nil
}

// expiry maps "no expiry" onto go-redis's zero and rounds TTLs below
// Redis's millisecond resolution up to it.
func expiry(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return 0
	}
	return max(ttl, time.Millisecond)
}
