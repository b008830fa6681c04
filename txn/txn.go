package txn

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/internal/pause"
)

// ErrRollbackOnly is returned (wrapping the original cause) by a Do call
// whose fn returned nil although a call that joined its transaction failed.
// The joined call's partial work cannot be undone on its own, so the whole
// transaction rolled back. Use Savepoint for calls whose failure the caller
// handles and carries on from.
var ErrRollbackOnly = errors.New("txn: transaction rolled back: a joined call failed")

// ErrPoolTimeout is returned by DoWith when no connection of the pool came
// free within Options.ConnWait: the pool is saturated (or the database too
// slow to accept a new connection). It reports errkind.Unavailable with a
// Retry-After of dialect.RetryAfter, so a client is told 503 at once
// instead of queueing until its own deadline.
var ErrPoolTimeout error = &poolTimeoutError{}

// poolTimeoutError is the type of ErrPoolTimeout.
type poolTimeoutError struct{}

var (
	_ errkind.Kinder       = (*poolTimeoutError)(nil)
	_ errkind.RetryAfterer = (*poolTimeoutError)(nil)
)

func (*poolTimeoutError) Error() string {
	return "txn: no database connection within Options.ConnWait"
}
func (*poolTimeoutError) ErrorKind() errkind.Kind   { return errkind.Unavailable }
func (*poolTimeoutError) RetryAfter() time.Duration { return dialect.RetryAfter }

// DefaultMaxAttempts is how many times Do runs fn when Options.MaxAttempts is
// zero.
const DefaultMaxAttempts = 3

// Propagation says what a Do call does when its context already carries a
// transaction on the same database. Outside a transaction every mode begins
// a new one.
type Propagation uint8

const (
	// Join runs fn in the transaction already in the context (the default).
	// Nothing is begun or committed; an error or panic from fn makes the
	// whole transaction roll back, even if the caller handles the error and
	// returns nil (the outer Do then returns ErrRollbackOnly). A joined call
	// never retries: a retryable error propagates to the outermost call.
	Join Propagation = iota
	// Savepoint runs fn after SAVEPOINT and undoes only fn's work (ROLLBACK
	// TO SAVEPOINT) when it fails; on success the savepoint is released and
	// the outer transaction carries on. Hooks queued inside a savepoint that
	// rolled back are dropped. A retryable error (serialization failure,
	// deadlock) cannot be repaired by a savepoint: it marks the whole
	// transaction for rollback, and the outermost call retries. The same
	// SQL runs on PostgreSQL, MySQL/MariaDB and SQLite. Savepoints nest:
	// do not open them from several goroutines of one transaction at once.
	Savepoint
	// Independent always begins a new transaction on another connection
	// from the pool, commits or rolls it back on its own (with its own
	// retries and hooks), whatever the outer transaction does later. Inside
	// fn, From returns the new transaction. It needs a second connection:
	// with db.SetMaxOpenConns(1) it waits for one forever (or until ctx
	// ends), and on SQLite a writing Independent transaction waits for the
	// write lock the outer one holds, then fails with SQLITE_BUSY.
	Independent
)

// String returns the constant's name.
func (p Propagation) String() string {
	switch p {
	case Join:
		return "Join"
	case Savepoint:
		return "Savepoint"
	case Independent:
		return "Independent"
	}
	return "Propagation(" + strconv.Itoa(int(p)) + ")"
}

