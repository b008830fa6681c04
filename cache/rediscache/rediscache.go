// Package rediscache is the former name of package
// github.com/svckit/svckit/cache/redisstore, kept for one release so that
// callers can move at their own pace. Every name here is an alias of, or
// forwards to, the one of the same name there: there is one
// implementation, in cache/redisstore.
//
// Deprecated: import github.com/svckit/svckit/cache/redisstore instead;
// only the import path changes.
package rediscache

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/svckit/svckit/cache/redisstore"
)

// Codec is redisstore.Codec.
//
// Deprecated: use redisstore.Codec.
type Codec = redisstore.Codec

// JSON is redisstore.JSON.
//
// Deprecated: use redisstore.JSON.
type JSON = redisstore.JSON

// Options is redisstore.Options.
//
// Deprecated: use redisstore.Options.
type Options = redisstore.Options

// Store is redisstore.Store.
//
// Deprecated: use redisstore.Store.
type Store[V any] = redisstore.Store[V]

// TwoLevel is redisstore.TwoLevel.
//
// Deprecated: use redisstore.TwoLevel.
type TwoLevel[V any] = redisstore.TwoLevel[V]

// TwoLevelOptions is redisstore.TwoLevelOptions.
//
// Deprecated: use redisstore.TwoLevelOptions.
type TwoLevelOptions[V any] = redisstore.TwoLevelOptions[V]

// Deprecated: use redisstore.DefaultTimeout, redisstore.DefaultWriteTimeout
// and redisstore.DefaultLocalTTL.
const (
	DefaultTimeout      = redisstore.DefaultTimeout
	DefaultWriteTimeout = redisstore.DefaultWriteTimeout
	DefaultLocalTTL     = redisstore.DefaultLocalTTL
)

// New returns redisstore.New[V](rdb, opts).
//
// Deprecated: use redisstore.New.
func New[V any](rdb redis.UniversalClient, opts Options) *Store[V] {
	return redisstore.New[V](rdb, opts)
}

// NewTwoLevel returns redisstore.NewTwoLevel[V](ctx, rdb, opts).
//
// Deprecated: use redisstore.NewTwoLevel.
func NewTwoLevel[V any](ctx context.Context, rdb redis.UniversalClient, opts TwoLevelOptions[V]) (*TwoLevel[V], error) {
	return redisstore.NewTwoLevel[V](ctx, rdb, opts)
}
