// Package ratelimit decides whether an event keyed by a string (a client IP,
// a user id, an email address on a login form) may happen now, with the
// generic cell rate algorithm (GCRA). Build a Limiter once over a store,
// and ask it per event:
//
//	store := ratelimit.NewMemory(ratelimit.MemoryOptions{}) // or redisstore.New(client, …)
//	defer store.Close()
//	logins := ratelimit.New(ratelimit.PerMinute(5), store)
//
//	res, err := logins.Allow(ctx, "login:"+email)
//	if err == nil && !res.Allowed {
//		err = res.Err() // 429 RATE_LIMITED with Retry-After
//	}
//
// GCRA is a token bucket kept as a single timestamp per key, the theoretical
// arrival time (TAT) of the next event: a Limit of Rate events per Period
// lets one event through every Period/Rate on average and up to Burst at
// once. Because the whole state is one number, a decision is one read and one
// write, which makes the in-memory store cheap and the Redis store
// (sub-package redisstore) one atomic script.
//
// A Limiter pairs a Limit with a Store. The package has no HTTP dependency;
// the middleware package turns a Limiter into a net/http middleware.
//
// Keys come from clients, so the package bounds what they cost: the stores
// keep a key longer than MaxKeyLen as a fixed-size digest (BoundKey), and
// the in-memory store is bounded in keys and drops idle ones (Memory). The
// in-memory store owns one goroutine, its clock, which stops when decisions
// stop and for good on Close. Errors follow the errkind contract: ErrUnavailable reports
// Unavailable, a denied event's Result.Err reports RateLimited with its
// RetryAfter, so envelope renders them as 503 and 429 with Retry-After.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/svckit/svckit/internal/keyhash"
)

// Limit is a rate: Rate events per Period, with bursts of up to Burst events.
// A zero Burst means Burst = Rate, so a fresh key may spend its whole quota
// at once and then regains one event every Period/Rate.
//
// New accepts every Limit. One whose Rate or Period is zero or negative
// allows no event at all; a negative Burst means Rate; a span above MaxSpan
// is cut to MaxSpan (see Validate, which refuses all three: call it on a
// limit read from configuration to fail at start-up instead).
type Limit struct {
	// Rate is the number of events allowed per Period. Zero or negative
	// allows none.
	Rate int
	// Period is the window Rate applies to. Zero or negative allows no
	// event.
	Period time.Duration
	// Burst is the number of events allowed at once. Zero or negative
	// means Rate.
	Burst int
}

// PerSecond returns a Limit of n events per second, bursts of n.
func PerSecond(n int) Limit { return Limit{Rate: n, Period: time.Second} }

// PerMinute returns a Limit of n events per minute, bursts of n.
func PerMinute(n int) Limit { return Limit{Rate: n, Period: time.Minute} }

// MaxSpan bounds the span of a Limit, Period×Burst/Rate: the time a full
// burst takes to earn back, and so the furthest ahead a key's state can
// reach. Beyond it, times in nanoseconds would overflow.
const MaxSpan = 10 * 365 * 24 * time.Hour

// Validate reports an error when l cannot be enforced: a Rate or Period that
// is not positive, a negative Burst, or a span above MaxSpan.
func (l Limit) Validate() error {
	switch {
	case l.Rate <= 0:
		return fmt.Errorf("ratelimit: rate %d is not positive", l.Rate)
	case l.Period <= 0:
		return fmt.Errorf("ratelimit: period %v is not positive", l.Period)
	case l.Burst < 0:
		return fmt.Errorf("ratelimit: burst %d is negative", l.Burst)
	case l.Interval() > MaxSpan/time.Duration(max(l.BurstSize(), 1)):
		return fmt.Errorf("ratelimit: limit %v takes more than %v to earn a full burst back", l, MaxSpan)
	}
	return nil
}

// enforceable returns l as a Store can enforce it: a negative Burst made
// Rate and a span above MaxSpan cut to it. ok is false for a Limit that
// allows no event (a Rate or Period of zero or less).
func (l Limit) enforceable() (_ Limit, ok bool) {
	if l.Rate <= 0 || l.Period <= 0 {
		return l, false
	}
	l.Burst = max(l.Burst, 0)
	if l.Interval() > MaxSpan {
		l.Rate, l.Period, l.Burst = 1, MaxSpan, 0
	}
	if l.Interval() > MaxSpan/time.Duration(l.BurstSize()) {
		l.Burst = int(MaxSpan / l.Interval())
	}
	return l, true
}

// Interval returns the time one event adds to a key's debt: Period/Rate,
// at least one nanosecond; MaxSpan for a Limit that allows no event.
func (l Limit) Interval() time.Duration {
	if l.Rate <= 0 || l.Period <= 0 {
		return MaxSpan
	}
	return max(l.Period/time.Duration(l.Rate), 1)
}

// BurstSize returns Burst, or Rate when Burst is zero or negative; 0 for
// a Limit that allows no event.
func (l Limit) BurstSize() int {
	switch {
	case l.Rate <= 0 || l.Period <= 0:
		return 0
	case l.Burst <= 0:
		return l.Rate
	}
	return l.Burst
}

