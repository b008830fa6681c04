package cache

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// fences holds the keys whose invalidation failed after every retry. While
// a key is fenced this process neither reads nor fills it in the store, and
// a background goroutine deletes it again every FenceRetry until the store
// accepts.
type fences struct {
	mu      sync.Mutex
	keys    map[string]struct{}
	running bool // the retry goroutine is running
	closed  bool
	stop    chan struct{}
	n       atomic.Int64 // len(keys), read without the lock on every Get
}

// Delete removes the keys from the store, after the write they reflect has
// committed. Once it returns, no Get that starts afterwards serves a value
// loaded before it began: in this process, loads in flight for the keys
// are not stored and not shared with later callers; in other processes
// sharing a Leaser store, the delete also ends the leases of their loads in
// flight, so those are not stored either.
//
// A failed store delete is tried again up to Options.DeleteRetries times,
// with doubling jittered waits from Options.DeleteBackoff. When it still
// fails, the error is counted, reported like any other store error and
// returned, and the keys are fenced: this process serves them from the
// loader without storing them, and tries their delete again every
// Options.FenceRetry in the background until the store accepts it (Close
// stops that). A stale entry therefore outlives a failed invalidation only
// while this process cannot reach the store, plus at most FenceRetry.
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
	err := a.deleteRetrying(ctx, sk)
	if err != nil {
		// Fence before later callers stop joining loads in flight.
		a.fence(sk)
	}
	// Only now may later callers stop joining loads in flight: one that
	// began before the store delete may have found the old entry still
	// there and be about to hand it out.
	for _, k := range sk {
		a.group.Forget(k)
	}
	if err != nil {
		a.delFailures.Add(1)
		_ = a.storeFailed(ctx, "delete", err)
		return fmt.Errorf("cache: delete: %w", err)
	}
	a.storeUp(ctx)
	return nil
}

// deleteRetrying deletes the keys, retrying failures with backoff.
func (a *Aside[K, V]) deleteRetrying(ctx context.Context, keys []string) error {
	wait := a.backoff
	for attempt := 0; ; attempt++ {
		err := a.store.Delete(ctx, keys...)
		if err == nil || attempt == a.retries || ctx.Err() != nil {
			return err
		}
		a.delRetries.Add(1)
		t := time.NewTimer(time.Duration(float64(wait) * (0.5 + rand.Float64())))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		if wait < math.MaxInt64/2 {
			wait *= 2
		}
	}
}

// fenced reports whether k is fenced.
func (a *Aside[K, V]) fenced(k string) bool {
	a.fences.mu.Lock()
	_, ok := a.fences.keys[k]
	a.fences.mu.Unlock()
	return ok
}

// fence adds keys to the fenced set and starts the retry goroutine unless
// it runs or the Aside is closed.
func (a *Aside[K, V]) fence(keys []string) {
	f := &a.fences
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys == nil {
		f.keys = make(map[string]struct{})
	}
	for _, k := range keys {
		f.keys[k] = struct{}{}
	}
	f.n.Store(int64(len(f.keys)))
	if f.running || f.closed {
		return
	}
	f.running = true
	if f.stop == nil {
		f.stop = make(chan struct{})
	}
	a.bg.wg.Add(1)
	go a.unfence(f.stop)
}

// unfence retries the fenced keys' delete until none is left or Close.
func (a *Aside[K, V]) unfence(stop <-chan struct{}) {
	defer a.bg.wg.Done()
	f := &a.fences
	t := time.NewTicker(a.fenceEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		f.mu.Lock()
		keys := make([]string, 0, len(f.keys))
		for k := range f.keys {
			keys = append(keys, k)
			if len(keys) == 512 {
				break
			}
		}
		f.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), a.fenceEvery)
		err := a.store.Delete(ctx, keys...)
		cancel()
		if err != nil {
			continue
		}
		f.mu.Lock()
		for _, k := range keys {
			delete(f.keys, k)
		}
		f.n.Store(int64(len(f.keys)))
		if len(f.keys) == 0 {
			f.running = false
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
	}
}

// closeFences stops the retry goroutine; fenced keys stay fenced.
func (a *Aside[K, V]) closeFences() {
	f := &a.fences
	f.mu.Lock()
	if !f.closed {
		f.closed = true
		if f.stop != nil {
			close(f.stop)
		}
	}
	f.mu.Unlock()
}
