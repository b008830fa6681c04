package cache

import (
	"context"
	"errors"
	"hash/maphash"
	"time"
)

// fill runs once per key at a time in this process. On a Leaser store it
// takes the key's lease (or waits for the holder's result); otherwise it
// looks in the store again, as a load that finished between this caller's
// miss and its call of Do has stored its answer there. Then it loads.
func (a *Aside[K, V]) fill(ctx context.Context, k string, load func(context.Context) (V, error), write bool) (filled[V], error) {
	if !write {
		return a.load(ctx, k, load, false, 0)
	}
	if a.leaser != nil {
		return a.leased(ctx, k, load)
	}
	e, ok, err := a.store.Get(ctx, k)
	if err != nil && errors.Is(err, ErrUndecodable) {
		if err := a.undecodable(ctx, err); err != nil {
			return filled[V]{}, err
		}
		ok, err = false, nil
	}
	switch {
	case err != nil:
		if err := a.storeFailed(ctx, "get", err); err != nil {
			return filled[V]{}, err
		}
		write = false
	case ok && e.NotFound:
		return filled[V]{e: e}, a.placeholderErr(k)
	case ok:
		return filled[V]{e: e}, nil
	}
	return a.load(ctx, k, load, write, 0)
}

// leased asks the store for k's lease until it finds an entry, gets the
// lease and loads, or has waited two lease timeouts (then it loads without
// storing). Another holder's lease ends when it fills, releases or times out.
func (a *Aside[K, V]) leased(ctx context.Context, k string, load func(context.Context) (V, error)) (filled[V], error) {
	wait := time.Millisecond
	var deadline time.Time
	for {
		e, found, token, err := a.leaser.Lease(ctx, k, a.leaseTTL)
		switch {
		case err != nil:
			if err := a.storeFailed(ctx, "lease", err); err != nil {
				return filled[V]{}, err
			}
			return a.load(ctx, k, load, false, 0)
		case found && e.NotFound:
			a.storeUp(ctx)
			return filled[V]{e: e}, a.placeholderErr(k)
		case found:
			a.storeUp(ctx)
			return filled[V]{e: e}, nil
		case token != 0:
			a.storeUp(ctx)
			return a.load(ctx, k, load, true, token)
		}
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(2 * a.leaseTTL)
		} else if now.After(deadline) {
			return a.load(ctx, k, load, false, 0)
		}
		a.leaseWaits.Add(1)
		// Jittered, growing waits: the holder's load usually takes a
		// few milliseconds.
		t := time.NewTimer(time.Duration(float64(wait) * (0.5 + a.rand())))
		select {
		case <-ctx.Done():
			t.Stop()
			return filled[V]{}, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// load calls the loader and stores its answer, unless write is false (the
// store just failed, or the key is fenced) or the key was invalidated since
// the load began. With a non-zero token the store is a Leaser and the
// caller holds the key's lease (or, for a refresh, token is the version of
// the entry being refreshed).
func (a *Aside[K, V]) load(ctx context.Context, k string, load func(context.Context) (V, error), write bool, token uint64) (filled[V], error) {
	s := &a.gens[maphash.String(a.seed, k)%stripes]
	gen := s.gen.Load()
	a.loads.Add(1)
	lctx, span := a.m.startLoad(ctx)
	v, err := a.call(lctx, k, load, token)
	a.m.loaded(ctx, span, err != nil && a.isNotFound(err), err)
	if err != nil {
		if !a.isNotFound(err) {
			a.loadErrs.Add(1)
			return filled[V]{}, err
		}
		// Not stored, a result is good for the caller that loaded it
		// only (see filled.lost); put clears lost when it stores.
		f := filled[V]{e: Entry[V]{NotFound: true}, lost: true}
		if write && a.negTTL > 0 && (token != 0 || a.setNX != nil) {
			lost, refused, serr := a.put(ctx, s, gen, k, f.e, a.negTTL, token)
			if serr != nil {
				return filled[V]{}, serr
			}
			f.lost, f.refused = lost, refused
		} else if token != 0 {
			a.release(ctx, k, token)
		}
		return f, &NotFoundError{Key: k, Err: err}
	}
	f := filled[V]{e: Entry[V]{Value: v}, lost: !write}
	if a.refresh > 0 {
		f.e.RefreshAt = a.now().Add(a.jittered(a.refresh)).UnixNano()
	}
	if write {
		lost, refused, serr := a.put(ctx, s, gen, k, f.e, a.ttl, token)
		if serr != nil {
			return filled[V]{}, serr
		}
		f.lost, f.refused = lost, refused
	}
	return f, nil
}

// call runs the loader; when it panics while this caller holds a lease,
// the lease is released before the panic goes on.
func (a *Aside[K, V]) call(ctx context.Context, k string, load func(context.Context) (V, error), token uint64) (V, error) {
	if token != 0 {
		ok := false
		defer func() {
			if !ok {
				a.release(context.WithoutCancel(ctx), k, token)
			}
		}()
		v, err := load(ctx)
		ok = err == nil || a.isNotFound(err)
		return v, err
	}
	return load(ctx)
}

// release gives up a lease after a failed load, so that others load at once.
// For a refresh, token is an entry's version, which Release leaves alone.
func (a *Aside[K, V]) release(ctx context.Context, k string, token uint64) {
	if a.leaser == nil {
		return
	}
	if err := a.leaser.Release(ctx, k, token); err != nil {
		_ = a.storeFailed(ctx, "release", err)
	}
}

// put stores e under k unless k's generation moved past gen; with a token,
// only while the store still holds the lease (or version) token. Without
// one, placeholders are set only where nothing is stored. lost reports that
// e was not stored; refused, that it was not because the key was
// invalidated (or its lease lapsed) meanwhile, rather than because the
// store failed.
func (a *Aside[K, V]) put(ctx context.Context, s *stripe, gen uint64, k string, e Entry[V], ttl time.Duration, token uint64) (lost, refused bool, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.gen.Load() != gen {
		a.lostFills.Add(1)
		a.m.fenced.Inc(ctx)
		return true, true, nil
	}
	ttl = a.jittered(ttl)
	stored := true
	switch {
	case token != 0:
		stored, err = a.leaser.Fill(ctx, k, token, e, ttl)
	case e.NotFound:
		_, err = a.setNX.SetIfAbsent(ctx, k, e, ttl)
	default:
		err = a.store.Set(ctx, k, e, ttl)
	}
	if err != nil {
		// Not known to be stored, nor that no invalidation came
		// between: callers that joined read again.
		return true, false, a.storeFailed(ctx, "set", err)
	}
	a.storeUp(ctx)
	if !stored {
		a.lostFills.Add(1)
		a.m.fenced.Inc(ctx)
	}
	return !stored, !stored, nil
}
