// Package redisguard puts a per-call deadline and a circuit breaker around
// the Redis calls of svckit's Redis-backed stores, tells Redis outages from
// the caller's own errors, and reports an outage once: one warning when the
// breaker opens, one notice when it closes, with the number of fallbacks
// taken meanwhile.
//
// On Redis Cluster (a *redis.ClusterClient) there is a breaker per master:
// BeginKey asks the breaker of the master serving the key's slot, as the
// client's slot map has it, so a master that is down fails fast on its own
// slots while the calls to the others go on. Calls of keys on several
// masters (Begin) have the store's breaker.
//
// The deadline travels in the call's context: Begin returns a context whose
// deadline is the sooner of the caller's and now+Timeout. go-redis turns that
// into socket deadlines when the client has ContextTimeoutEnabled (without
// it the client's own ReadTimeout and WriteTimeout apply, and the guard says
// so in the log once, at New), and its waits for a pool connection, between
// dial attempts and between cluster redirects end with the context too, so
// the context's Done closes at the deadline and when the caller's context
// ends. When the caller's deadline is already the sooner, Begin hands back
// the caller's context and costs nothing.
//
// Otherwise the context is one the Guard recycles: a pooled value holding
// its deadline, a done channel and a timer that closes it, re-armed with
// Reset for the next call; a caller's context that is already done closes
// it at Begin, one that ends during the call closes it from
// context.AfterFunc's goroutine, microseconds later. End stops the timer and, when the caller's
// context can be cancelled, the context.AfterFunc that ties the two; only a
// context whose timer and AfterFunc were both stopped before they ran (so
// its done channel is still open and nothing else holds it) goes back to
// the pool, any other is dropped. With a caller's context that cannot be
// cancelled (context.Background) a call costs no allocation; with one that
// can (a request's) it costs what context.AfterFunc costs, two allocations,
// against four for context.WithTimeout. Recycling is safe because nothing
// keeps the context after the call returns: the stores make one command,
// script or pipeline per Begin and no Pub/Sub, go-redis v9 keeps the
// context in the command (which the store drops) and dials on a context of
// its own, and the caller must not use the context after End.
package redisguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/svckit/svckit/internal/breaker"
)

// ErrOpen is returned by Begin while the breaker is open.
var ErrOpen = errors.New("redis circuit breaker open")

// Options configure a Guard.
type Options struct {
	// Name names the store in log records, for example "cache/redisstore".
	Name string
	// Timeout is each call's deadline; it must be positive.
	Timeout time.Duration
	// Breaker configures the circuit breaker; its OnChange is the Guard's.
	Breaker breaker.Options
	// Fallback says, in the outage warning, what the store does instead,
	// for example "loading from the database".
	Fallback string
	// Logger receives the outage records. Nil discards them.
	Logger *slog.Logger
}

// Guard wraps one store's Redis calls. Use New. It is safe for concurrent
// use and starts no goroutine.
type Guard struct {
	name     string
	timeout  time.Duration
	fallback string
	log      *slog.Logger
	br       *breaker.Breaker // the store's, or a cluster's calls of no one key

	// On Redis Cluster, a breaker per master: the calls of one key ask
	// the breaker of the master serving the key's slot (BeginKey).
	cluster *redis.ClusterClient
	bopts   breaker.Options
	nodes   sync.Map // master address → *node

	ctxs sync.Pool // of *callCtx, recycled by End

	fallbacks atomic.Uint64
}

// New returns a Guard for calls on client, which is only inspected: a
// *redis.Client, *redis.ClusterClient or *redis.Ring without
// ContextTimeoutEnabled gets a warning in the log.
func New(client any, opts Options) *Guard {
	if opts.Timeout <= 0 {
		panic("redisguard: Timeout must be positive")
	}
	g := &Guard{name: opts.Name, timeout: opts.Timeout, fallback: opts.Fallback, log: opts.Logger}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.bopts = opts.Breaker
	g.br = g.newBreaker("")
	g.cluster, _ = client.(*redis.ClusterClient)
	if enabled, known := contextTimeouts(client); known && !enabled {
		g.log.LogAttrs(context.Background(), slog.LevelWarn,
			g.name+": the Redis client has ContextTimeoutEnabled off, so per-call deadlines cannot cut a socket read short; the client's ReadTimeout applies",
			slog.Duration("timeout", g.timeout))
	}
	return g
}

// contextTimeouts reports the client's ContextTimeoutEnabled, when the
// client is one whose options can be read.
func contextTimeouts(client any) (enabled, known bool) {
	switch c := client.(type) {
	case interface{ Options() *redis.Options }:
		return c.Options().ContextTimeoutEnabled, true
	case interface{ Options() *redis.ClusterOptions }:
		return c.Options().ContextTimeoutEnabled, true
	case interface{ Options() *redis.RingOptions }:
		return c.Options().ContextTimeoutEnabled, true
	}
	return false, false
}

