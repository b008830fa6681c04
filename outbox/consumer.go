package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/opt"
	"github.com/svckit/svckit/internal/pause"
	"github.com/svckit/svckit/txn"
)

// Handler applies one event. It runs in a transaction on the outbox's
// database (its statements use txn.From(ctx, db)) that also records the
// event in the inbox, so its effect commits once per event id, however
// often the event is delivered. It must have no effect outside that
// database other than through txn.AfterCommit.
type Handler func(ctx context.Context, m Message) error

// DefaultMaxDeliveries is how many times a consumer tries an event when
// ConsumerOptions.MaxDeliveries is zero.
const DefaultMaxDeliveries = 5

// ConsumerOptions configure NewConsumer. The zero value tries an event
// DefaultMaxDeliveries times, 100ms·2^(n-1) apart (at most 5s), then
// counts it dead-lettered and goes on.
type ConsumerOptions struct {
	// MaxDeliveries is how many times an event is handed to the handler
	// before it is dead-lettered. Zero or negative means
	// DefaultMaxDeliveries.
	MaxDeliveries int
	// Backoff returns how long to wait after the given number of failed
	// deliveries (1, 2, …) before the next. Nil means a delay drawn
	// between half and all of 100ms·2^(failures-1), capped at 5s.
	Backoff func(failures int) time.Duration
	// DeadLetter receives an event that failed its last delivery, with the
	// handler's last error. natsjs publishes it to the dead-letter subject.
	// Nil means the event is only counted (MetricDeliveries,
	// dead_lettered). An error from it leaves the event undelivered: the
	// broker delivers it again later.
	DeadLetter func(ctx context.Context, m Message, cause error) error
	// Txn configures the handler's transaction (isolation, retries); its
	// Propagation is ignored (the handler always runs in a new
	// transaction), and so are its providers: the transaction reports to
	// the outbox's Options.MeterProvider and TracerProvider.
	Txn txn.Options
}

// ErrInvalidConsumer is wrapped by the panic of NewConsumer for a name that
// is not 1 to 64 bytes of [A-Za-z0-9_-].
var ErrInvalidConsumer = errors.New("outbox: consumer name: want 1 to 64 bytes of [A-Za-z0-9_-]")

// Consumer applies events with its Handler, once per event id (the inbox),
// trying again after a failure and dead-lettering an event that keeps
// failing. A broker adapter (natsjs.Subscribe, Local) hands it the
// messages. Build it with NewConsumer.
//
// The zero Consumer is not usable. A Consumer is safe for concurrent use;
// it holds nothing to close.
type Consumer struct {
	o       *Outbox
	name    string
	h       Handler
	max     int
	backoff func(int) time.Duration
	dead    func(context.Context, Message, error) error
	txOpts  txn.Options
	tel     *consumerTelemetry

	insert string
}

// NewConsumer returns the consumer name of o's database: its inbox rows
// carry name, and a broker adapter names its durable subscription after
// it. It panics if o or h is nil or name is not 1 to 64 bytes of
// [A-Za-z0-9_-] (the name is fixed in code, like a table's).
func NewConsumer(o *Outbox, name string, h Handler, opts ConsumerOptions) *Consumer {
	if o == nil || h == nil {
		panic("outbox: NewConsumer: nil outbox or handler")
	}
	if !word(name, 64) {
		panic(fmt.Errorf("%w: %q", ErrInvalidConsumer, name))
	}
	c := &Consumer{
		o:       o,
		name:    name,
		h:       h,
		max:     opt.PositiveOr(opts.MaxDeliveries, DefaultMaxDeliveries),
		backoff: opts.Backoff,
		dead:    opts.DeadLetter,
		txOpts:  opts.Txn,
		tel:     o.tel.consumer(name, o.prop),
		insert:  o.d.Rebind(`INSERT INTO svckit_outbox_inbox (consumer, event_id, applied_at) VALUES (?, ?, ?)`),
	}
	c.txOpts.Propagation = txn.Independent
	if c.backoff == nil {
		c.backoff = defaultBackoff
	}
	return c
}

// Name returns the consumer's name.
func (c *Consumer) Name() string { return c.name }

// MaxDeliveries returns how many times the consumer tries an event.
func (c *Consumer) MaxDeliveries() int { return c.max }

// errSeen rolls back the transaction of an event the inbox has.
var errSeen = errors.New("outbox: event already applied")

