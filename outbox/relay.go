package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/opt"
)

// Publisher hands messages to a broker. natsjs.Publisher publishes to NATS
// JetStream; Local hands them to the consumers of this process.
type Publisher interface {
	// Publish publishes msgs in order and returns how many of them, from
	// the first, the broker has accepted, with the error that stopped the
	// rest. A message counted must be durable at the broker; one not
	// counted is published again later, so the broker should drop a
	// message whose ID it has seen (JetStream's Nats-Msg-Id), and
	// consumers absorb the rest (the inbox).
	Publish(ctx context.Context, msgs []Message) (int, error)
}

// Defaults of RelayOptions.
const (
	DefaultBatchSize       = 500
	MaxBatchSize           = 5000
	DefaultPollInterval    = 100 * time.Millisecond
	DefaultRetention       = time.Hour
	DefaultCleanupInterval = time.Minute
	DefaultLeaseTTL        = 10 * time.Second
	DefaultMaxPartitions   = Partitions
	DefaultStatsInterval   = time.Second
)

// RelayOptions configure NewRelay. The zero value publishes up to
// DefaultBatchSize events a round, polls every DefaultPollInterval when
// idle, backs off from 100ms to 5s while publishing fails, and deletes
// published events after DefaultRetention.
type RelayOptions struct {
	// BatchSize is the most events one round publishes. Zero or negative
	// means DefaultBatchSize; above MaxBatchSize means MaxBatchSize.
	BatchSize int
	// PollInterval is how long an idle relay waits before it looks for
	// events emitted by other processes; events emitted through the same
	// Outbox wake it at their commit. Zero or negative means
	// DefaultPollInterval.
	PollInterval time.Duration
	// Backoff returns how long to wait after the given number of failed
	// rounds in a row (1, 2, …). Nil means a delay drawn between half and
	// all of 100ms·2^(failures-1), capped at 5s.
	Backoff func(failures int) time.Duration
	// Retention is how long published events stay in the table before the
	// relay deletes them. Zero means DefaultRetention; negative keeps them
	// (delete them yourself).
	Retention time.Duration
	// CleanupInterval is how often the relay deletes published events
	// older than Retention. Zero or negative means DefaultCleanupInterval.
	CleanupInterval time.Duration
	// StatsInterval is how often the relay counts the events waiting and
	// reads the oldest one's age (Stats, MetricDepth, MetricOldestAge).
	// Zero or negative means DefaultStatsInterval.
	StatsInterval time.Duration
	// MaxPartitions is how many key partitions a relay on PostgreSQL or
	// MySQL holds in one round (of Partitions). Zero or negative means
	// DefaultMaxPartitions, all of them: a relay publishes every pending
	// event it finds in one round, and relays share the work by taking
	// what the others do not hold (SKIP LOCKED). Fewer spreads the work
	// over more relays but delays events: with a quarter of the
	// partitions a round, an event may wait four rounds. Above
	// Partitions means Partitions.
	MaxPartitions int
	// LeaseTTL is, on SQLite, how long the lease of the one publishing
	// relay lasts without renewal: a relay that died without Close is
	// replaced after at most this long. Zero or negative means
	// DefaultLeaseTTL.
	LeaseTTL time.Duration
	// Owner names this relay in the SQLite lease. Empty means a random
	// name.
	Owner string
}

// Stats is what the relay last read of its outbox.
type Stats struct {
	// Depth is how many events wait to be published.
	Depth int64
	// OldestAge is the age of the oldest event waiting; 0 when none waits.
	OldestAge time.Duration
	// At is when they were read; the zero time before the first reading.
	At time.Time
	// Failures is how many rounds in a row have failed; 0 after a round
	// that published or found nothing to do.
	Failures int
	// Err is the error of the last failed round, nil after a good one.
	Err error
}