// Call is one call allowed by Begin, to be passed to End.
type Call struct {
	ticket breaker.Ticket
	ctx    *callCtx         // nil when the caller's context was returned
	br     *breaker.Breaker // nil: the Guard's own
}

// node is the breaker of one cluster master.
type node struct{ br *breaker.Breaker }

// newBreaker returns a breaker that logs its outages as those of addr's
// master ("" for the store as a whole).
func (g *Guard) newBreaker(addr string) *breaker.Breaker {
	bo := g.bopts
	var started atomic.Uint64 // fallbacks when the breaker last opened
	bo.OnChange = func(from, to breaker.State) { g.changed(addr, &started, from, to) }
	return breaker.New(bo)
}

// BeginKey is BeginTimeout for a call on the one Redis key key. On Redis
// Cluster it asks the breaker of the master that serves key's slot, so a
// master that is down opens its own breaker and the calls to the others
// go on; elsewhere, and for calls of several keys (Begin), the store has
// one breaker. Finding the master costs no round trip once the client
// knows the cluster's slots.
func (g *Guard) BeginKey(ctx context.Context, key string, timeout time.Duration) (context.Context, Call, error) {
	if g.cluster == nil {
		return g.BeginTimeout(ctx, timeout)
	}
	cctx, c := g.arm(ctx, timeout)
	br := g.br
	if m, err := g.cluster.MasterForKey(cctx, key); err == nil {
		br = g.nodeBreaker(m.Options().Addr)
	}
	t, err := br.Allow()
	if err != nil {
		if c != nil {
			g.release(c)
		}
		return ctx, Call{}, ErrOpen
	}
	return cctx, Call{ticket: t, ctx: c, br: br}, nil
}

// nodeBreaker returns the breaker of the master at addr.
func (g *Guard) nodeBreaker(addr string) *breaker.Breaker {
	if n, ok := g.nodes.Load(addr); ok {
		return n.(*node).br
	}
	n, _ := g.nodes.LoadOrStore(addr, &node{br: g.newBreaker(addr)})
	return n.(*node).br
}

// Begin asks the breaker for a call. It returns the context to make the call
// with, carrying the call's deadline, and the Call to pass to End; or
// ErrOpen at once while the breaker is open.
func (g *Guard) Begin(ctx context.Context) (context.Context, Call, error) {
	return g.BeginTimeout(ctx, g.timeout)
}

// BeginTimeout is Begin with a deadline of its own, for stores whose calls
// are worth different waits (a cache read, an invalidation).
func (g *Guard) BeginTimeout(ctx context.Context, timeout time.Duration) (context.Context, Call, error) {
	t, err := g.br.Allow()
	if err != nil {
		return ctx, Call{}, ErrOpen
	}
	cctx, c := g.arm(ctx, timeout)
	return cctx, Call{ticket: t, ctx: c}, nil
}

// End reports the outcome of the call Begin allowed and releases its
// context, which must not be used after; ctx is the caller's context (not
// the one Begin returned). It returns whether err is a Redis
// fault, that is one the store should take its fallback for: not nil, not
// redis.Nil, not the end of the caller's context, and not a reply that
// blames the command (a wrong type, a script error).
func (g *Guard) End(ctx context.Context, c Call, err error) (fault bool) {
	if c.ctx != nil {
		g.release(c.ctx)
	}
	t, br := c.ticket, c.br
	if br == nil {
		br = g.br
	}
	switch {
	case err == nil || errors.Is(err, redis.Nil):
		br.Success(t)
		return false
	case ctx.Err() != nil:
		br.Ignore(t)
		return false
	case IsFault(err):
		br.Failure(t)
		return true
	default:
		br.Success(t) // Redis answered
		return false
	}
}

// IsFault reports whether err says Redis (or the way to it) failed rather
// than the command: a network error or timeout, a closed client, or a reply
// of a server or cluster that cannot serve now (CLUSTERDOWN, TRYAGAIN,
// LOADING, MASTERDOWN, READONLY, BUSY, max clients, a MOVED or ASK left
// after go-redis's redirects).
func IsFault(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) {
		return false
	}
	if errors.Is(err, ErrOpen) {
		return true
	}
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return true // network, timeout, pool, closed client
	}
	if _, ok := redis.IsMovedError(err); ok {
		return true
	}
	if _, ok := redis.IsAskError(err); ok {
		return true
	}
	return redis.IsClusterDownError(err) || redis.IsTryAgainError(err) || redis.IsLoadingError(err) ||
		redis.IsMasterDownError(err) || redis.IsReadOnlyError(err) || redis.IsMaxClientsError(err) ||
		redis.HasErrorPrefix(err, "BUSY") || redis.HasErrorPrefix(err, "NOREPLICAS")
}

