package cache

import (
	"context"
	"log/slog"
	"sync"
)

// bg tracks an Aside's background refreshes: at most one per key, none
// after Close.
type bg struct {
	mu      sync.Mutex
	closed  bool
	running map[string]struct{}
	wg      sync.WaitGroup
}

// revalidate starts a background load of k unless one is running in this
// process or the Aside is closed. The caller has just been served e, which
// is stale. On a Leaser store the load runs only if it takes e's refresh
// lease first, so that one process refreshes k while the others serve e,
// and it replaces the entry only while it is still e's version, so it
// never overwrites an invalidation.
func (a *Aside[K, V]) revalidate(ctx context.Context, k string, e Entry[V], load func(context.Context) (V, error)) {
	if a.leaser != nil && e.Version == 0 {
		return // nothing to compare with
	}
	a.bg.mu.Lock()
	if _, busy := a.bg.running[k]; busy || a.bg.closed {
		a.bg.mu.Unlock()
		return
	}
	if a.bg.running == nil {
		a.bg.running = make(map[string]struct{})
	}
	a.bg.running[k] = struct{}{}
	a.bg.wg.Add(1)
	a.bg.mu.Unlock()
	token := e.Version // the refresh replaces exactly e
	if a.leaser == nil {
		token = 0 // this process alone refreshes k: nothing to lease
		a.refreshStarted(ctx)
	}
	// The refresh outlives the request that noticed the stale value.
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer a.bg.wg.Done()
		defer func() {
			a.bg.mu.Lock()
			delete(a.bg.running, k)
			a.bg.mu.Unlock()
		}()
		defer func() {
			// No caller waits for this load: a panic in it is
			// reported, not propagated (the next load on a miss
			// panics in its caller as usual).
			if r := recover(); r != nil {
				a.loadErrs.Add(1)
				a.log.LogAttrs(ctx, slog.LevelError, "cache: background refresh panicked",
					slog.String("key", k), slog.Any("panic", r))
			}
		}()
		if token != 0 && !a.leaseRefresh(ctx, k, e) {
			return
		}
		// Joins a load of k already in flight, if any. A failed
		// refresh leaves the stale value in place until its TTL (on a
		// Leaser store, it is tried again when the lease times out).
		_, _, _ = a.group.Do(ctx, k, func(ctx context.Context) (filled[V], error) {
			return a.load(ctx, k, load, true, token)
		})
	}()
}

// leaseRefresh takes e's refresh lease for Options.LeaseTimeout, and
// reports whether this process is to refresh k. It is not when another
// process holds the lease or the entry is no longer e (refreshed or
// invalidated): those are skipped refreshes. Nor is it when the store
// fails: the refresh could not be stored either.
func (a *Aside[K, V]) leaseRefresh(ctx context.Context, k string, e Entry[V]) bool {
	leased, err := a.leaser.LeaseRefresh(ctx, k, e, a.now().Add(a.leaseTTL).UnixNano())
	switch {
	case err != nil:
		_ = a.storeFailed(ctx, "refresh", err)
		return false
	case !leased:
		a.refreshSkips.Add(1)
		a.m.refreshSkipped.Inc(ctx)
		return false
	}
	a.storeUp(ctx)
	a.refreshStarted(ctx)
	return true
}

// refreshStarted counts a background refresh that loads.
func (a *Aside[K, V]) refreshStarted(ctx context.Context) {
	a.refreshes.Add(1)
	a.m.refreshStarted.Inc(ctx)
}

// Close stops starting background refreshes (stale values are then served
// until their TTL) and the background retry of fenced keys (see Delete),
// and waits for them. The Aside stays usable; fenced keys stay fenced.
// Close always returns nil.
func (a *Aside[K, V]) Close() error {
	a.bg.mu.Lock()
	a.bg.closed = true
	a.bg.mu.Unlock()
	a.closeFences()
	a.bg.wg.Wait()
	return nil
}