// Options configure a Runner (New) and DoWith. The zero value joins an
// outer transaction, begins new ones with the driver's default isolation,
// runs fn up to DefaultMaxAttempts times with a jittered exponential
// backoff and, in a Runner, reports to otel's global providers. An Options
// value holds nothing to close and may be shared by goroutines, provided its
// Backoff is safe for concurrent use.
type Options struct {
	// TxOptions sets the isolation level and read-only flag of a new
	// transaction; nil means the driver's defaults. It is ignored when the
	// call joins a transaction or opens a savepoint.
	TxOptions *sql.TxOptions
	// Propagation is what happens inside an existing transaction; the zero
	// value is Join.
	Propagation Propagation
	// MaxAttempts bounds how many times fn runs when it fails with a
	// retryable error (see IsRetryable). Zero means DefaultMaxAttempts; 1
	// (or any negative value) means one attempt, no retry. It only matters
	// for a call that begins a transaction.
	MaxAttempts int
	// ConnWait bounds how long a new transaction waits for a connection of
	// the pool (db.SetMaxOpenConns), so a saturated pool answers
	// ErrPoolTimeout (503) quickly instead of holding the request until its
	// deadline. Zero means as long as ctx allows. A few hundred
	// milliseconds suits a request path.
	ConnWait time.Duration
	// Backoff returns how long to wait after the given number of failed
	// attempts (1, 2, ...) before the next one. Nil means a delay drawn at
	// random between half and all of 10ms·2^(failures-1), capped at 1s. The
	// wait ends early, with ctx's error, when ctx is done.
	Backoff func(failures int) time.Duration
	// MeterProvider and TracerProvider receive the metrics and spans of
	// a Runner's transactions (see MetricTransactions); nil means otel's
	// global providers. New reads them once; DoWith, which has no
	// long-lived value to hold instruments, reports nothing and ignores
	// them.
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider
	// Telemetry makes DoWith report to a Telemetry built by hand.
	//
	// Deprecated: build a Runner with New, whose MeterProvider and
	// TracerProvider make its instruments once.
	Telemetry *Telemetry
}

func (o Options) attempts() int {
	switch {
	case o.MaxAttempts == 0:
		return DefaultMaxAttempts
	case o.MaxAttempts < 1:
		return 1
	}
	return o.MaxAttempts
}

// Do runs fn in a transaction on db with the zero Options: see DoWith. It
// reports no telemetry; a Runner does.
func Do(ctx context.Context, db *sql.DB, fn func(ctx context.Context) error) error {
	return DoWith(ctx, db, Options{}, fn)
}

// Runner runs transactions on one database with one Options, and reports
// each through OpenTelemetry (see the package documentation): the
// long-lived counterpart of Do and DoWith, whose instruments it makes once.
// Build it with New when the database is opened; the zero Runner is not
// usable. A Runner is safe for concurrent use and holds nothing to close.
type Runner struct {
	db   *sql.DB
	opts Options
	tel  *Telemetry
}

// New returns a Runner of transactions on db with opts, reporting to
// opts.MeterProvider and opts.TracerProvider. A nil db panics.
func New(db *sql.DB, opts Options) *Runner {
	if db == nil {
		panic("txn: New: nil *sql.DB")
	}
	tel := opts.Telemetry
	if tel == nil {
		tel = NewTelemetry(opts.MeterProvider, opts.TracerProvider)
	}
	opts.Telemetry = nil
	return &Runner{db: db, opts: opts, tel: tel}
}

// Do runs fn in a transaction on r's database with r's Options: DoWith,
// reported.
func (r *Runner) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	return doWith(ctx, r.db, r.opts, r.tel, fn)
}

// DoWith is Do with opts in place of r's Options for this call (a
// savepoint, a read-only transaction), reported to r's instruments; the
// providers in opts are ignored.
func (r *Runner) DoWith(ctx context.Context, opts Options, fn func(ctx context.Context) error) error {
	return doWith(ctx, r.db, opts, r.tel, fn)
}

// DB returns the database r runs transactions on, for From.
func (r *Runner) DB() *sql.DB { return r.db }

