package cache

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
)

// On a Leaser store (one that processes share, where a read is a round
// trip) the Aside shares its store reads of one key among the callers in
// this process: a thousand concurrent misses of one key make one or two
// reads, not a thousand that queue for the client's connections and miss
// their deadlines. Sharing must not let a caller take an answer read
// before it asked (the entry may have been deleted between, by this
// process or another one), so a caller never joins a read that has
// begun: it joins the next one, which begins once the read in flight
// ends. Every caller thus takes the answer of a read that began after it
// asked, and the reads of one key follow each other, at most one in
// flight.

// readStripe holds the shared reads of the keys hashing onto it.
type readStripe[V any] struct {
	mu   sync.Mutex
	keys map[string]*keyReads[V]
}

// keyReads are one key's shared reads: the one in flight, and the next,
// which the callers that came during it wait for.
type keyReads[V any] struct {
	running *readCall[V]
	next    *readCall[V]
	waiting int // callers waiting for next, its runner included
}

// readCall is one store read and its answer, valid once done is closed.
type readCall[V any] struct {
	done chan struct{}
	e    Entry[V]
	ok   bool
	err  error
}

// errReadPanicked is the answer of a shared read whose store call panicked,
// for the callers that joined it; the caller that ran it panics.
var errReadPanicked = errors.New("cache: store read panicked")

// read returns k's entry as the store holds it at some moment after the
// call began: the store's answer to a read of this caller's own, or to a
// read begun after this call (shared, on a Leaser store).
func (a *Aside[K, V]) read(ctx context.Context, k string) (Entry[V], bool, error) {
	if a.leaser == nil {
		return a.store.Get(ctx, k)
	}
	s := &a.reads[maphash.String(a.seed, k)%stripes]
	s.mu.Lock()
	r := s.keys[k]
	if r == nil {
		// No read in flight: run one; callers that come meanwhile
		// wait for the next.
		c := &readCall[V]{done: make(chan struct{})}
		if s.keys == nil {
			s.keys = make(map[string]*keyReads[V])
		}
		s.keys[k] = &keyReads[V]{running: c}
		s.mu.Unlock()
		a.runRead(ctx, s, k, c)
		return c.e, c.ok, c.err
	}
	// A read is in flight, begun before this caller asked: wait for the
	// next one, and run it if nobody does yet.
	c, prev, lead := r.next, r.running, r.next == nil
	if lead {
		c = &readCall[V]{done: make(chan struct{})}
		r.next = c
	}
	r.waiting++
	s.mu.Unlock()
	if lead {
		// The read in flight ends by the store's own deadline; this
		// caller runs the next for every caller waiting on it, so it
		// waits whatever its context says.
		<-prev.done
		a.runRead(ctx, s, k, c)
		return c.e, c.ok, c.err
	}
	select {
	case <-c.done:
		return c.e, c.ok, c.err
	case <-ctx.Done():
		return Entry[V]{}, false, ctx.Err()
	}
}

// runRead makes the store read c on a context that the callers waiting
// for it do not see end, then hands k's next read (if any caller waits
// for one) to its runner, which waits for c's done.
func (a *Aside[K, V]) runRead(ctx context.Context, s *readStripe[V], k string, c *readCall[V]) {
	c.err = errReadPanicked
	defer func() {
		s.mu.Lock()
		r := s.keys[k]
		if r.next == nil {
			delete(s.keys, k)
		} else {
			r.running, r.next, r.waiting = r.next, nil, 0
		}
		s.mu.Unlock()
		close(c.done)
	}()
	c.e, c.ok, c.err = a.store.Get(context.WithoutCancel(ctx), k)
}
