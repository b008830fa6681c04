// Package breaker is the circuit breaker svckit puts in front of each
// Redis-backed store: after a burst of failures it fails calls at once for a
// short while, lets a bounded number of probes through, and closes again by
// itself when a probe succeeds.
//
// It is a classic three-state breaker (closed, open, half-open) rather than
// the adaptive client-side throttling of Google's SRE book. Throttling drops
// requests with probability (requests - K*accepts)/(requests+1) over a
// window of seconds; when the service is down outright it keeps rejecting
// nearly everything until accepts rebuild, which after a total outage takes
// several windows (with a 2 s window, K=2 and 1 000 requests/s, about 7 s of
// mostly refused calls after Redis is back). A store whose fallback is a 503
// (the refresh-token store) wants to be back within a second or two. It is
// written here rather than taken from sony/gobreaker because the closed state,
// where every call passes, is a few atomic operations with no mutex and no
// allocation, and because the stores need a third outcome, "ignored", for
// errors that are the caller's (a cancelled context, a missing key).
//
// How it decides:
//   - Closed: every call passes. Failures are counted in a window that starts
//     at the first failure; when a window holds at least MinFailures failures
//     and they are at least FailureRatio of its calls, the breaker opens. It
//     opens too after MinFailures failures in a row, however slowly they
//     come: a caller making a call every few hundred milliseconds, each
//     ending at its deadline, would otherwise never fill a window.
//   - Open: every call fails with ErrOpen, for OpenFor.
//   - Half-open: at most Probes calls pass at a time; the first success
//     closes the breaker, a failure opens it again for OpenFor.
//
// Results of calls allowed before the last state change are ignored, so a
// slow call from before an outage cannot close or reopen the breaker.
package breaker

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/svckit/svckit/internal/opt"
)

// ErrOpen is returned by Allow while the breaker is open, or half-open with
// every probe slot taken.
var ErrOpen = errors.New("breaker: open")

// State is the breaker's state.
type State int32

// The states.
const (
	Closed State = iota
	Open
	HalfOpen
)

// String returns "closed", "open" or "half-open".
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "unknown"
}

// Defaults of Options.
const (
	DefaultWindow       = time.Second
	DefaultMinFailures  = 5
	DefaultFailureRatio = 0.5
	DefaultOpenFor      = 500 * time.Millisecond
	DefaultProbes       = 1
)

