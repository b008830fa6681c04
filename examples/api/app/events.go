package app

import (
	"context"
	"log/slog"
	"sync"

	"github.com/svckit/svckit/outbox"
	"github.com/svckit/svckit/txn"
)

// Event names the service emits, each in the transaction of the change it
// reports.
const (
	EventUserCreated       = "user.created"
	EventTransferCompleted = "transfer.completed"
)

// Event is something that happened, for side effects outside the request
// (the activity feed, mail, audit, projections).
type Event struct {
	Name string
	// Key orders events: those of one key are applied in the order they
	// were emitted (the user's id, the source account's id).
	Key     string
	Payload map[string]any
}

// EventBus records events. The services call Emit inside the transaction
// of the change, so an event commits with its change or not at all; an
// error from Emit rolls the change back.
type EventBus interface {
	Emit(ctx context.Context, e Event) error
}

// outboxBus is the service's EventBus: Emit writes the event into svckit's
// outbox table in the caller's transaction; the relay publishes it once
// committed (to JetStream, or to this process's consumers).
type outboxBus struct{ box *outbox.Outbox }

func (b outboxBus) Emit(ctx context.Context, e Event) error {
	return b.box.Emit(ctx, outbox.Event{Type: e.Name, Key: e.Key, Payload: e.Payload})
}

// LogBus logs every event it is handed and passes it to the subscribers,
// in order, on the caller's goroutine. The service hands it every event
// once its transaction committed (the consumer "log"); unit tests of the
// services use it as their EventBus. The zero value logs to slog.Default.
// It is safe for concurrent use.
type LogBus struct {
	Logger *slog.Logger

	mu   sync.Mutex
	subs []func(context.Context, Event)
}

var _ EventBus = (*LogBus)(nil)

// Subscribe adds fn to the subscribers.
func (b *LogBus) Subscribe(fn func(context.Context, Event)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs = append(b.subs, fn)
}

// Emit logs e and passes it to every subscriber. It never fails.
func (b *LogBus) Emit(ctx context.Context, e Event) error {
	logger := b.Logger
	if logger == nil {
		logger = slog.Default()
	}
	args := make([]any, 0, 2*len(e.Payload)+2)
	args = append(args, "event", e.Name)
	for k, v := range e.Payload {
		args = append(args, k, v)
	}
	logger.InfoContext(ctx, "event", args...)
	b.mu.Lock()
	subs := b.subs
	b.mu.Unlock()
	for _, fn := range subs {
		fn(ctx, e)
	}
	return nil
}

// logHandler is the consumer "log": it hands every committed event to the
// LogBus. Its effect (a log line, the subscribers) is outside the
// database, so a redelivery the inbox absorbs is not logged twice, but one
// after a crash between the handler and its commit may be.
func logHandler(bus *LogBus) outbox.Handler {
	return func(ctx context.Context, m outbox.Message) error {
		var payload map[string]any
		if err := m.Decode(&payload); err != nil {
			return err
		}
		txn.AfterCommit(ctx, func(ctx context.Context) { _ = bus.Emit(ctx, Event{Name: m.Type, Key: m.Key, Payload: payload}) })
		return nil
	}
}
