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

// revalidate starts a background load of k unless one is running or the
// Aside is closed. The caller has just been served the stale value.
// On a Leaser store the refresh replaces the entry only while it is still
// version, so it never overwrites an invalidation.
func (a *Aside[K, V]) revalidate(ctx context.Context, k string, version uint64, load func(context.Context) (V, error)) {
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
	a.refreshes.Add(1)
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
		// Joins a load of k already in flight, if any. A failed
		// refresh leaves the stale value in place until its TTL.
		_, _, _ = a.group.Do(ctx, k, func(ctx context.Context) (filled[V], error) {
			if a.leaser != nil {
				if version == 0 {
					return filled[V]{}, nil // nothing to compare with
				}
				return a.load(ctx, k, load, true, version)
			}
			return a.load(ctx, k, load, true, 0)
		})
	}()
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
