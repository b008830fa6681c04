package app

import (
	"context"
	"time"
)

// Retention of the rows the service only keeps for a while.
const (
	// IdempotencyKeyTTL is how long a transfer's Idempotency-Key is
	// remembered: retries after that are new requests.
	IdempotencyKeyTTL = 24 * time.Hour
	// janitorInterval is how often expired rows are deleted.
	janitorInterval = time.Hour
)

// runJanitor deletes expired refresh tokens and idempotency keys every
// janitorInterval until ctx ends. Several instances may run one each: the
// deletes are idempotent. Run starts it beside the server.
func (a *App) runJanitor(ctx context.Context) {
	tick := time.NewTicker(janitorInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			a.sweep(ctx, now)
		}
	}
}

// sweep deletes what expired before now.
func (a *App) sweep(ctx context.Context, now time.Time) {
	if n, err := a.refreshStore.DeleteExpired(ctx, now); err != nil {
		a.logger.WarnContext(ctx, "delete expired refresh tokens", "err", err)
	} else if n > 0 {
		a.logger.InfoContext(ctx, "deleted expired refresh tokens", "count", n)
	}
	if n, err := a.idem.DeleteBefore(ctx, now.Add(-IdempotencyKeyTTL)); err != nil {
		a.logger.WarnContext(ctx, "delete expired idempotency keys", "err", err)
	} else if n > 0 {
		a.logger.InfoContext(ctx, "deleted expired idempotency keys", "count", n)
	}
}
