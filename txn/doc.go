// Package txn runs functions in database transactions that travel in the
// context, so repositories and services compose without passing *sql.Tx
// around.
//
// Do begins a transaction, runs fn with a context that carries it, and
// commits when fn returns nil or rolls back when it returns an error or
// panics. Code inside fn finds the transaction with From(ctx, db), which
// returns the pool when ctx carries none, so the same repository code runs
// inside and outside a transaction:
//
//	err := txn.Do(ctx, db, func(ctx context.Context) error {
//		if _, err := txn.From(ctx, db).ExecContext(ctx, debit, amount, from); err != nil {
//			return err
//		}
//		txn.AfterCommit(ctx, func(ctx context.Context) { cache.Delete(ctx, key) })
//		return other.Service(ctx) // its own txn.Do joins this transaction
//	})
//
// A Do call inside a transaction joins it by default; Options.Propagation
// selects a savepoint or an independent transaction instead. Only the
// outermost call commits, and only it retries: when the transaction fails
// with a serialization failure, a deadlock, a lock timeout or MariaDB's
// "record has changed" (see IsRetryable), or its BEGIN fails on a lost
// connection before any statement ran, the whole fn
// runs again in a new transaction, a bounded number of times, after a
// jittered backoff (which also gives the winner of a deadlock time to commit
// before the victim takes its locks again). Hooks queued with AfterCommit run
// once, after the outermost commit, and are dropped on rollback and before a
// retry.
//
// # Errors
//
// Errors of the database come back through dialect.Wrap, so they report
// their errkind kind: a lost connection or a full server is Unavailable
// (503 with Retry-After), a statement cancelled at a deadline Timeout (504),
// a retryable failure that outlived its attempts Unavailable. With
// Options.ConnWait, a pool with no free connection in time is
// ErrPoolTimeout, Unavailable as well, instead of a wait until the
// request's deadline.
//
// # SQLite
//
// SQLite allows one writer at a time. A transaction that begins as a reader
// (BEGIN, the default) and then writes can fail at once with SQLITE_BUSY or
// SQLITE_BUSY_SNAPSHOT, whatever the busy timeout. Open the database so that
// transactions begin with BEGIN IMMEDIATE, and with a busy timeout, so that
// writers queue for the lock instead; with modernc.org/sqlite:
//
//	file:app.db?_txlock=immediate&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)
//
// txn cannot see the DSN and does not check it. With _txlock=immediate,
// modernc.org/sqlite still begins a transaction with TxOptions
// &sql.TxOptions{ReadOnly: true} as a plain (deferred) read transaction,
// which in WAL mode runs beside the writer. IsRetryable treats SQLITE_BUSY
// and SQLITE_BUSY_SNAPSHOT as retryable, so a writer that still times out,
// or a deferred one that lost its snapshot, runs again from the start. A
// small pool (db.SetMaxOpenConns with a few connections) keeps writers from
// piling up on the file lock.
//
// # Row locks
//
// On PostgreSQL and MySQL, lock the rows a transaction will update with
// SELECT ... FOR UPDATE, always in the same order (for example by primary
// key), so that two transactions never wait on each other. On SQLite the
// IMMEDIATE transaction itself is the lock.
//
// # Telemetry
//
// A transaction begun by a Runner reports through OpenTelemetry to the
// Options.MeterProvider and TracerProvider New was given (nil means the
// global providers): MetricTransactions by result, MetricAttempts,
// MetricRetries by reason, and a SpanTransaction span under a traced
// caller. New makes the instruments once, so build the Runner when the
// database is opened and use it for every transaction:
//
//	tx := txn.New(db, txn.Options{MeterProvider: mp, TracerProvider: tp})
//	err := tx.Do(ctx, func(ctx context.Context) error { … })
//
// The functions Do and DoWith have nowhere to keep instruments and report
// nothing. Counting a transaction allocates nothing.
package txn
