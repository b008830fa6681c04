package txn

import (
	"context"
	"database/sql"
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

type ctxKey struct{}

// state is what a transaction started by this package keeps in its context.
type state struct {
	db    *sql.DB
	tx    *sql.Tx
	hooks []func(context.Context)
}

func current(ctx context.Context, db *sql.DB) *state {
	s, _ := ctx.Value(ctxKey{}).(*state)
	if s == nil || (db != nil && s.db != db) {
		return nil
	}
	return s
}

// From returns the transaction that ctx carries for db, or db itself when ctx
// carries none. Repositories and services call it for every statement, so the
// same code runs inside and outside a transaction.
func From(ctx context.Context, db *sql.DB) Querier {
	if s := current(ctx, db); s != nil {
		return s.tx
	}
	return db
}

// InTx reports whether ctx carries a transaction on db.
func InTx(ctx context.Context, db *sql.DB) bool { return current(ctx, db) != nil }

// AfterCommit queues fn to run once the outermost transaction in ctx commits.
// It is dropped when the transaction rolls back. Outside a transaction fn runs
// at once.
func AfterCommit(ctx context.Context, fn func(ctx context.Context)) {
	if s := current(ctx, nil); s != nil {
		s.hooks = append(s.hooks, fn)
		return
	}
	fn(ctx)
}
