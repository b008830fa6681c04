package txn

import "context"

// Deleter is what DeleteAfterCommit deletes from: a cache such as
// *cache.Aside.
type Deleter[K any] interface {
	Delete(ctx context.Context, keys ...K) error
}

// DeleteAfterCommit deletes keys from d once the transaction ctx carries
// (begun with Do) commits, and not at all if it rolls back or is retried;
// outside a transaction it deletes them at once. Deleting before the commit
// would let a concurrent read cache the old row again, so invalidations that
// follow a write in a transaction use this form.
//
// It cannot return d's error, which happens later: *cache.Aside retries the
// delete and, failing that, fences its keys, counts the failure in Stats and
// reports it through its Logger, once per outage.
//
// It was the method cache.Aside.DeleteAfterCommit, moved here so that
// importing cache compiles neither database/sql nor this package.
func DeleteAfterCommit[K any](ctx context.Context, d Deleter[K], keys ...K) {
	if len(keys) == 0 {
		return
	}
	keys = append([]K(nil), keys...)
	AfterCommit(ctx, func(ctx context.Context) {
		_ = d.Delete(ctx, keys...)
	})
}
