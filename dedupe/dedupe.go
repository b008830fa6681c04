// Package dedupe provides a duplicate call suppression mechanism: while one
// call for a key is in flight, later callers for the same key wait for its
// result instead of starting their own. The zero Group is ready to use:
//
//	var users dedupe.Group[int64, User] // or dedupe.New, to count the calls
//	u, shared, err := users.Do(ctx, id, func(ctx context.Context) (User, error) {
//		return repo.FindByID(ctx, id) // one load per id in flight
//	})
//
// It follows golang.org/x/sync/singleflight, typed and aware of contexts: the
// work runs on a context detached from every single caller, one caller giving
// up returns that caller's ctx.Err() and leaves the others waiting, and the
// work is cancelled once the last waiting caller has gone.
//
// Like singleflight, Do and DoChan join the call in flight for a key or start
// one before they block or return, Shared reports that a result went to more
// than one caller, and Forget makes the next call for a key start afresh.
// Where it deliberately differs from singleflight:
//
//   - Contexts: a caller whose ctx ends returns at once with ctx.Err(); the
//     function runs on a goroutine of its own unless the caller's context can
//     never end (then on the caller's goroutine, as singleflight's Do).
//   - Panics: Do re-panics with a *PanicError carrying the stack in every
//     waiting caller, and DoChan delivers it as the Result's Err, where
//     singleflight re-panics inside DoChan's goroutine and crashes the process.
//   - runtime.Goexit in the function: the waiting callers receive ErrGoexit
//     (singleflight's waiters receive its internal errGoexit, unexported).
//   - Telemetry: a Group built with New counts its calls as leader or
//     shared through OpenTelemetry (MetricCalls); the zero Group counts
//     nothing.
package dedupe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"go.opentelemetry.io/otel/metric"
)

// ErrGoexit is returned to the callers waiting on a function that called
// runtime.Goexit (for example through t.FailNow) instead of returning.
var ErrGoexit = errors.New("dedupe: function called runtime.Goexit")

// PanicError is the value a function's panic is turned into. Do panics with a
// *PanicError in every caller that waits for the function, and DoChan delivers
// it as the Result's Err.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the stack of the goroutine that panicked
}

// Error returns the panic value and the stack.
func (p *PanicError) Error() string {
	return fmt.Sprintf("dedupe: panic: %v\n\n%s", p.Value, p.Stack)
}

// Unwrap returns the panic value when it is an error, so errors.Is and
// errors.As see through a PanicError.
func (p *PanicError) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

func newPanicError(v any) *PanicError {
	stack := debug.Stack()
	// The first line is "goroutine N [running]:"; it names a goroutine
	// the reader cannot relate to its own, so drop it.
	if line := bytes.IndexByte(stack, '\n'); line >= 0 {
		stack = stack[line+1:]
	}
	return &PanicError{Value: v, Stack: stack}
}

// Result holds the results of Do, for DoChan.
type Result[V any] struct {
	Val    V
	Err    error
	Shared bool
}

// call is one execution of a function and the callers waiting for it.
type call[V any] struct {
	// Guarded by Group.mu.
	done     chan struct{}      // closed when finished; made for the first caller that waits
	finished bool               // val, err, pe and shared are set
	linked   bool               // in Group.m under its key
	waiters  int                // callers still waiting
	dups     int                // callers that joined after the first
	cancel   context.CancelFunc // cancels the work's context; nil when run inline

	val    V
	err    error
	pe     *PanicError
	shared bool
}

// Group runs functions once per key at a time.
//
// The zero value is ready to use and counts nothing; New returns one that
// counts its calls. A Group is safe for concurrent use and must not be
// copied after first use. It starts goroutines only for calls in flight;
// they end when the function returns.
type Group[K comparable, V any] struct {
	// Telemetry, when set before first use, counts the calls as leader
	// or shared (MetricCalls).
	//
	// Deprecated: build the Group with New, whose Options.MeterProvider
	// makes the counters once.
	Telemetry *Telemetry

	tel *Telemetry // New's counters; nil: Telemetry's, if any
	mu  sync.Mutex
	m   map[K]*call[V]
}

// Options configure New.
type Options struct {
	// Name is the value of AttrName on the Group's metrics, chosen in
	// code, never from input. Empty means "default".
	Name string
	// MeterProvider receives MetricCalls. Nil means otel's global
	// provider.
	MeterProvider metric.MeterProvider
}

// New returns an empty Group that counts its calls as leader or shared
// (MetricCalls) on opts.MeterProvider.
func New[K comparable, V any](opts Options) *Group[K, V] {
	name := opts.Name
	if name == "" {
		name = "default"
	}
	return &Group[K, V]{tel: newTelemetry(opts.MeterProvider, name)}
}

// counts returns the Group's counters, nil when it has none.
func (g *Group[K, V]) counts() *Telemetry {
	if g.tel != nil {
		return g.tel
	}
	return g.Telemetry
}

// Do runs fn for key and returns its results, making sure only one execution
// for key is in flight at a time. A caller arriving while one is in flight
// waits for it and receives the same results; shared reports whether the
// results went to more than one caller.
//
// fn receives a context that carries ctx's values but not its cancellation or
// deadline: it is cancelled only when every caller waiting for it has returned
// early. A caller whose ctx ends first returns the zero V and ctx.Err() at
// once. A caller arriving after every earlier caller has gone starts a fresh
// execution and never receives the abandoned one's results.
//
// When ctx can never end (its Done returns nil, as for context.Background),
// fn runs on the calling goroutine, as in singleflight; otherwise it runs on a
// goroutine of its own, which the caller can leave.
//
// If fn panics, Do panics with a *PanicError in every waiting caller (a panic
// after every caller has gone is dropped with the results). If fn calls
// runtime.Goexit, the waiting callers receive ErrGoexit; when fn ran on the
// caller's own goroutine, that goroutine exits too.
func (g *Group[K, V]) Do(ctx context.Context, key K, fn func(ctx context.Context) (V, error)) (v V, shared bool, err error) {
	c, pe := g.do(ctx, key, fn, true)
	if pe != nil {
		panic(pe)
	}
	if c == nil {
		return v, false, ctx.Err()
	}
	return c.val, c.shared, c.err
}