// Relay publishes the events of an outbox once they committed, in the order
// of their keys, and deletes them some time after. Build it with NewRelay
// and run it with Run.
//
// Many relays may run on one database, in one process or many: on
// PostgreSQL and MySQL each round locks the partitions of the keys it
// publishes (SELECT … FOR UPDATE SKIP LOCKED on svckit_outbox_parts), so
// relays share the work and no two publish events of one key at once; on
// SQLite, which has one writer, one relay at a time holds a lease (in
// svckit_outbox_leases) and the others wait for it to lapse.
//
// A relay never drops an event: an event is marked published only after
// the broker accepted it. A relay that dies between the broker's
// acceptance and the mark publishes the event again; JetStream drops it by
// its Nats-Msg-Id within its duplicate window, and consumers' inboxes drop
// what is left.
//
// The zero Relay is not usable. A Relay is safe for concurrent use; Run it
// once at a time. It holds nothing to close: Run's end releases it.
type Relay struct {
	o   *Outbox
	pub Publisher

	batch, maxParts        int
	poll, cleanEvery, ttl  time.Duration
	statsEvery, retention  time.Duration
	backoff                func(int) time.Duration
	owner                  string
	heads, lockParts, rows string
	lockHeads              string // PostgreSQL: heads and lockParts in one
	mark, clean, stats     string

	// aux is the relay of an Invalidator: it publishes the events of one
	// type (whose effects are idempotent and commutative) without
	// partition locks, and reads no statistics.
	aux bool
	// busy: the last round published something (roundLocked).
	busy atomic.Bool

	mu    sync.Mutex
	st    Stats
	depth atomic.Int64
	age   atomic.Int64 // microseconds
}

// NewRelay returns a relay that publishes o's events with pub. It panics if
// o or pub is nil.
func NewRelay(o *Outbox, pub Publisher, opts RelayOptions) *Relay {
	if o == nil || pub == nil {
		panic("outbox: NewRelay: nil outbox or publisher")
	}
	return newRelay(o, pub, opts, "")
}

// newRelay returns a relay of the events of type only or, when only is
// empty, of every type but the Invalidators' (InvalidationPrefix). only
// must be a valid type: it is written into the statements.
func newRelay(o *Outbox, pub Publisher, opts RelayOptions, only string) *Relay {
	r := &Relay{
		o:          o,
		pub:        pub,
		batch:      min(opt.PositiveOr(opts.BatchSize, DefaultBatchSize), MaxBatchSize),
		maxParts:   min(opt.PositiveOr(opts.MaxPartitions, DefaultMaxPartitions), Partitions),
		poll:       opt.PositiveOr(opts.PollInterval, DefaultPollInterval),
		cleanEvery: opt.PositiveOr(opts.CleanupInterval, DefaultCleanupInterval),
		statsEvery: opt.PositiveOr(opts.StatsInterval, DefaultStatsInterval),
		ttl:        opt.PositiveOr(opts.LeaseTTL, DefaultLeaseTTL),
		retention:  opts.Retention,
		backoff:    opts.Backoff,
		owner:      opts.Owner,
	}
	if r.retention == 0 {
		r.retention = DefaultRetention
	}
	if r.backoff == nil {
		r.backoff = defaultBackoff
	}
	if r.owner == "" {
		r.owner = fmt.Sprintf("relay-%016x", rand.Uint64())
	}
	d := o.d
	cols := `seq, id, type, event_key, payload, headers, created_at`
	// The types are checked words and dots (validType): safe as literals.
	types := ` AND type NOT LIKE '` + InvalidationPrefix + `%'`
	if only != "" {
		types = ` AND type = '` + only + `'`
		r.aux = true
	}
	pending := `published_at IS NULL` + types
	r.heads = `SELECT seq, part FROM svckit_outbox WHERE ` + pending + ` ORDER BY seq LIMIT ` + fmt.Sprint(r.batch)
	r.lockParts = `SELECT part FROM svckit_outbox_parts WHERE part IN (%s) ORDER BY part FOR UPDATE SKIP LOCKED`
	if d == dialect.Postgres {
		// heads and lockParts in one statement: the partitions of the
		// oldest pending events, oldest first, those no other relay
		// holds. The rows are read by a later statement, whose snapshot
		// follows the lock, so that it sees what the partitions' last
		// holder marked.
		r.lockHeads = `SELECT p.part FROM svckit_outbox_parts p JOIN (SELECT part, MIN(seq) AS head FROM (` + r.heads +
			`) h GROUP BY part) q ON q.part = p.part ORDER BY q.head LIMIT ` + fmt.Sprint(r.maxParts) + ` FOR UPDATE OF p SKIP LOCKED`
	}
	// A format for fmt.Sprintf: its own percent signs doubled.
	r.rows = `SELECT ` + cols + ` FROM svckit_outbox WHERE ` + strings.ReplaceAll(pending, "%", "%%") + ` AND part IN (%s) ORDER BY seq LIMIT ` + fmt.Sprint(r.batch)
	if d == dialect.SQLite || r.aux {
		r.rows = `SELECT ` + cols + ` FROM svckit_outbox WHERE ` + pending + ` ORDER BY seq LIMIT ` + fmt.Sprint(r.batch)
	}
	r.mark = `UPDATE svckit_outbox SET published_at = ` + d.Placeholder(1) + ` WHERE seq IN (%s)`
	r.clean = d.Rebind(`DELETE FROM svckit_outbox WHERE published_at IS NOT NULL AND published_at < ?`)
	r.stats = `SELECT COUNT(*), MIN(created_at) FROM svckit_outbox WHERE published_at IS NULL`
	return r
}

