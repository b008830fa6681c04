package cache

import (
	"context"
	"fmt"
	"hash/maphash"

	"github.com/svckit/svckit/txn"
)

// Delete removes the keys from the store, after the write they reflect has
// committed. Once it returns, no Get in this process serves a value loaded
// before it began: loads in flight for the keys are not stored and not
// shared with later callers.
//
// A store failure is counted, reported like any other, and returned (the
// entries may then live until their TTL ends).
func (a *Aside[K, V]) Delete(ctx context.Context, keys ...K) error {
	if len(keys) == 0 {
		return nil
	}
	sk := make([]string, len(keys))
	for i, key := range keys {
		k := a.key(key)
		sk[i] = k
		s := &a.gens[maphash.String(a.seed, k)%stripes]
		// Taking the write lock waits for stores of loads in flight
		// that passed their generation check; those the Delete below
		// removes. Later ones see the new generation and skip.
		s.mu.Lock()
		s.gen.Add(1)
		s.mu.Unlock()
	}
	err := a.store.Delete(ctx, sk...)
	// Only now may later callers stop joining loads in flight: one that
	// began before the store delete may have found the old entry still
	// there and be about to hand it out.
	for _, k := range sk {
		a.group.Forget(k)
	}
	if err != nil {
		a.storeFailed(ctx, "delete", err)
		return fmt.Errorf("cache: delete: %w", err)
	}
	a.storeUp(ctx)
	return nil
}

// DeleteAfterCommit deletes the keys once the transaction ctx carries (begun
// with txn.Do) commits, and not at all if it rolls back or is retried;
// outside a transaction it deletes them at once. Deleting before the commit would let
// a concurrent read cache the old row again, so invalidations that follow a
// write in a transaction use this form.
//
// It cannot return the store's error, which happens later: failures are
// counted in Stats.StoreErrors and reported through Options.Logger, once
// per outage.
func (a *Aside[K, V]) DeleteAfterCommit(ctx context.Context, keys ...K) {
	if len(keys) == 0 {
		return
	}
	keys = append([]K(nil), keys...)
	txn.AfterCommit(ctx, func(ctx context.Context) {
		_ = a.Delete(ctx, keys...)
	})
}