// DoChan is like Do but returns a channel that receives the results once they
// are ready; the channel is never closed. Like singleflight's DoChan, it joins
// the call in flight for key, or starts one, before it returns: a Do or DoChan
// for key made after DoChan has returned waits for the same execution (and
// both see Shared), and a Forget after it forgets that execution. fn always
// runs on a goroutine of its own. A panic in fn arrives as a Result whose Err
// is a *PanicError, a runtime.Goexit in fn as ErrGoexit, and a ctx that ends
// first as a Result whose Err is ctx.Err().
func (g *Group[K, V]) DoChan(ctx context.Context, key K, fn func(ctx context.Context) (V, error)) <-chan Result[V] {
	ch := make(chan Result[V], 1)
	c, ok := g.join(key)
	g.counts().joined(ctx, ok)
	if !ok {
		work := context.WithoutCancel(ctx)
		if ctx.Done() != nil {
			work, c.cancel = context.WithCancel(work)
		}
		c.done = make(chan struct{})
		g.mu.Unlock()
		go g.run(work, key, c, fn, false)
	}
	go func() {
		c, pe := g.wait(ctx, key, c)
		switch {
		case pe != nil:
			ch <- Result[V]{Err: pe, Shared: c.shared}
		case c == nil:
			ch <- Result[V]{Err: ctx.Err()}
		default:
			ch <- Result[V]{Val: c.val, Err: c.err, Shared: c.shared}
		}
	}()
	return ch
}

// join adds a waiter to the call in flight for key and reports true, or
// registers a new call and reports false. On false g.mu is
// still held, so the caller can finish setting the call up before anyone
// else sees it finish; on true it is released.
func (g *Group[K, V]) join(key K) (*call[V], bool) {
	g.mu.Lock()
	if g.m == nil {
		g.m = make(map[K]*call[V])
	}
	if c, ok := g.m[key]; ok {
		c.waiters++
		c.dups++
		if c.done == nil {
			c.done = make(chan struct{})
		}
		g.mu.Unlock()
		return c, true
	}
	c := &call[V]{waiters: 1, linked: true}
	g.m[key] = c
	return c, false
}

// Forget tells the Group to forget key: the next call for key starts a new
// execution instead of waiting for the one in flight, whose callers still
// receive its results.
func (g *Group[K, V]) Forget(key K) {
	g.mu.Lock()
	if c, ok := g.m[key]; ok {
		c.linked = false
		delete(g.m, key)
	}
	g.mu.Unlock()
}

// do returns the finished call, or nil when ctx ended first, or the panic to
// propagate. repanic says a panic in fn run on this goroutine goes on
// unwinding it (Do) rather than being returned (DoChan).
func (g *Group[K, V]) do(ctx context.Context, key K, fn func(ctx context.Context) (V, error), repanic bool) (*call[V], *PanicError) {
	c, ok := g.join(key)
	g.counts().joined(ctx, ok)
	if ok {
		return g.wait(ctx, key, c)
	}
	if ctx.Done() == nil {
		// This caller can never leave, so the work can never be
		// abandoned: run it here, as singleflight does.
		g.mu.Unlock()
		g.run(ctx, key, c, fn, repanic)
		return c, c.pe
	}
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	c.done = make(chan struct{})
	g.mu.Unlock()
	go g.run(work, key, c, fn, false)
	return g.wait(ctx, key, c)
}

// wait blocks until c is done or ctx ends. A caller that leaves early drops
// out of c; the last one to leave cancels the work and unlinks c from the
// Group so that no later caller joins it.
func (g *Group[K, V]) wait(ctx context.Context, key K, c *call[V]) (*call[V], *PanicError) {
	select {
	case <-c.done:
		return c, c.pe
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if c.finished {
		// Finished while we took the lock: the results are ready, and
		// returning them is as correct as returning ctx.Err().
		return c, c.pe
	}
	c.waiters--
	if c.waiters == 0 {
		if c.linked {
			c.linked = false
			delete(g.m, key)
		}
		if c.cancel != nil {
			c.cancel()
		}
	}
	return nil, nil
}

// run calls fn and publishes its results. repanic says fn runs on the
// goroutine of a caller of Do, which must see its panic again.
func (g *Group[K, V]) run(ctx context.Context, key K, c *call[V], fn func(ctx context.Context) (V, error), repanic bool) {
	normalReturn := false
	defer func() {
		if !normalReturn {
			if r := recover(); r != nil {
				c.pe = newPanicError(r)
			} else {
				c.err = ErrGoexit
			}
		}
		g.mu.Lock()
		if c.linked {
			c.linked = false
			delete(g.m, key)
		}
		c.shared = c.dups > 0
		if c.cancel != nil {
			c.cancel()
		}
		c.finished = true
		if c.done != nil {
			close(c.done)
		}
		g.mu.Unlock()
		if repanic && c.pe != nil {
			panic(c.pe)
		}
		// On runtime.Goexit the goroutine keeps unwinding after this
		// function returns.
	}()
	c.val, c.err = fn(ctx)
	normalReturn = true
}
