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
package rediscache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/svckit/svckit/cache"
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
}

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
	s := &Store[V]{rdb: rdb, prefix: opts.Prefix, codec: opts.Codec}
	if s.codec == nil {
		s.codec = JSON{}
	}
	return s
}

// Get returns the value under key. A missing key is ok false with a nil
// error; a value that does not decode is an error.
func (s *Store[V]) Get(ctx context.Context, key string) (v V, ok bool, err error) {
	b, err := s.rdb.Get(ctx, s.prefix+key).Bytes()
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
	if err := s.rdb.Set(ctx, s.prefix+key, b, expiry(ttl)).Err(); err != nil {
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
	set, err := s.rdb.SetNX(ctx, s.prefix+key, b, expiry(ttl)).Result()
	if err != nil {
		return false, fmt.Errorf("rediscache: set nx: %w", err)
	}
	return set, nil
}

// Delete removes the keys.
func (s *Store[V]) Delete(ctx context.Context, keys ...string) error {
	var err error
	switch len(keys) {
	case 0:
		return nil
	case 1:
		err = s.rdb.Del(ctx, s.prefix+keys[0]).Err()
	default:
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.Del(ctx, s.prefix+k)
			}
			return nil
		})
	}
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
