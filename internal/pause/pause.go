// Package pause holds svckit's one way to wait for a while unless a
// context ends first: the backoff of txn's retries, of outbox consumers
// and of natsjs subscriptions.
package pause

import (
	"context"
	"time"
)

// For waits d, or until ctx ends, and returns ctx.Err() if ctx ended
// first (or had ended already), nil otherwise. A d of zero or less does
// not wait.
func For(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
