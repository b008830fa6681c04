package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/svckit/svckit/internal/opt"
)

// InvalidationPrefix begins the type of every Invalidator's events:
// "svckit.invalidate.<name>". Emit refuses such types, and a Relay built
// with NewRelay skips them: only their Invalidator carries them out.
const InvalidationPrefix = "svckit.invalidate."

// DefaultInvalidationPoll is how often an idle Invalidator looks for
// invalidations committed by other processes when
// InvalidatorOptions.PollInterval is zero.
const DefaultInvalidationPoll = 50 * time.Millisecond

// InvalidatorOptions configure NewInvalidator. The zero value polls every
// DefaultInvalidationPoll, carries out up to DefaultBatchSize
// invalidations a round and backs off as a Relay does while the deletes
// fail.
type InvalidatorOptions struct {
	// PollInterval is how long an idle Invalidator waits before it looks
	// for invalidations committed by other processes (those committed
	// through the same Outbox wake it at their commit). It bounds how
	// long an invalidation whose writer cannot carry it out waits for
	// another process. Zero or negative means DefaultInvalidationPoll.
	PollInterval time.Duration
	// BatchSize is the most invalidations one round carries out. Zero or
	// negative means DefaultBatchSize; above MaxBatchSize means
	// MaxBatchSize.
	BatchSize int
	// Backoff returns how long to wait after the given number of failed
	// rounds in a row. Nil means the Relay's default.
	Backoff func(failures int) time.Duration
}

// Invalidator carries a cache's invalidations through the outbox, so that
// an invalidation commits with the update it follows and any live process
// carries it out: Emit writes the keys into the outbox in the update's
// transaction, and Run, in every process, deletes the keys of committed
// invalidations with the delete function (cache.Aside's Delete) and marks
// them done.
//
//	inv := outbox.NewInvalidator(box, "users", users.Delete, outbox.InvalidatorOptions{})
//	go inv.Run(ctx) // in every instance, beside the relay
//
//	err := txn.Do(ctx, db, func(ctx context.Context) error {
//		if _, err := repo.Update(ctx, id, set); err != nil {
//			return err
//		}
//		txn.DeleteAfterCommit(ctx, users, id) // the fast path, in this process
//		return inv.Emit(ctx, id)        // the path that survives it
//	})
//
// The delete after the commit stays the fast path: it returns before the
// request does, which keeps reads linearizable while Redis answers. The
// invalidation in the outbox is what remains when it cannot: an instance
// cut off from Redis after its commit fences its own copies (see package
// cache) and its Run fails to delete, but the event stays pending and the
// Run of every other instance finds it within PollInterval and deletes
// the keys, so the others stop serving the old entry then, not when the
// writer reaches Redis again.
//
// Deletes are idempotent and commute, so Run takes no lock and keeps no
// order: several processes may delete one invalidation's keys at once, and
// one that cannot reach the cache holds up nobody. An invalidation is
// marked done only once a delete of its keys succeeded; while no process
// can reach the cache they wait (and count in the relay's depth and oldest
// age), and are carried out when it returns.
//
// The zero Invalidator is not usable. An Invalidator is safe for concurrent
// use; Run it once at a time per process. Run's end releases what it
// holds.
type Invalidator[K comparable] struct {
	o     *Outbox
	typ   string
	del   func(context.Context, ...K) error
	relay *Relay
}

// NewInvalidator returns the invalidator name (1 to 64 bytes of
// [A-Za-z0-9_-]; its events' type is InvalidationPrefix + name) of o,
// which deletes keys with del. It panics if o or del is nil or name is
// not valid: the name is fixed in code, like a table's.
func NewInvalidator[K comparable](o *Outbox, name string, del func(ctx context.Context, keys ...K) error, opts InvalidatorOptions) *Invalidator[K] {
	if o == nil || del == nil {
		panic("outbox: NewInvalidator: nil outbox or delete function")
	}
	if !word(name, 64) {
		panic(fmt.Sprintf("outbox: NewInvalidator: name %q: want 1 to 64 bytes of [A-Za-z0-9_-]", name))
	}
	i := &Invalidator[K]{o: o, typ: InvalidationPrefix + name, del: del}
	i.relay = newRelay(o, publisherFunc(i.publish), RelayOptions{
		BatchSize:    opts.BatchSize,
		PollInterval: opt.PositiveOr(opts.PollInterval, DefaultInvalidationPoll),
		Backoff:      opts.Backoff,
		Retention:    -1, // the Relays of the outbox clean up
	}, i.typ)
	return i
}

// Type returns the type of the invalidator's events.
func (i *Invalidator[K]) Type() string { return i.typ }

// Emit writes an invalidation of keys into the outbox in the transaction
// ctx carries, like Outbox.Emit (ErrNoTransaction outside one). Keys
// encode as JSON; no keys writes nothing.
func (i *Invalidator[K]) Emit(ctx context.Context, keys ...K) error {
	if len(keys) == 0 {
		return nil
	}
	return i.o.emit(ctx, Event{Type: i.typ, Payload: keys})
}

// Run carries out committed invalidations until ctx ends, then returns
// nil: at once for those committed through the same Outbox, within
// PollInterval for the others. A round whose delete fails is tried again
// after the backoff; Stats reports the failures meanwhile.
func (i *Invalidator[K]) Run(ctx context.Context) error { return i.relay.Run(ctx) }

// Round carries out one batch of committed invalidations and returns how
// many. Run calls it in a loop; tests and tools may call it directly.
func (i *Invalidator[K]) Round(ctx context.Context) (int, error) { return i.relay.Round(ctx) }

// Stats returns how the last rounds went (Failures, Err); it reads no
// depth or age, which the outbox's Relay reports for every event.
func (i *Invalidator[K]) Stats() Stats { return i.relay.Stats() }

// publish deletes the keys of msgs with one call of del.
func (i *Invalidator[K]) publish(ctx context.Context, msgs []Message) (int, error) {
	var keys []K
	for _, m := range msgs {
		var ks []K
		if err := json.Unmarshal(m.Payload, &ks); err != nil {
			continue // not written by Emit: nothing to delete
		}
		keys = append(keys, ks...)
	}
	if len(keys) > 0 {
		if err := i.del(ctx, keys...); err != nil {
			return 0, fmt.Errorf("outbox: invalidate %s: %w", i.typ, err)
		}
	}
	return len(msgs), nil
}

// publisherFunc adapts a function to Publisher.
type publisherFunc func(context.Context, []Message) (int, error)

func (f publisherFunc) Publish(ctx context.Context, msgs []Message) (int, error) { return f(ctx, msgs) }