// defaultBackoff is 100ms·2^(n-1) capped at 5s, drawn between half and
// all of it.
func defaultBackoff(n int) time.Duration {
	d := 5 * time.Second
	if n < 7 {
		d = min(100*time.Millisecond<<(n-1), d)
	}
	return d/2 + rand.N(d/2+1)
}

// Stats returns what the relay last read of the outbox and how its last
// rounds went.
func (r *Relay) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}

// Run publishes events until ctx ends, then returns nil. A round that
// fails (the broker or the database is down) is tried again after the
// backoff; Stats reports the failures meanwhile. On SQLite, Run releases
// its lease before it returns, so a successor starts at once.
//
// While it runs, the relay reports MetricDepth and MetricOldestAge.
func (r *Relay) Run(ctx context.Context) error {
	if !r.aux {
		reg, err := r.observe()
		if err == nil {
			defer func() { _ = reg.Unregister() }()
		}
	}
	wake, stop := r.o.waker()
	defer stop()
	if r.o.d == dialect.SQLite && !r.aux {
		defer func() { _ = r.o.unlease(context.WithoutCancel(ctx), relayLease, r.owner) }()
	}
	var (
		failures  int
		lastClean time.Time
		lastStats time.Time
		timer     = time.NewTimer(0)
	)
	defer timer.Stop()
	<-timer.C
	for ctx.Err() == nil {
		n, err := r.Round(ctx)
		if ctx.Err() != nil {
			return nil
		}
		now := time.Now()
		if !r.aux && now.Sub(lastStats) >= r.statsEvery {
			lastStats = now
			r.readStats(ctx)
		}
		if r.retention > 0 && now.Sub(lastClean) >= r.cleanEvery {
			lastClean = now
			_, _ = r.Clean(ctx)
		}
		r.mu.Lock()
		if err != nil {
			failures++
		} else {
			failures = 0
		}
		r.st.Failures, r.st.Err = failures, err
		r.mu.Unlock()
		var wait time.Duration
		switch {
		case err != nil:
			wait = r.backoff(failures)
		case n > 0:
			continue // there may be more
		default:
			wait = r.poll
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-wake:
			if !timer.Stop() {
				<-timer.C
			}
			if err != nil { // a wake-up does not cut a backoff short
				timer.Reset(wait)
				select {
				case <-ctx.Done():
					return nil
				case <-timer.C:
				}
			}
		}
	}
	return nil
}

// Round publishes one batch of committed events, if the relay may (its
// partitions or, on SQLite, the lease), and returns how many it published.
// Run calls it in a loop; tests and tools may call it directly.
func (r *Relay) Round(ctx context.Context) (int, error) {
	if r.aux {
		return r.roundUnordered(ctx)
	}
	if r.o.d == dialect.SQLite {
		return r.roundLease(ctx)
	}
	return r.roundLocked(ctx)
}

