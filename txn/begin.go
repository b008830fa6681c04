package txn

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// watch is what attempt allocates once per attempt: the transaction, its
// outermost scope, and the one watch on the caller's context that first
// cuts a hung BEGIN short and then rolls the transaction back.
//
// Before BEGIN has returned, the caller's cancellation cancels the context
// BEGIN runs on (begin, below). Once BEGIN has returned it rolls the
// transaction back instead, and the context BEGIN ran on (which database/sql
// keeps as the transaction's) is never cancelled by the caller: database/sql
// then never rolls back on a goroutine of its own.
type watch struct {
	t         dbTx
	sc        scope
	cancelled sync.WaitGroup // the callback of the caller's cancellation
	begin     beginCtx
}

// onCancel runs once when the caller's context is done.
func (w *watch) onCancel() {
	defer w.cancelled.Done()
	if tx := w.begin.cancel(); tx != nil {
		_ = tx.Rollback() // waits for the statements in flight
	}
}

// beginCtx is the context BEGIN runs on: the caller's values, no deadline,
// and a cancellation that follows the caller's only until BEGIN returns. It
// is a field of watch rather than context.WithCancel over
// context.WithoutCancel, which costs three allocations and a second watch on
// the caller's context; its Done channel is made only when asked for.
type beginCtx struct {
	parent context.Context

	mu    sync.Mutex
	tx    *sql.Tx // set when BEGIN returns: from then on a cancellation rolls back
	began bool
	done  chan struct{}
	err   error
	fns   []func() // children registered through AfterFunc, until BEGIN returns
	buf   [2]func()
}

var _ interface {
	AfterFunc(func()) func() bool
} = (*beginCtx)(nil)

// closedDone is the Done channel of a beginCtx cancelled before anyone
// asked for its channel. It is closed once and never changes.
var closedDone = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (*beginCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *beginCtx) Value(key any) any         { return c.parent.Value(key) }

func (c *beginCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.err != nil {
			return closedDone
		}
		c.done = make(chan struct{})
	}
	return c.done
}

func (c *beginCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// AfterFunc lets context.WithCancel and context.AfterFunc over c (as
// database/sql and drivers do) register with c instead of starting a
// goroutine that watches Done. f runs only when the caller's context ends
// before BEGIN returns.
func (c *beginCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.err != nil && !c.began:
		go f()
	case !c.began:
		if c.fns == nil {
			c.fns = c.buf[:0]
		}
		c.fns = append(c.fns, f)
	}
	return keep
}

// keep is the stop function AfterFunc returns: a registered function that
// is no longer wanted is dropped when BEGIN returns, and running it before
// then only cancels a context that is ending anyway.
func keep() bool { return false }

// cancel ends c with the caller's error. Before BEGIN returns it runs the
// registered functions and returns nil; afterwards it returns the
// transaction to roll back.
func (c *beginCtx) cancel() *sql.Tx {
	c.mu.Lock()
	if c.began {
		tx := c.tx
		c.mu.Unlock()
		return tx
	}
	fns := c.fns
	c.fns = nil
	if c.err == nil {
		c.err = c.parent.Err()
		if c.done != nil {
			close(c.done)
		}
	}
	c.mu.Unlock()
	for _, f := range fns {
		f()
	}
	return nil
}

// begun records that BEGIN returned tx (nil when it failed).
func (c *beginCtx) begun(tx *sql.Tx) {
	c.mu.Lock()
	c.began, c.tx, c.fns = true, tx, nil
	c.mu.Unlock()
}

// end closes Done, if anyone asked for it, once the transaction has ended.
func (c *beginCtx) end() {
	c.mu.Lock()
	if c.err == nil {
		c.err = context.Canceled
		if c.done != nil {
			close(c.done)
		}
	}
	c.mu.Unlock()
}