// Fallback counts one fallback taken by the store.
func (g *Guard) Fallback() { g.fallbacks.Add(1) }

// Fallbacks returns how many fallbacks the store took since New.
func (g *Guard) Fallbacks() uint64 { return g.fallbacks.Load() }

// State returns the state of the store's breaker (on Redis Cluster, the
// breaker of calls of several keys; each master has its own, see BeginKey).
func (g *Guard) State() breaker.State { return g.br.State() }

// Timeout returns the per-call deadline.
func (g *Guard) Timeout() time.Duration { return g.timeout }

// changed logs the start and the end of an outage of the store (addr "")
// or of one cluster master; started keeps the fallbacks counted when it
// began.
func (g *Guard) changed(addr string, started *atomic.Uint64, from, to breaker.State) {
	ctx := context.Background()
	what := "redis"
	if addr != "" {
		what = "redis master " + addr
	}
	switch {
	case from == breaker.Closed && to == breaker.Open:
		started.Store(g.fallbacks.Load())
		g.log.LogAttrs(ctx, slog.LevelWarn, fmt.Sprintf("%s: %s unavailable, %s while the breaker is open", g.name, what, g.fallback))
	case to == breaker.Closed:
		g.log.LogAttrs(ctx, slog.LevelInfo, g.name+": "+what+" answers again",
			slog.Uint64("fallbacks", g.fallbacks.Load()-started.Load()))
	}
}

// callCtx states.
const (
	live uint32 = iota
	expired
	cancelled
)

// callCtx is the context of one call: the caller's context with a sooner
// deadline. The Guard recycles it (see the package doc).
type callCtx struct {
	context.Context // the caller's

	deadline time.Time
	done     chan struct{}
	state    atomic.Uint32
	timer    *time.Timer // runs expire at the deadline
	stop     func() bool // stops the context.AfterFunc of the caller's context; nil if none
	expireF  func()      // c.expire and c.cancel, bound once per callCtx
	cancelF  func()
}

// arm returns the context of a call ending at the sooner of now+timeout
// and the end of parent: parent itself when its deadline is the sooner (c
// is then nil), else a recycled context c.
func (g *Guard) arm(parent context.Context, timeout time.Duration) (context.Context, *callCtx) {
	if cd, ok := parent.Deadline(); ok && time.Until(cd) <= timeout {
		return parent, nil
	}
	c := g.armed(parent, timeout)
	return c, c
}

// armed returns a recycled context for a call ending at the sooner of
// now+timeout and the end of parent.
func (g *Guard) armed(parent context.Context, timeout time.Duration) *callCtx {
	c, _ := g.ctxs.Get().(*callCtx)
	now := time.Now()
	if c == nil {
		c = &callCtx{Context: parent, deadline: now.Add(timeout), done: make(chan struct{})}
		c.expireF, c.cancelF = c.expire, c.cancel
		c.timer = time.AfterFunc(timeout, c.expireF)
	} else {
		c.Context, c.deadline = parent, now.Add(timeout)
		c.timer.Reset(timeout)
	}
	if parent.Done() != nil {
		c.stop = context.AfterFunc(parent, c.cancelF)
		if parent.Err() != nil {
			c.cancel() // now rather than in AfterFunc's goroutine
		}
	}
	return c
}

// release ends c's call and recycles c when neither its timer nor the end
// of the caller's context has run or can run any more.
func (g *Guard) release(c *callCtx) {
	stopped := c.timer.Stop()
	if c.stop != nil {
		stopped = c.stop() && stopped
		c.stop = nil
	}
	if !stopped {
		return // expire or cancel ran or is running: c is theirs to close, then dropped
	}
	c.Context = context.Background() // keep no reference to the caller's context
	g.ctxs.Put(c)
}

func (c *callCtx) expire() {
	if c.state.CompareAndSwap(live, expired) {
		close(c.done)
	}
}

func (c *callCtx) cancel() {
	if c.state.CompareAndSwap(live, cancelled) {
		close(c.done)
	}
}

// Deadline implements context.Context.
func (c *callCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// Done implements context.Context.
func (c *callCtx) Done() <-chan struct{} { return c.done }

// Err implements context.Context.
func (c *callCtx) Err() error {
	switch c.state.Load() {
	case expired:
		return context.DeadlineExceeded
	case cancelled:
		return c.Context.Err()
	}
	return nil
}

func (c *callCtx) String() string { return "redisguard.callCtx" }
