package envelope_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/svckit/svckit/envelope"
)

func TestWithRequestID(t *testing.T) {
	type key struct{}
	deadline := time.Now().Add(time.Hour)
	parent, cancel := context.WithDeadline(context.WithValue(context.Background(), key{}, "v"), deadline)
	ctx := envelope.WithRequestID(parent, "req-1")

	assert.Equal(t, "req-1", envelope.RequestID(ctx), "the id is carried")
	assert.Empty(t, envelope.RequestID(parent), "the parent carries none")
	assert.Empty(t, envelope.RequestID(context.Background()), "no id, no panic")
	assert.Equal(t, "req-2", envelope.RequestID(envelope.WithRequestID(ctx, "req-2")), "the innermost id wins")
	assert.Equal(t, "v", ctx.Value(key{}), "the parent's values pass through")
	got, ok := ctx.Deadline()
	assert.True(t, ok && got.Equal(deadline), "the parent's deadline: %v", got)
	assert.Equal(t, parent.Done(), ctx.Done(), "the parent's Done channel")

	var kept context.Context // escapes, as a request's context does
	id := t.Name()           // not a constant, as a request id is not
	assert.Equal(t, 2.0, testing.AllocsPerRun(100, func() { kept = context.WithValue(parent, key{}, id) }), "WithValue: two allocations")
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { kept = envelope.WithRequestID(parent, id) }), "WithRequestID: one")
	assert.Equal(t, id, envelope.RequestID(kept), "the kept context carries the id")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = envelope.RequestID(ctx) }), "reading the id allocates nothing")
	derived := testing.AllocsPerRun(100, func() { _, stop := context.WithCancel(ctx); stop() })
	plain := context.WithValue(parent, key{}, "w")
	viaValue := testing.AllocsPerRun(100, func() { _, stop := context.WithCancel(plain); stop() })
	assert.Equal(t, viaValue, derived, "WithCancel over it costs what it costs over a WithValue context (no watch goroutine)")

	cancel()
	assert.ErrorIs(t, ctx.Err(), context.Canceled, "it ends with its parent")
}
