// Package redisstore is a ratelimit.Store in Redis, so that every instance of
// a service spends from one shared budget per key.
//
// Each decision is one atomic Lua script (EVALSHA, falling back to EVAL once
// when the server does not know the script yet): one round trip. The script
// reads the clock of the Redis server (TIME), so instances with skewed clocks
// still agree, and it sets each key's expiry to the moment it is back at its
// full burst, so idle keys disappear by themselves.
package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/svckit/svckit/ratelimit"
)

// gcraScript takes one GCRA decision in microseconds of server time.
// KEYS[1]: the key. ARGV: period (µs), rate, burst.
// Returns {allowed (0|1), remaining, retry after (µs), reset after (µs)}.
// Redis before 5 needs effect replication to write after TIME; later
// versions replicate effects anyway.
const gcraScript = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = math.floor(tonumber(ARGV[1]) / tonumber(ARGV[2]))
if interval < 1 then interval = 1 end
local tolerance = interval * tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - tolerance
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((now - allow_at) / interval), 0, new_tat - now}
`

// Options configure a Store. The zero value is ready to use.
type Options struct {
	// Prefix is put before every key. Zero means "ratelimit:". Give each
	// limiter sharing a Redis database its own prefix.
	Prefix string
	// Fallback takes the decisions while Redis cannot be reached, typically
	// a ratelimit.Memory, so each instance keeps limiting on its own.
	// Nil means fail closed: Allow returns an error wrapping
	// ratelimit.ErrUnavailable and the event is denied.
	Fallback ratelimit.Store
	// Logger receives one warning when Redis becomes unreachable and one
	// notice when it answers again, never one line per request. Nil means
	// no logging.
	Logger *slog.Logger
}

// Store is a ratelimit.Store in Redis. It is safe for concurrent use. It does
// not own the client: close the client, not the Store.
type Store struct {
	client   redis.Scripter
	script   *redis.Script
	prefix   string
	fallback ratelimit.Store
	logger   *slog.Logger

	errors atomic.Uint64
	down   atomic.Bool
}

var _ ratelimit.Store = (*Store)(nil)

// New returns a Store that runs its script on client (a *redis.Client,
// *redis.ClusterClient or any redis.UniversalClient).
func New(client redis.Scripter, opts Options) *Store {
	if client == nil {
		panic("redisstore: nil client")
	}
	s := &Store{
		client:   client,
		script:   redis.NewScript(gcraScript),
		prefix:   opts.Prefix,
		fallback: opts.Fallback,
		logger:   opts.Logger,
	}
	if s.prefix == "" {
		s.prefix = "ratelimit:"
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	return s
}

// Allow implements ratelimit.Store with one script call. When Redis fails
// it counts the error and asks the Fallback store, or, without one, returns
// an error wrapping ratelimit.ErrUnavailable. A cancelled ctx is returned as
// is and does not count as Redis being down.
func (s *Store) Allow(ctx context.Context, key string, limit ratelimit.Limit) (ratelimit.Result, error) {
	vals, err := s.script.Run(ctx, s.client, []string{s.prefix + key},
		limit.Period.Microseconds(), limit.Rate, limit.BurstSize()).Int64Slice()
	if err == nil && len(vals) != 4 {
		err = fmt.Errorf("redisstore: script returned %d values", len(vals))
	}
	if err != nil {
		if ctx.Err() != nil {
			return ratelimit.Result{}, ctx.Err()
		}
		return s.failed(ctx, key, limit, err)
	}
	if s.down.CompareAndSwap(true, false) {
		s.logger.LogAttrs(ctx, slog.LevelInfo, "redisstore: redis answers again, shared rate limits restored")
	}
	return ratelimit.Result{
		Allowed:    vals[0] == 1,
		Remaining:  int(vals[1]),
		RetryAfter: time.Duration(vals[2]) * time.Microsecond,
		ResetAfter: time.Duration(vals[3]) * time.Microsecond,
	}, nil
}

func (s *Store) failed(ctx context.Context, key string, limit ratelimit.Limit, err error) (ratelimit.Result, error) {
	s.errors.Add(1)
	if s.down.CompareAndSwap(false, true) {
		mode := "denying"
		if s.fallback != nil {
			mode = "limiting per instance"
		}
		s.logger.LogAttrs(ctx, slog.LevelWarn, "redisstore: redis unreachable, "+mode,
			slog.String("error", err.Error()))
	}
	if s.fallback != nil {
		return s.fallback.Allow(ctx, key, limit)
	}
	return ratelimit.Result{}, fmt.Errorf("%w: %w", ratelimit.ErrUnavailable, err)
}

// Errors returns how many decisions could not reach Redis since the Store
// was created.
func (s *Store) Errors() uint64 { return s.errors.Load() }