// String formats l as "Rate/Period" with the burst when it differs from the
// rate, for logs.
func (l Limit) String() string {
	if l.Burst != 0 && l.Burst != l.Rate {
		return fmt.Sprintf("%d/%v burst %d", l.Rate, l.Period, l.Burst)
	}
	return fmt.Sprintf("%d/%v", l.Rate, l.Period)
}

// Result is the outcome of one decision.
type Result struct {
	// Allowed reports whether the event may happen. A denied event costs
	// nothing.
	Allowed bool
	// Limit is the limit the decision was taken against.
	Limit Limit
	// Remaining is the number of further events that would be allowed right
	// now.
	Remaining int
	// RetryAfter is the time until the next event will be allowed: zero when
	// Allowed, else the exact wait.
	RetryAfter time.Duration
	// ResetAfter is the time until the key is back to its full burst, that
	// is until it holds no state at all.
	ResetAfter time.Duration
}

// Refill returns the time until the key's budget holds one event more than
// Remaining: until then, no more than Remaining further events will be
// allowed. For a denied event it equals RetryAfter; for an allowed one it is
// at most one Interval of the Limit (zero when the Result carries no Limit,
// as one from a Store called directly). This is the effective window ("t") of
// the IETF draft's RateLimit field.
func (r Result) Refill() time.Duration {
	if !r.Allowed {
		return r.RetryAfter
	}
	if r.Limit.Rate <= 0 {
		// A Result taken without a Limiter carries no Limit.
		return 0
	}
	interval := r.Limit.Interval()
	tolerance := interval * time.Duration(r.Limit.BurstSize())
	// The key's arrival time is now+ResetAfter; the next event beyond
	// Remaining is allowed once it is within the tolerance.
	return max(r.ResetAfter-tolerance+time.Duration(r.Remaining+1)*interval, 0)
}

// Store keeps the GCRA state of many keys and takes one decision atomically.
// Implementations must be safe for concurrent use.
type Store interface {
	// Allow spends one event of key's budget under limit when the budget
	// allows it. The limit has been validated by the caller. The key is
	// the caller's, of any length: a Store that keeps state per key stores
	// BoundKey(key), as Memory and redisstore do.
	Allow(ctx context.Context, key string, limit Limit) (Result, error)
}

// MaxKeyLen is the longest key a Store keeps as it is (see BoundKey), so
// that the memory a store holds per key is bounded whatever the keys a
// client makes up (a login form's email field, a path).
const MaxKeyLen = 64

// BoundKey returns key when it is at most MaxKeyLen bytes, else "#" and the
// unpadded base64url SHA-256 digest of key, 44 bytes. Two keys therefore
// share a budget only if one is long and the other is exactly its digest
// form, which only someone who knows the long key can write, and who could
// as well send the long key itself. BoundKey(BoundKey(k)) == BoundKey(k).
func BoundKey(key string) string { return keyhash.Bound(key, MaxKeyLen) }

// Limiter applies one Limit to any number of keys held in a Store.
//
// The zero Limiter is not usable; create one with New. A Limiter is safe for
// concurrent use. Close it when New made its store; a store given to New is
// the caller's to close.
type Limiter struct {
	limit Limit
	store Store
	// own is the store New made, closed by Close.
	own *Memory
}

// New returns a Limiter enforcing limit with store. A nil store means a new
// Memory store with default options, which the Limiter owns and Close closes.
// Every limit is accepted, as Limit documents: one that allows no event
// denies every Allow without asking the store.
func New(limit Limit, store Store) *Limiter {
	limit, ok := limit.enforceable()
	if !ok {
		return &Limiter{limit: limit, store: denyAll{}}
	}
	l := &Limiter{limit: limit, store: store}
	if store == nil {
		l.own = NewMemory(MemoryOptions{})
		l.store = l.own
	}
	return l
}

// Close closes the store New made when it was given none (see Memory.Close),
// and does nothing otherwise. It never fails.
func (l *Limiter) Close() error {
	if l.own != nil {
		return l.own.Close()
	}
	return nil
}

// denyAll is the Store of a Limiter whose Limit allows no event.
type denyAll struct{}

func (denyAll) Allow(context.Context, string, Limit) (Result, error) {
	return Result{RetryAfter: MaxSpan}, nil
}

// Limit returns the limit l enforces.
func (l *Limiter) Limit() Limit { return l.limit }

// Allow spends one event of key's budget when it allows it. The error is the
// store's (for example one wrapping ErrUnavailable); the in-memory store
// never fails.
//
// Allow is small enough for the compiler to inline, which the benchmarks
// measure: keep it so (keys are bounded by the stores, see BoundKey).
func (l *Limiter) Allow(ctx context.Context, key string) (Result, error) {
	res, err := l.store.Allow(ctx, key, l.limit)
	res.Limit = l.limit
	return res, err
}
