package idempotency

import (
	"context"
	"errors"
	"fmt"
)

// Store keeps keys, their fingerprints and outcomes. *Memory and
// sqlstore's *Store implement it; Do needs nothing else. A Store keeps an
// outcome as its status and the bytes of Outcome.Encode, and rebuilds it
// with DecodeOutcome.
type Store interface {
	// Atomic runs fn as one unit of work: what Claim and Finish do in the
	// context fn receives is kept if fn returns nil and undone otherwise
	// (also when fn panics). Inside a unit of work it joins it.
	Atomic(ctx context.Context, fn func(ctx context.Context) error) error
	// Claim stores k as pending with fingerprint, or returns ErrTaken when
	// k is stored already. A claim held by a unit of work that has not
	// ended makes Claim wait for it: if it commits, ErrTaken; if it rolls
	// back, the claim goes through.
	Claim(ctx context.Context, k Key, fingerprint string) error
	// Finish records the outcome of the pending key k, or returns
	// ErrNotPending.
	Finish(ctx context.Context, k Key, o Outcome) error
	// Load returns the committed record of k, or ErrNotFound.
	Load(ctx context.Context, k Key) (Record, error)
}

var _ Store = (*Memory)(nil)

// Do runs fn at most once per key: it claims k, runs fn and records the
// outcome fn returns, in one unit of work of s (for sqlstore's Store, a transaction on
// its database that fn's statements join through txn.From). The result:
//
//   - first request: fn's outcome, replayed false;
//   - a retry, or a request that raced the first and lost: the recorded
//     outcome, replayed true; fn does not run. A retry that raced waits for
//     the first request's transaction to end.
//   - a retry with another fingerprint: ErrKeyMismatch;
//   - a key claimed outside a unit of work whose request has not finished:
//     ErrInProgress.
//
// When the outcome is a refusal (see Refuse), err is o.Err() and o is
// returned as well. A refusal commits like a success, so that a retry is
// refused the same way: decide it before fn writes anything. When fn returns an error, nothing is kept (the claim
// rolls back with the work) and Do returns that error: a retry runs fn
// again. An empty k.Value means the client sent no key: fn runs in a unit
// of work and nothing is recorded.
//
// Call Do outside a transaction on the store's database: a request that
// loses the race must roll back before it can read the winner's outcome. Do
// inside a transaction joins it; losing the race then returns an error
// wrapping ErrTaken and the caller's transaction can only roll back.
//
// Do counts nothing; a Runner (New) runs it and counts each call.
func Do(ctx context.Context, s Store, k Key, fingerprint string, fn func(ctx context.Context) (Outcome, error)) (Outcome, bool, error) {
	return do(ctx, s, k, fingerprint, fn)
}

func do(ctx context.Context, s Store, k Key, fingerprint string, fn func(ctx context.Context) (Outcome, error)) (o Outcome, replayed bool, err error) {
	if k.Value == "" {
		err = s.Atomic(ctx, func(ctx context.Context) error {
			var err error
			if o, err = fn(ctx); err != nil {
				return err
			}
			return o.validate()
		})
		if err != nil {
			return Outcome{}, false, err
		}
		return o, false, o.Err()
	}
	if err := k.Validate(); err != nil {
		return Outcome{}, false, err
	}
	if err := checkText("fingerprint", fingerprint); err != nil {
		return Outcome{}, false, err
	}
	err = s.Atomic(ctx, func(ctx context.Context) error {
		o = Outcome{} // a retried transaction starts again
		if err := s.Claim(ctx, k, fingerprint); err != nil {
			return err
		}
		var err error
		if o, err = fn(ctx); err != nil {
			return err
		}
		return s.Finish(ctx, k, o)
	})
	switch {
	case errors.Is(err, ErrTaken):
		return replay(ctx, s, k, fingerprint)
	case err != nil:
		return Outcome{}, false, err
	}
	return o, false, o.Err()
}

// replay answers a request whose key was taken from the stored outcome.
func replay(ctx context.Context, s Store, k Key, fingerprint string) (Outcome, bool, error) {
	r, err := s.Load(ctx, k)
	if err != nil {
		return Outcome{}, false, fmt.Errorf("idempotency: key taken, outcome unreadable: %w: %w", ErrTaken, err)
	}
	switch {
	case r.Fingerprint != fingerprint:
		return Outcome{}, false, ErrKeyMismatch
	case r.Pending():
		return Outcome{}, false, ErrInProgress
	}
	return r.Outcome, true, r.Outcome.Err()
}