// roundLocked is a round on PostgreSQL and MySQL: read the oldest pending
// events' partitions, lock those no other relay holds, then publish their
// events in one transaction that marks them published.
//
// On PostgreSQL, while the rounds find events, the first two steps are
// one statement (lockHeads), so a busy round is five round trips: begin,
// lock, read, mark, commit; each counts in the lag of the events that
// commit while it runs. An idle relay first looks for pending events
// without a transaction, one round trip a poll.
func (r *Relay) roundLocked(ctx context.Context) (n int, err error) {
	busy := r.lockHeads != "" && r.busy.Load()
	defer func() { r.busy.Store(n > 0) }()
	var parts []any
	if !busy {
		var err error
		if parts, err = r.pendingParts(ctx); err != nil || len(parts) == 0 {
			return 0, err
		}
	}
	tx, err := r.o.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return 0, fmt.Errorf("outbox: relay: begin: %w", dialect.Wrap(err))
	}
	defer tx.Rollback()
	var locked []any
	if busy {
		locked, err = scanInts(tx.QueryContext(ctx, r.lockHeads))
	} else {
		locked, err = scanInts(tx.QueryContext(ctx, fmt.Sprintf(r.lockParts, list(r.o.d, 1, len(parts))), parts...))
	}
	if err != nil {
		return 0, fmt.Errorf("outbox: relay: lock partitions: %w", dialect.Wrap(err))
	}
	if len(locked) == 0 {
		return 0, nil // other relays hold them all
	}
	msgs, err := r.read(ctx, tx, fmt.Sprintf(r.rows, list(r.o.d, 1, len(locked))), locked...)
	if err != nil {
		return 0, err
	}
	n, perr := r.publish(ctx, msgs)
	if n > 0 {
		if err := r.markPublished(ctx, tx, msgs[:n]); err != nil {
			return 0, err
		}
		if err := tx.Commit(); err != nil {
			return 0, fmt.Errorf("outbox: relay: commit: %w", dialect.Wrap(err))
		}
		r.published(ctx, msgs[:n])
	}
	return n, perr
}

// pendingParts returns the partitions of the oldest pending events, in the
// order of their oldest event, at most maxParts.
func (r *Relay) pendingParts(ctx context.Context) ([]any, error) {
	rows, err := r.o.db.QueryContext(ctx, r.heads)
	if err != nil {
		return nil, fmt.Errorf("outbox: relay: read pending: %w", dialect.Wrap(err))
	}
	defer rows.Close()
	var (
		seen  [Partitions]bool
		parts []any
	)
	for rows.Next() {
		var seq, part int64
		if err := rows.Scan(&seq, &part); err != nil {
			return nil, fmt.Errorf("outbox: relay: read pending: %w", dialect.Wrap(err))
		}
		if part >= 0 && part < Partitions && !seen[part] && len(parts) < r.maxParts {
			seen[part] = true
			parts = append(parts, part)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox: relay: read pending: %w", dialect.Wrap(err))
	}
	return parts, nil
}

// relayLease names the SQLite relay's lease.
const relayLease = "relay"

// roundLease is a round on SQLite: take or renew the lease, publish the
// oldest pending events and mark them, each write a short transaction of
// its own (the relay never holds SQLite's write lock while it publishes,
// so the in-process consumers' transactions go on).
func (r *Relay) roundLease(ctx context.Context) (int, error) {
	held, err := r.o.lease(ctx, relayLease, r.owner, r.ttl)
	if err != nil || !held { // another relay holds the lease
		return 0, err
	}
	msgs, err := r.read(ctx, r.o.db, r.rows)
	if err != nil {
		return 0, err
	}
	n, perr := r.publish(ctx, msgs)
	if n > 0 {
		if err := r.markPublished(ctx, r.o.db, msgs[:n]); err != nil {
			return 0, err
		}
		r.published(ctx, msgs[:n])
	}
	return n, perr
}

// roundUnordered is a round of an Invalidator's relay: publish the oldest
// pending events of its type and mark them, with no lock and no lease.
// Their effects (deletes) are idempotent and commute, so relays of many
// processes may publish one event at once, and one that cannot (its
// instance cut off from the cache) holds up no other.
func (r *Relay) roundUnordered(ctx context.Context) (int, error) {
	msgs, err := r.read(ctx, r.o.db, r.rows)
	if err != nil {
		return 0, err
	}
	n, perr := r.publish(ctx, msgs)
	if n > 0 {
		if err := r.markPublished(ctx, r.o.db, msgs[:n]); err != nil {
			return 0, err
		}
		r.published(ctx, msgs[:n])
	}
	return n, perr
}

// querier is *sql.DB or *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// read reads pending events.
func (r *Relay) read(ctx context.Context, q querier, query string, args ...any) ([]Message, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("outbox: relay: read events: %w", dialect.Wrap(err))
	}
	defer rows.Close()
	var msgs []Message
	for rows.Next() {
		var (
			m       Message
			payload []byte
			headers []byte
			micros  int64
		)
		if err := rows.Scan(&m.Seq, &m.ID, &m.Type, &m.Key, &payload, &headers, &micros); err != nil {
			return nil, fmt.Errorf("outbox: relay: read events: %w", dialect.Wrap(err))
		}
		m.Payload = payload
		m.Time = time.UnixMicro(micros)
		if m.Headers, err = decodeHeaders(headers); err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox: relay: read events: %w", dialect.Wrap(err))
	}
	return msgs, nil
}