// DoWith runs fn in a transaction on db. The context fn receives carries the
// transaction: From(ctx, db) returns it, and a Do call inside fn joins it,
// opens a savepoint or begins an independent transaction, as
// opts.Propagation says.
//
// When DoWith begins the transaction, it commits if fn returns nil and rolls
// back if fn returns an error or panics (the panic then goes on unchanged).
// When ctx is cancelled, the transaction is rolled back at once, even while
// fn still runs, so its locks are freed; fn's later statements fail and
// DoWith returns ctx's error. Whatever happens, when DoWith returns the
// transaction has ended and its connection is back in the pool.
//
// Commit and Rollback never run concurrently with a statement: database/sql
// makes them wait for statements in flight on the transaction (Rollback and
// Commit also cancel open result sets), for example on goroutines fn started.
// fn must still wait for such goroutines before it returns, or their work
// may be cut off.
//
// If the attempt fails with a retryable error (IsRetryable: serialization
// failure, deadlock, lock timeout, changed record), or BEGIN fails on a lost
// connection (driver.ErrBadConn, PostgreSQL 57P01, MySQL server gone, …)
// before any statement ran, the transaction is rolled back, the hooks queued
// by AfterCommit are dropped and fn runs again in a new transaction, up to
// opts.MaxAttempts times in all. fn must therefore have no effects outside
// the database other than through AfterCommit. When the last attempt fails
// with a retryable error, the error wraps a *RetryError.
//
// Errors of the database are returned through dialect.Wrap, so that they
// report their errkind kind: a lost connection or a full server is
// Unavailable (503 with Retry-After), a statement cancelled at its deadline
// Timeout, a retryable failure that outlived its attempts Unavailable. The
// driver's error stays in the chain for errors.Is and errors.As; errors fn
// returns that already report a kind, and errors of no database class, are
// returned as they are.
//
// After the commit DoWith runs the hooks queued with AfterCommit, in order,
// and returns nil: a nil error means the transaction committed, whatever
// the hooks do. A hook that panics does not stop the others; once all have
// run, DoWith panics again with the first hook's panic value.
//
// DoWith reports no telemetry (unless opts.Telemetry, deprecated, is set):
// a Runner, built once, does.
func DoWith(ctx context.Context, db *sql.DB, opts Options, fn func(ctx context.Context) error) error {
	return doWith(ctx, db, opts, opts.Telemetry, fn)
}

// doWith is DoWith reporting to t; a nil t reports nothing.
func doWith(ctx context.Context, db *sql.DB, opts Options, t *Telemetry, fn func(ctx context.Context) error) error {
	if sc := current(ctx, db); sc != nil {
		switch opts.Propagation {
		case Join:
			return join(ctx, sc, fn)
		case Savepoint:
			return savepoint(ctx, sc, fn)
		}
	}
	if opts.Propagation > Independent {
		return fmt.Errorf("txn: unknown %v", opts.Propagation)
	}
	return run(ctx, db, opts, t, fn)
}

// run begins the transaction and retries it, reporting to t (nil: no
// reports).
func run(ctx context.Context, db *sql.DB, opts Options, t *Telemetry, fn func(ctx context.Context) error) (err error) {
	ctx, span := t.start(ctx, db)
	committed := false
	defer func() { t.finish(ctx, span, committed, err) }() // also when fn or a hook panics
	max := opts.attempts()
	for n := 1; ; n++ {
		t.attempted(ctx)
		hooks, err := attempt(ctx, db, opts, fn)
		if err == nil {
			committed = true
			if len(hooks) > 0 { // the connection is back in the pool by now
				runHooks(context.WithoutCancel(ctx), hooks)
			}
			return nil
		}
		if !retryable(err) || ctx.Err() != nil {
			return dialect.Wrap(err)
		}
		if n >= max {
			return dialect.Wrap(&RetryError{Attempts: n, Err: err})
		}
		t.retry(ctx, span, err)
		if werr := pause.For(ctx, opts.delay(n)); werr != nil {
			return fmt.Errorf("txn: %w while waiting to retry: %w", werr, &RetryError{Attempts: n, Err: err})
		}
	}
}

