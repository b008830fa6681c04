package cache

import (
	"context"

	"github.com/svckit/svckit/txn"
)

// DeleteAfterCommit deletes the keys once the transaction ctx carries (begun
// with txn.Do) commits, and not at all if it rolls back or is retried;
// outside a transaction it deletes them at once. Deleting before the commit would let
// a concurrent read cache the old row again, so invalidations that follow a
// write in a transaction use this form.
//
// It cannot return the store's error, which happens later: the delete is
// retried and, failing that, its keys fenced as Delete says; failures are
// counted in Stats and reported through Options.Logger, once per outage.
func (a *Aside[K, V]) DeleteAfterCommit(ctx context.Context, keys ...K) {
	if len(keys) == 0 {
		return
	}
	keys = append([]K(nil), keys...)
	txn.AfterCommit(ctx, func(ctx context.Context) {
		_ = a.Delete(ctx, keys...)
	})
}
