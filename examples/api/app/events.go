package app

import (
	"context"
	"log/slog"
	"sync"
)

// Event names the service emits, always after the commit that made them
// true.
const (
	EventUserCreated       = "user.created"
	EventTransferCompleted = "transfer.completed"
)

// Event is something that happened, for side effects outside the request
// (mail, audit, projections).
type Event struct {
	Name    string
	Payload map[string]any
}

// EventBus delivers events. Emit must not block for long and must not fail
// the request: the data is committed already.
type EventBus interface {
	Emit(ctx context.Context, e Event)
}

// LogBus is an EventBus that logs every event and hands it to the
// subscribers, in order, on the caller's goroutine. The zero value logs
// to slog.Default. It is safe for concurrent use.
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

// Emit logs e and passes it to every subscriber.
func (b *LogBus) Emit(ctx context.Context, e Event) {
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
}
