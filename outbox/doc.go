// Package outbox delivers events that a crash cannot lose: Emit writes an
// event into an outbox table in the caller's database transaction, a Relay
// publishes what committed, and a Consumer applies each event once.
//
//	o := outbox.New(db, dialect.Postgres, outbox.Options{})
//	if err := o.Migrate(ctx); err != nil { … }
//
//	err := txn.Do(ctx, db, func(ctx context.Context) error {
//		if err := users.Create(ctx, &u); err != nil {
//			return err
//		}
//		return o.Emit(ctx, outbox.Event{Type: "user.created", Key: u.ID, Payload: u})
//	})
//
//	// Beside the server, until shutdown: publish what committed.
//	go outbox.NewRelay(o, publisher, outbox.RelayOptions{}).Run(ctx)
//
// The publisher is natsjs.Publisher for NATS JetStream (package
// outbox/natsjs, so that importing outbox compiles no NATS client), or
// Local, which hands the events to consumers in this process: the default
// of a service with no broker. A consumer's handler runs in a transaction
// that also writes the event's id into the inbox table:
//
//	feed := outbox.NewConsumer(o, "activity", func(ctx context.Context, m outbox.Message) error {
//		_, err := txn.From(ctx, db).ExecContext(ctx, insertActivity, m.Key, m.Type, m.ID)
//		return err
//	}, outbox.ConsumerOptions{})
//	local.Subscribe(feed) // or natsjs.Subscribe(ctx, js, feed, natsjs.SubscribeOptions{…})
//
// # Why a package of its own, named outbox
//
// The package is named for the pattern it implements, the transactional
// outbox: the table is the contract between the transaction that emits
// and everything after it (relay, broker, consumers), and every type here
// serves that table or its mirror, the inbox. It is not an event bus: it
// neither routes nor fans out (the broker does), and naming it "events"
// would promise that. It sits beside txn and idempotency, imports them
// and never makes an older package import more.
//
// # Guarantees
//
//   - An event commits with the change it reports, or neither commits.
//     Emit outside a transaction on the outbox's database is
//     ErrNoTransaction, never a silent best effort; a payload that does
//     not encode (ErrPayload) or is over Options.MaxPayload (ErrTooLarge)
//     fails Emit, so the caller's transaction rolls back.
//   - At least once on the wire: the relay marks an event published only
//     once the broker accepted it. Duplicates come only from a relay that
//     stopped between the broker's acceptance and its mark: JetStream
//     drops them by Nats-Msg-Id (the event id) within its duplicate
//     window.
//   - Effect once at the consumer: the inbox row and the handler's writes
//     commit together, so a redelivered event does nothing.
//   - Order per key, never globally: events of one Key are published in
//     the order they were inserted (which is the order they committed
//     when the writers of a key serialise on that key's row, as they
//     should) and a consumer applies them in that order. Keys hash into
//     Partitions partitions; a relay on PostgreSQL or MySQL holds the
//     partitions it publishes from with SELECT … FOR UPDATE SKIP LOCKED,
//     so relays in many processes share the work and none holds a global
//     lock. SQLite has one writer: one relay at a time holds a lease.
//   - A broker that is down delays events and raises the oldest event's
//     age (Relay.Stats, MetricOldestAge); it never fails the request that
//     emitted them.
//
// # Cache invalidations
//
// An Invalidator carries a cache's invalidations through the outbox: Emit
// writes the keys in the update's transaction, and the Invalidator's Run,
// in every process, deletes them (cache.Aside's Delete) once committed.
// When the writer is cut off from the cache after its commit, another
// process deletes the keys within InvalidatorOptions.PollInterval, so the
// others stop serving the old entry then; its events' type begins with
// InvalidationPrefix, which Emit refuses and relays skip.
//
// # Wake-up
//
// A commit through an Outbox wakes every relay (and Invalidator) running
// on it in this process, which publishes the event at once; events
// committed by other processes are found at the next poll,
// RelayOptions.PollInterval (100ms by default). PostgreSQL's
// LISTEN/NOTIFY would need a driver's own API, and svckit's SQL code
// speaks database/sql; benchmarks/README.md has the lag measured both
// ways.
//
// # Exception to the store layout
//
// CONVENTIONS.md puts a package's SQL backend in a sqlstore sub-package
// beside an in-memory one. The outbox has only the SQL backend, here: its
// guarantee is the caller's SQL transaction, and an in-memory outbox could
// only publish after the commit, the lossy event bus this package
// replaces. The schema follows the rule: Schema is an fs.FS with a
// directory per dialect, which Migrate applies into
// svckit_schema_migrations.
//
// # Telemetry
//
// Options.MeterProvider and TracerProvider receive MetricPublished,
// MetricPublishFailures, MetricLag, MetricDepth, MetricOldestAge,
// MetricDeliveries and MetricRedeliveries, a SpanEmit span under the
// emitting request's span and a SpanProcess span per delivery whose parent
// is the SpanEmit span, carried in the message's headers.
package outbox