// Options configure a Breaker. The zero value is valid: every numeric
// field zero or negative means its Default constant.
type Options struct {
	// Window is how long failures are counted, from the first failure.
	Window time.Duration
	// MinFailures is how many failures a window needs before it can open
	// the breaker.
	MinFailures int
	// FailureRatio is the share of a window's calls that must have failed.
	FailureRatio float64
	// OpenFor is how long the breaker stays open before it lets probes in.
	OpenFor time.Duration
	// Probes bounds the calls in flight while half-open.
	Probes int
	// OnChange, when set, is called on every state change, under the
	// breaker's transition lock: it must not block or call the breaker.
	OnChange func(from, to State)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Ticket is what Allow hands out; pass it back with the call's outcome.
type Ticket uint64

// Breaker is a circuit breaker. Use New. It is safe for concurrent use and
// starts no goroutine.
type Breaker struct {
	opts Options

	// gen is bumped on every state change; its low two bits hold the
	// state, so one atomic load tells a call both.
	gen       atomic.Uint64
	winStart  atomic.Int64 // unix ns of the current failure window's start
	calls     atomic.Int64 // calls finished in the window
	failures  atomic.Int64 // failures in the window
	streak    atomic.Int64 // failures since the last success
	openUntil atomic.Int64 // unix ns
	probes    atomic.Int64 // probes in flight

	mu sync.Mutex // serialises state changes
}

// New returns a closed Breaker.
func New(opts Options) *Breaker {
	opts.Window = opt.PositiveOr(opts.Window, DefaultWindow)
	opts.MinFailures = opt.PositiveOr(opts.MinFailures, DefaultMinFailures)
	opts.FailureRatio = opt.PositiveOr(opts.FailureRatio, DefaultFailureRatio)
	opts.OpenFor = opt.PositiveOr(opts.OpenFor, DefaultOpenFor)
	opts.Probes = opt.PositiveOr(opts.Probes, DefaultProbes)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Breaker{opts: opts}
}

func stateOf(gen uint64) State { return State(gen & 3) }

// State returns the current state. An open breaker whose OpenFor has passed
// reports Open until the next Allow moves it to half-open.
func (b *Breaker) State() State { return stateOf(b.gen.Load()) }

// Allow asks to make a call. On nil error the caller must make it and then
// report it with exactly one of Success, Failure or Ignore and the Ticket.
// While open it returns ErrOpen at once.
func (b *Breaker) Allow() (Ticket, error) {
	g := b.gen.Load()
	switch stateOf(g) {
	case Closed:
		return Ticket(g), nil
	case Open:
		if b.opts.Now().UnixNano() < b.openUntil.Load() {
			return 0, ErrOpen
		}
		g = b.halfOpen(g)
		switch stateOf(g) {
		case Closed:
			return Ticket(g), nil
		case Open:
			return 0, ErrOpen
		}
	}
	if b.probes.Add(1) > int64(b.opts.Probes) {
		b.probes.Add(-1)
		return 0, ErrOpen
	}
	return Ticket(g), nil
}

// Success reports a call that worked.
func (b *Breaker) Success(t Ticket) {
	g := uint64(t)
	switch stateOf(g) {
	case Closed:
		if b.gen.Load() == g {
			b.calls.Add(1)
			if b.streak.Load() != 0 {
				b.streak.Store(0)
			}
		}
	case HalfOpen:
		b.transition(g, Closed)
	}
}

// Failure reports a call that failed because of the service: it timed
// out, could not connect, or got a server error.
func (b *Breaker) Failure(t Ticket) {
	g := uint64(t)
	switch stateOf(g) {
	case Closed:
		if b.gen.Load() != g {
			return
		}
		now := b.opts.Now().UnixNano()
		start := b.winStart.Load()
		if now-start > int64(b.opts.Window) && b.winStart.CompareAndSwap(start, now) {
			b.calls.Store(0)
			b.failures.Store(0)
		}
		calls, fails, streak := b.calls.Add(1), b.failures.Add(1), b.streak.Add(1)
		if streak >= int64(b.opts.MinFailures) ||
			fails >= int64(b.opts.MinFailures) && float64(fails) >= b.opts.FailureRatio*float64(calls) {
			b.transition(g, Open)
		}
	case HalfOpen:
		b.transition(g, Open)
	}
}

// Ignore reports a call whose outcome says nothing about the service: the
// caller's context ended, or the answer was a normal "not found".
func (b *Breaker) Ignore(t Ticket) {
	if g := uint64(t); stateOf(g) == HalfOpen && b.gen.Load() == g {
		b.probes.Add(-1)
	}
}

// halfOpen moves an open breaker whose time is up to half-open and returns
// the generation after it.
func (b *Breaker) halfOpen(g uint64) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cur := b.gen.Load(); cur != g {
		return cur
	}
	return b.set(g, HalfOpen)
}

// transition changes state from generation g to "to", unless another change
// came first.
func (b *Breaker) transition(g uint64, to State) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gen.Load() != g {
		return
	}
	b.set(g, to)
}

// set is called with mu held.
func (b *Breaker) set(g uint64, to State) uint64 {
	now := b.opts.Now().UnixNano()
	switch to {
	case Open:
		b.openUntil.Store(now + int64(b.opts.OpenFor))
	case Closed:
		b.winStart.Store(0)
		b.calls.Store(0)
		b.failures.Store(0)
		b.streak.Store(0)
	case HalfOpen:
		b.probes.Store(0)
	}
	next := (g&^3 + 4) | uint64(to)
	b.gen.Store(next)
	if b.opts.OnChange != nil {
		b.opts.OnChange(stateOf(g), to)
	}
	return next
}
