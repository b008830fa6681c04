package txn

import (
	"context"
	"database/sql"
	"sync"
)

// Querier runs statements. *sql.DB, *sql.Tx and *sql.Conn satisfy it; From
// returns one bound to the transaction in the context, if any.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var (
	_ Querier = (*sql.DB)(nil)
	_ Querier = (*sql.Tx)(nil)
	_ Querier = (*sql.Conn)(nil)
)

// ctxKey is the context key of the innermost scope.
type ctxKey struct{}

// dbTx is one database transaction: the outermost Do call (or an Independent
// one) owns it; joined and savepoint calls share it.
type dbTx struct {
	db *sql.DB
	tx *sql.Tx

	mu         sync.Mutex // guards every scope of this transaction
	savepoints int        // names the next savepoint
}

// scopeEnd says how a scope finished.
type scopeEnd uint8

const (
	open       scopeEnd = iota
	committed           // outermost scope: the transaction committed
	released            // savepoint scope: released into its parent
	rolledBack          // rolled back (to the savepoint, or entirely)
)

// scope is the part of a transaction one Do call is responsible for: the
// whole transaction for the outermost call, the work since SAVEPOINT for a
// savepoint call. Joined calls share their caller's scope.
type scope struct {
	tx     *dbTx
	parent *scope // the scope a savepoint belongs to; nil for the outermost
	// prev is the next scope out in the context, on any database, so that
	// one context can carry transactions on several databases.
	prev *scope

	// ctx is the context fn runs on (see with); it lives here so that it
	// costs no allocation of its own.
	ctx scopeCtx

	// Guarded by tx.mu.
	hooks  []func(context.Context)
	failed error // first failure of a nested call: the scope may only roll back
	end    scopeEnd
}

// scopeCtx is the caller's context carrying a scope under ctxKey, like
// context.WithValue's. Every other method and value is the caller's
// context's, so contexts derived from it (database/sql's, the driver's
// cancellation watch) find the caller's cancellation as they would through
// WithValue and start no goroutine.
type scopeCtx struct {
	context.Context
	sc *scope
}

// Value returns the scope for ctxKey and the caller's value for any other key.
func (c *scopeCtx) Value(key any) any {
	if key == (ctxKey{}) {
		return c.sc
	}
	return c.Context.Value(key)
}

// with returns ctx carrying sc as its innermost scope. The context is sc's
// own field, so sc must not be shared by two calls of with.
func with(ctx context.Context, sc *scope) context.Context {
	sc.prev = current(ctx, nil)
	sc.ctx = scopeCtx{Context: ctx, sc: sc}
	return &sc.ctx
}

// current returns the innermost scope ctx carries for db, or for any
// database when db is nil.
func current(ctx context.Context, db *sql.DB) *scope {
	sc, _ := ctx.Value(ctxKey{}).(*scope)
	for ; sc != nil; sc = sc.prev {
		if db == nil || sc.tx.db == db {
			return sc
		}
	}
	return nil
}

// fail marks sc rollback-only with cause, keeping the first cause.
func (sc *scope) fail(cause error) {
	sc.tx.mu.Lock()
	if sc.failed == nil {
		sc.failed = cause
	}
	sc.tx.mu.Unlock()
}

// failure returns the cause that made sc rollback-only, or nil.
func (sc *scope) failure() error {
	sc.tx.mu.Lock()
	defer sc.tx.mu.Unlock()
	return sc.failed
}

// finish records how sc ended and returns the hooks to run now: those of an
// outermost scope that committed. A released savepoint hands its hooks to its
// parent; a rollback drops them.
func (sc *scope) finish(end scopeEnd) []func(context.Context) {
	sc.tx.mu.Lock()
	defer sc.tx.mu.Unlock()
	hooks := sc.hooks
	sc.hooks, sc.end = nil, end
	switch end {
	case committed:
		return hooks
	case released:
		sc.parent.hooks = append(sc.parent.hooks, hooks...)
	}
	return nil
}

// queue adds fn to the hooks of sc, or of the scope that took them over. It
// reports whether fn must run at once: the transaction already committed.
func (sc *scope) queue(fn func(context.Context)) (runNow bool) {
	sc.tx.mu.Lock()
	defer sc.tx.mu.Unlock()
	for {
		switch sc.end {
		case open:
			sc.hooks = append(sc.hooks, fn)
			return false
		case released:
			sc = sc.parent
		case committed:
			return true
		default: // rolledBack
			return false
		}
	}
}

// From returns the transaction that ctx carries for db, or db itself when ctx
// carries none. Repositories and services call it for every statement, so the
// same code runs inside and outside a transaction.
//
// Once the transaction has ended, statements on the returned Querier fail
// with sql.ErrTxDone: do not keep a transaction's context past its Do call.
func From(ctx context.Context, db *sql.DB) Querier {
	if sc := current(ctx, db); sc != nil {
		return sc.tx.tx
	}
	return db
}

// InTx reports whether ctx carries a transaction on db.
func InTx(ctx context.Context, db *sql.DB) bool { return current(ctx, db) != nil }

// AfterCommit queues fn to run once the outermost transaction in ctx commits.
// It is dropped when the transaction rolls back, when the attempt is retried,
// and when it was queued inside a savepoint that rolled back. Outside a
// transaction fn runs at once.
//
// When ctx carries transactions on several databases, fn belongs to the one
// entered last. Hooks run in the order they were queued, on the goroutine
// that called Do, after Commit returned and the connection went back to the
// pool, with the context given to Do stripped of its cancellation (a hook
// that invalidates a cache must not be cut short by a client that went away
// after the commit). See DoWith for hooks that panic.
func AfterCommit(ctx context.Context, fn func(ctx context.Context)) {
	if sc := current(ctx, nil); sc != nil && !sc.queue(fn) {
		return
	}
	fn(ctx)
}

// runHooks runs every hook in order, even when one panics; the first panic is
// raised again once all have run.
func runHooks(ctx context.Context, hooks []func(context.Context)) {
	var (
		first    any
		panicked bool
	)
	for _, h := range hooks {
		func() {
			defer func() {
				if r := recover(); r != nil && !panicked {
					first, panicked = r, true
				}
			}()
			h(ctx)
		}()
	}
	if panicked {
		panic(first)
	}
}