// attempt runs fn once in a new transaction and returns the hooks to run
// after its commit. When it returns, the transaction has ended and its
// connection is back in the pool, even when ctx was cancelled.
//
// The transaction runs on ctx: database/sql rolls it back when ctx ends,
// even while fn still runs, and a BEGIN on a hung connection ends with ctx.
func attempt(ctx context.Context, db *sql.DB, opts Options, fn func(ctx context.Context) error) (hooks []func(context.Context), err error) {
	conn, err := acquire(ctx, db, opts.ConnWait)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// BEGIN runs on ctx, so a BEGIN on a hung connection ends with ctx.
	// database/sql then watches ctx for the transaction and rolls it back
	// when ctx ends, even while fn runs. That rollback holds the
	// connection's lock (sql.Conn's closemu) until it is done, so
	// conn.Close above waits for it: the connection is back in the pool
	// when attempt returns.
	tx, err := conn.BeginTx(ctx, opts.TxOptions)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil { // BEGIN was cut at ctx's end
			return nil, fmt.Errorf("txn: begin: %w", cerr)
		}
		if dialect.Classify(err) == dialect.ConnectionLost {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // discard the dead connection
		}
		return nil, &beginError{err}
	}
	r := &struct { // one allocation for the transaction, its scope and fn's context
		t  dbTx
		sc scope
	}{t: dbTx{db: db, tx: tx}}
	sc := &r.sc
	sc.tx = &r.t
	done := false
	defer func() {
		if !done { // fn panicked or called runtime.Goexit
			_ = tx.Rollback()
			sc.finish(rolledBack)
		}
	}()
	err = fn(with(ctx, sc))
	done = true
	if err == nil {
		if cause := sc.failure(); cause != nil {
			err = fmt.Errorf("%w: %w", ErrRollbackOnly, cause)
		} else if cerr := ctx.Err(); cerr != nil {
			err = fmt.Errorf("txn: %w", cerr)
		}
	}
	if err != nil {
		rbErr := tx.Rollback()
		sc.finish(rolledBack)
		if rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return nil, errors.Join(err, fmt.Errorf("txn: rollback: %w", rbErr))
		}
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		sc.finish(rolledBack)
		if cerr := ctx.Err(); cerr != nil && errors.Is(err, sql.ErrTxDone) {
			err = cerr // the cancellation rolled back first
		}
		return nil, fmt.Errorf("txn: commit: %w", err)
	}
	return sc.finish(committed), nil
}

// acquire takes a connection from db's pool, waiting at most wait (if
// positive) beyond which it returns ErrPoolTimeout.
func acquire(ctx context.Context, db *sql.DB, wait time.Duration) (*sql.Conn, error) {
	if wait <= 0 {
		conn, err := db.Conn(ctx)
		if err != nil {
			return nil, &beginError{err}
		}
		return conn, nil
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	conn, err := db.Conn(wctx)
	switch {
	case err == nil:
		return conn, nil
	case ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		return nil, ErrPoolTimeout
	}
	return nil, &beginError{err}
}

// join runs fn in sc's transaction; a failure makes sc rollback-only.
func join(ctx context.Context, sc *scope, fn func(ctx context.Context) error) error {
	done := false
	defer func() {
		if !done {
			sc.fail(errPanicked)
		}
	}()
	err := fn(ctx)
	done = true
	if err != nil {
		sc.fail(err)
	}
	return err
}

// errPanicked is the rollback-only cause of a nested call that panicked.
var errPanicked = errors.New("txn: a nested call panicked")

// savepoint runs fn inside a savepoint of parent's transaction.
func savepoint(ctx context.Context, parent *scope, fn func(ctx context.Context) error) error {
	t := parent.tx
	t.mu.Lock()
	t.savepoints++
	name := "svckit_sp_" + strconv.Itoa(t.savepoints)
	t.mu.Unlock()
	if _, err := t.tx.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
		err = fmt.Errorf("txn: savepoint: %w", err)
		parent.fail(err)
		return err
	}
	sc := &scope{tx: t, parent: parent}
	done := false
	defer func() {
		if !done { // fn panicked: whoever recovers cannot commit its work
			sc.finish(rolledBack)
			parent.fail(errPanicked)
		}
	}()
	err := fn(with(ctx, sc))
	done = true
	if err == nil {
		if cause := sc.failure(); cause != nil {
			err = fmt.Errorf("%w: %w", ErrRollbackOnly, cause)
		}
	}
	if err != nil {
		if IsRetryable(err) {
			parent.fail(err)
		}
		_, rbErr := t.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+name)
		sc.finish(rolledBack)
		if rbErr != nil {
			rbErr = fmt.Errorf("txn: rollback to savepoint: %w", rbErr)
			parent.fail(rbErr)
			return errors.Join(err, rbErr)
		}
		return err
	}
	if _, err := t.tx.ExecContext(ctx, "RELEASE SAVEPOINT "+name); err != nil {
		sc.finish(rolledBack)
		err = fmt.Errorf("txn: release savepoint: %w", err)
		parent.fail(err)
		return err
	}
	sc.finish(released)
	return nil
}