// publish hands msgs to the publisher and counts the failures.
func (r *Relay) publish(ctx context.Context, msgs []Message) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	n, err := r.pub.Publish(ctx, msgs)
	n = max(0, min(n, len(msgs)))
	if err == nil && n < len(msgs) {
		err = fmt.Errorf("outbox: relay: the publisher accepted %d of %d events", n, len(msgs))
	}
	if err != nil {
		for range len(msgs) - n {
			r.o.tel.failures.Inc(ctx)
		}
		if !errors.Is(err, context.Canceled) || ctx.Err() == nil {
			err = fmt.Errorf("outbox: relay: publish: %w", err)
		}
	}
	return n, err
}

// markPublished stamps msgs as published.
func (r *Relay) markPublished(ctx context.Context, q querier, msgs []Message) error {
	args := make([]any, 0, len(msgs)+1)
	args = append(args, time.Now().UnixMicro())
	for _, m := range msgs {
		args = append(args, m.Seq)
	}
	if _, err := q.ExecContext(ctx, fmt.Sprintf(r.mark, list(r.o.d, 2, len(msgs))), args...); err != nil {
		return fmt.Errorf("outbox: relay: mark published: %w", dialect.Wrap(err))
	}
	return nil
}

// published counts msgs and records their lag.
func (r *Relay) published(ctx context.Context, msgs []Message) {
	now := time.Now()
	lag := r.o.tel.lag.Enabled(ctx)
	for _, m := range msgs {
		r.o.tel.published.Inc(ctx)
		if lag {
			r.o.tel.lag.Record(ctx, now.Sub(m.Time).Seconds())
		}
	}
}

// Clean deletes the events published more than Retention ago and returns
// how many went. Run calls it every CleanupInterval.
func (r *Relay) Clean(ctx context.Context) (int64, error) {
	if r.retention < 0 {
		return 0, nil
	}
	res, err := r.o.db.ExecContext(ctx, r.clean, time.Now().Add(-r.retention).UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("outbox: relay: clean: %w", dialect.Wrap(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("outbox: relay: clean: %w", dialect.Wrap(err))
	}
	return n, nil
}

// readStats counts the pending events and reads the oldest one's age.
func (r *Relay) readStats(ctx context.Context) {
	var (
		n      int64
		oldest sql.NullInt64
	)
	if err := r.o.db.QueryRowContext(ctx, r.stats).Scan(&n, &oldest); err != nil {
		return
	}
	now := time.Now()
	var age time.Duration
	if oldest.Valid {
		age = max(0, now.Sub(time.UnixMicro(oldest.Int64)))
	}
	r.depth.Store(n)
	r.age.Store(age.Microseconds())
	r.mu.Lock()
	r.st.Depth, r.st.OldestAge, r.st.At = n, age, now
	r.mu.Unlock()
}

// observe registers the depth and age gauges.
func (r *Relay) observe() (metric.Registration, error) {
	m := r.o.tel.meter
	depth, err := m.Int64ObservableGauge(MetricDepth, metric.WithUnit("{event}"),
		metric.WithDescription("Events waiting to be published."))
	if err != nil {
		return nil, err
	}
	age, err := m.Float64ObservableGauge(MetricOldestAge, metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest event waiting to be published."))
	if err != nil {
		return nil, err
	}
	return m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(depth, r.depth.Load())
		o.ObserveFloat64(age, float64(r.age.Load())/1e6)
		return nil
	}, depth, age)
}

// list returns n placeholders of d from the from-th, comma-separated.
func list(d dialect.Dialect, from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.Placeholder(from + i))
	}
	return b.String()
}

// scanInts reads one integer column.
func scanInts(rows *sql.Rows, err error) ([]any, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []any
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
