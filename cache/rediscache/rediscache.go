// Package rediscache is a cache.Store on Redis, for caches shared by many
// processes. Values are encoded with a pluggable Codec, JSON by default, and
// every key carries a prefix. A cache.Entry, what an Aside stores, is kept
// as its frame (see cache.Framer): a header of three or more bytes, then the
// value as the codec encodes it.
//
// An Aside[K, V] on Redis uses a Store[cache.Entry[V]]:
//
//	users := cache.NewAside[int64, User](
//		rediscache.New[cache.Entry[User]](client, &rediscache.Options{Prefix: "app:"}),
//		&cache.Options[int64]{Prefix: "user:"})
//
// Every call to Redis has its own deadline, also when the caller's context
// has none: Options.Timeout for reads (DefaultTimeout, 50 ms) and
// Options.WriteTimeout for writes, deletes and invalidations
// (DefaultWriteTimeout, 250 ms). The deadline needs a client with
// ContextTimeoutEnabled (the store logs a warning when it sees one
// without). Each Store sits behind a circuit breaker: after five failed
// calls within a second (at least half of those made) it fails calls at
// once for 500 ms, lets one probe through, and closes when the probe
// succeeds; a missing key, a cancelled context or a reply that blames the
// command never count. A failing, hung or refused call, a CLUSTERDOWN or
// a redirection left over, is an error from the Store, so an Aside loads
// from the database instead; the outage is logged once when the breaker
// opens and once when it closes, with the number of calls that fell back.
//
// The store works on Redis Cluster unchanged: each cache key is one Redis
// key, so keys spread over every shard (give the prefix no hash tag).
package rediscache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/internal/redisguard"
)

// Codec turns values into bytes and back. It has the methods of
// cache.Codec.
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
	// WriteTimeout bounds each write, delete and invalidation. Zero means
	// DefaultWriteTimeout.
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

// Store is a cache.Store on Redis. Get is one GET, Set one SET PX,
// SetIfAbsent one SET NX PX, Delete one DEL (a pipeline of DELs for several
// keys, so that it works on Redis Cluster).
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
)

// New returns a Store on rdb. A nil opts is the zero Options.
func New[V any](rdb redis.UniversalClient, opts *Options) *Store[V] {
	if rdb == nil {
		panic("rediscache: New with a nil client")
	}
	if opts == nil {
		opts = &Options{}
	}
	s := &Store[V]{rdb: rdb, prefix: opts.Prefix, codec: opts.Codec, write: opts.WriteTimeout}
	if s.codec == nil {
		s.codec = JSON{}
	}
	read := opts.Timeout
	if read <= 0 {
		read = DefaultTimeout
	}
	if s.write <= 0 {
		s.write = DefaultWriteTimeout
	}
	s.guard = redisguard.New(rdb, redisguard.Options{Name: "rediscache", Timeout: read,
		Fallback: "failing cache calls (loads go to the database)", Logger: opts.Logger})
	return s
}

// begin starts a guarded call with the given deadline.
func (s *Store[V]) begin(ctx context.Context, timeout time.Duration) (context.Context, redisguard.Call, error) {
	cctx, call, err := s.guard.BeginTimeout(ctx, timeout)
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

// Get returns the value under key. A missing key is ok false with a nil
// error; a value that does not decode is an error.
func (s *Store[V]) Get(ctx context.Context, key string) (v V, ok bool, err error) {
	cctx, call, err := s.begin(ctx, s.guard.Timeout())
	if err != nil {
		return v, false, fmt.Errorf("rediscache: get: %w", err)
	}
	b, err := s.rdb.Get(cctx, s.prefix+key).Bytes()
	s.end(ctx, call, err)
	if errors.Is(err, redis.Nil) {
		return v, false, nil
	}
	if err != nil {
		return v, false, fmt.Errorf("rediscache: get: %w", err)
	}
	if f, ok := any(&v).(cache.Framer); ok {
		err = f.UnmarshalFrame(b, s.codec)
	} else {
		err = s.codec.Unmarshal(b, &v)
	}
	if err != nil {
		return v, false, fmt.Errorf("rediscache: decode %q: %w: %w", key, cache.ErrUndecodable, err)
	}
	return v, true, nil
}

// encode returns v's bytes: its frame when it is a cache.Entry, else the
// codec's encoding.
func (s *Store[V]) encode(key string, v V) ([]byte, error) {
	var b []byte
	var err error
	if f, ok := any(&v).(cache.Framer); ok {
		b, err = f.AppendFrame(nil, s.codec)
	} else {
		b, err = s.codec.Marshal(v)
	}
	if err != nil {
		return nil, fmt.Errorf("rediscache: encode %q: %w", key, err)
	}
	return b, nil
}

// Set stores v under key for ttl (zero or less: no expiry).
func (s *Store[V]) Set(ctx context.Context, key string, v V, ttl time.Duration) error {
	b, err := s.encode(key, v)
	if err != nil {
		return err
	}
	cctx, call, err := s.begin(ctx, s.write)
	if err == nil {
		err = s.rdb.Set(cctx, s.prefix+key, b, expiry(ttl)).Err()
		s.end(ctx, call, err)
	}
	if err != nil {
		return fmt.Errorf("rediscache: set: %w", err)
	}
	return nil
}

// SetIfAbsent stores v under key for ttl unless the key exists (SET NX), and
// reports whether it did.
func (s *Store[V]) SetIfAbsent(ctx context.Context, key string, v V, ttl time.Duration) (bool, error) {
	b, err := s.encode(key, v)
	if err != nil {
		return false, err
	}
	cctx, call, err := s.begin(ctx, s.write)
	if err != nil {
		return false, fmt.Errorf("rediscache: set nx: %w", err)
	}
	set, err := s.rdb.SetNX(cctx, s.prefix+key, b, expiry(ttl)).Result()
	s.end(ctx, call, err)
	if err != nil {
		return false, fmt.Errorf("rediscache: set nx: %w", err)
	}
	return set, nil
}

// Delete removes the keys.
func (s *Store[V]) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	cctx, call, err := s.begin(ctx, s.write)
	if err != nil {
		return fmt.Errorf("rediscache: delete: %w", err)
	}
	if len(keys) == 1 {
		err = s.rdb.Del(cctx, s.prefix+keys[0]).Err()
	} else {
		_, err = s.rdb.Pipelined(cctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.Del(cctx, s.prefix+k)
			}
			return nil
		})
	}
	s.end(ctx, call, err)
	if err != nil {
		return fmt.Errorf("rediscache: delete: %w", err)
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