// Apply runs the handler for m once: in one transaction it records m.ID in
// the inbox and runs the handler. It returns false, and runs nothing, when
// the inbox has m.ID already (a duplicate delivery); when another delivery
// of m is being applied at the same moment, it waits for that one's
// transaction and then answers false if it committed.
func (c *Consumer) Apply(ctx context.Context, m Message) (applied bool, err error) {
	if m.ID == "" {
		return false, fmt.Errorf("%w: a message without an id", ErrInvalid)
	}
	err = c.o.tx.DoWith(ctx, c.txOpts, func(ctx context.Context) error {
		_, err := txn.From(ctx, c.o.db).ExecContext(ctx, c.insert, c.name, m.ID, c.o.now().UnixMicro())
		switch {
		case dialect.Classify(err) == dialect.UniqueViolation:
			return errSeen
		case err != nil:
			return fmt.Errorf("outbox: inbox: %w", err)
		}
		return c.h(ctx, m)
	})
	if errors.Is(err, errSeen) {
		return false, nil
	}
	return err == nil, err
}

// Deliver hands m to the handler until it is applied, found a duplicate,
// or has failed MaxDeliveries times counting the prior deliveries (those
// the broker made before; 0 for a first delivery), waiting Backoff between
// tries; then it is dead-lettered. Deliver returns nil when the broker may
// forget m (acknowledge it), and an error when it may not: ctx ended, or
// DeadLetter failed. beat, when not nil, is called before every wait, to
// tell the broker the message is still being worked on.
func (c *Consumer) Deliver(ctx context.Context, m Message, prior int, beat func()) error {
	var last error
	for n := prior + 1; ; n++ {
		if n > 1 {
			c.tel.redeliv.Inc(ctx)
		}
		sctx, span := c.tel.processSpan(ctx, m)
		applied, err := c.Apply(sctx, m)
		endSpan(span, err)
		switch {
		case err == nil && applied:
			c.tel.applied.Inc(ctx)
			return nil
		case err == nil:
			c.tel.duplicate.Inc(ctx)
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		}
		c.tel.failed.Inc(ctx)
		last = err
		if n >= c.max {
			break
		}
		if beat != nil {
			beat()
		}
		if err := pause.For(ctx, c.backoff(n-prior)); err != nil {
			return err
		}
	}
	if c.dead != nil {
		if err := c.dead(ctx, m, last); err != nil {
			return fmt.Errorf("outbox: dead-letter %s event: %w", m.Type, err)
		}
	}
	c.tel.dead.Inc(ctx)
	return nil
}

// PruneInbox deletes the inbox rows of every consumer recorded before t and
// returns how many went. An event delivered again after its row went is
// applied again: keep rows longer than the broker may redeliver (its
// retention) and call it from a ticker you own. Without it the inbox keeps
// every id.
func (o *Outbox) PruneInbox(ctx context.Context, t time.Time) (int64, error) {
	res, err := o.db.ExecContext(ctx, o.d.Rebind(`DELETE FROM svckit_outbox_inbox WHERE applied_at < ?`), t.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("outbox: prune inbox: %w", dialect.Wrap(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("outbox: prune inbox: %w", dialect.Wrap(err))
	}
	return n, nil
}

// Local is a Publisher that hands every message to the consumers
// subscribed in this process, for a service with no broker: with an
// embedded database and Local, events still commit with their change and
// are applied once each, as with JetStream minus the other processes.
//
// Publish returns once every subscribed consumer applied each message (or
// dead-lettered it), in order, so the relay marks an event published only
// after its effects committed; a consumer that keeps failing holds the
// relay for its retries (MaxDeliveries with Backoff) before it is
// dead-lettered. Events emitted by another process on the same database
// reach this process's consumers only if this process's relay publishes
// them.
//
// The zero Local has no subscribers and is ready to use. It is safe for
// concurrent use and holds nothing to close.
type Local struct {
	mu   sync.RWMutex
	subs []localSub
}

type localSub struct {
	c     *Consumer
	types []string
}

var _ Publisher = (*Local)(nil)

// Subscribe hands c every message whose type is one of types, or, with no
// types, every message; a type ending in ".*" stands for any type with its
// prefix ("user.*").
func (l *Local) Subscribe(c *Consumer, types ...string) {
	if c == nil {
		panic("outbox: Local.Subscribe: nil consumer")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.subs = append(l.subs, localSub{c: c, types: types})
}

// Publish delivers msgs, in order, to every subscribed consumer.
func (l *Local) Publish(ctx context.Context, msgs []Message) (int, error) {
	l.mu.RLock()
	subs := l.subs
	l.mu.RUnlock()
	for i, m := range msgs {
		for _, s := range subs {
			if !matches(s.types, m.Type) {
				continue
			}
			if err := s.c.Deliver(ctx, m, 0, nil); err != nil {
				return i, err
			}
		}
	}
	return len(msgs), nil
}

// matches reports whether typ is one of types (or types is empty).
func matches(types []string, typ string) bool {
	if len(types) == 0 {
		return true
	}
	for _, t := range types {
		if t == typ || strings.HasSuffix(t, ".*") && strings.HasPrefix(typ, t[:len(t)-1]) {
			return true
		}
	}
	return false
}
