package pause_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/svckit/svckit/internal/pause"
)

func TestFor(t *testing.T) {
	live := context.Background()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		d    time.Duration
		want error
	}{
		{"no wait", live, 0, nil},
		{"negative", live, -time.Second, nil},
		{"waits", live, time.Millisecond, nil},
		{"ended before, no wait", ended, 0, context.Canceled},
		{"ended before", ended, time.Hour, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorIs(t, pause.For(tc.ctx, tc.d), tc.want, "For(%v)", tc.d)
		})
	}
	t.Run("ends with the context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- pause.For(ctx, time.Hour) }()
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled, "an hour's pause ends when its context does")
	})
	t.Run("waits at least d", func(t *testing.T) {
		start := time.Now()
		assert.NoError(t, pause.For(live, 20*time.Millisecond))
		assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond, "For returns no earlier than d")
	})
}
