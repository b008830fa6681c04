package idempotency_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/idempotency"
)

var errBoom = errors.New("boom")

// TestStoreContract checks the Store methods on every store: what Do
// relies on.
func TestStoreContract(t *testing.T) {
	ctx := context.Background()
	k := idempotency.Key{Scope: "user-1", Value: "key-1"}
	created := idempotency.Outcome{Status: http.StatusCreated, Data: json.RawMessage(`{"id":"t1","amount":5}`)}
	eachStore(t, func(t *testing.T, open newStore) {
		t.Run("claim finish load", func(t *testing.T) {
			s, clk := open(t)
			err := s.Atomic(ctx, func(ctx context.Context) error {
				require.NoError(t, s.Claim(ctx, k, "fp"), "claim a fresh key")
				r, err := s.Load(ctx, k)
				require.NoError(t, err, "the claim is visible in its own unit of work")
				assert.True(t, r.Pending(), "a claimed key is pending")
				return s.Finish(ctx, k, created)
			})
			require.NoError(t, err, "Atomic")
			r, err := s.Load(ctx, k)
			require.NoError(t, err, "Load after commit")
			assert.False(t, r.Pending(), "a finished key is not pending")
			assert.Equal(t, "fp", r.Fingerprint, "the fingerprint is kept")
			assert.True(t, clk.Now().Equal(r.CreatedAt), "CreatedAt is the store's clock at the claim, got %v", r.CreatedAt)
			sameOutcome(t, created, r.Outcome, "loaded outcome")
			require.NoError(t, r.Outcome.Err(), "a success has no error")
		})

		t.Run("taken", func(t *testing.T) {
			s, _ := open(t)
			require.NoError(t, s.Claim(ctx, k, "fp"), "claim outside a unit of work commits at once")
			require.ErrorIs(t, s.Claim(ctx, k, "fp"), idempotency.ErrTaken, "a second claim")
			require.ErrorIs(t, s.Claim(ctx, k, "other"), idempotency.ErrTaken, "a claim with another fingerprint")
			err := s.Atomic(ctx, func(ctx context.Context) error { return s.Claim(ctx, k, "fp") })
			require.ErrorIs(t, err, idempotency.ErrTaken, "a claim in a unit of work")
			r, err := s.Load(ctx, k)
			require.NoError(t, err, "Load")
			assert.True(t, r.Pending(), "claimed outside a unit of work and not finished: pending")
		})

		t.Run("keys compare byte for byte", func(t *testing.T) {
			s, _ := open(t)
			keys := []idempotency.Key{
				{Scope: "a", Value: "k"}, {Scope: "a", Value: "K"}, {Scope: "a", Value: "k "},
				{Scope: "a ", Value: "k"}, {Scope: "b", Value: "k"}, {Scope: "", Value: "k"},
				{Scope: "Ä", Value: "k"}, {Scope: "ä", Value: "k"}, {Scope: "a", Value: " k"},
			}
			for i, key := range keys {
				require.NoError(t, s.Claim(ctx, key, "fp"), "key %d %q is new", i, key)
			}
			for i, key := range keys {
				require.ErrorIs(t, s.Claim(ctx, key, "fp"), idempotency.ErrTaken, "key %d %q is taken now", i, key)
			}
		})

		t.Run("finish", func(t *testing.T) {
			s, _ := open(t)
			require.ErrorIs(t, s.Finish(ctx, k, created), idempotency.ErrNotPending, "finish an unclaimed key")
			require.NoError(t, s.Claim(ctx, k, "fp"), "claim")
			for _, bad := range []idempotency.Outcome{{}, {Status: 99}, {Status: 600}, {Status: 200, Data: json.RawMessage(`{`)}} {
				err := s.Finish(ctx, k, bad)
				require.Error(t, err, "outcome %+v is invalid", bad)
				assert.NotErrorIs(t, err, idempotency.ErrNotPending, "an invalid outcome is not a protocol error")
			}
			require.NoError(t, s.Finish(ctx, k, created), "finish a pending key")
			require.ErrorIs(t, s.Finish(ctx, k, created), idempotency.ErrNotPending, "finish twice")
		})

		t.Run("load", func(t *testing.T) {
			s, _ := open(t)
			_, err := s.Load(ctx, k)
			require.ErrorIs(t, err, idempotency.ErrNotFound, "an unknown key")
			for _, o := range []idempotency.Outcome{
				{Status: http.StatusNoContent},
				{Status: http.StatusOK, Data: json.RawMessage(" [1, 2,\n3] ")},
				{Status: http.StatusConflict},
				{Status: http.StatusUnprocessableEntity, Code: "INSUFFICIENT_FUNDS", Message: "insufficient funds",
					Details: map[string]any{"missing": json.Number("12345678901234567"), "field": "amount"}},
			} {
				key := idempotency.Key{Scope: "s", Value: http.StatusText(o.Status)}
				require.NoError(t, s.Claim(ctx, key, "fp"), "claim")
				require.NoError(t, s.Finish(ctx, key, o), "finish %d", o.Status)
				r, err := s.Load(ctx, key)
				require.NoError(t, err, "load %d", o.Status)
				sameOutcome(t, o, r.Outcome, http.StatusText(o.Status))
				assert.Equal(t, o.Details, r.Outcome.Details, "details keep their numbers exactly")
			}
		})

		t.Run("claim rolls back with the work", func(t *testing.T) {
			s, _ := open(t)
			err := s.Atomic(ctx, func(ctx context.Context) error {
				require.NoError(t, s.Claim(ctx, k, "fp"), "claim")
				require.NoError(t, s.Finish(ctx, k, created), "finish")
				return errBoom
			})
			require.ErrorIs(t, err, errBoom, "Atomic returns fn's error")
			_, err = s.Load(ctx, k)
			require.ErrorIs(t, err, idempotency.ErrNotFound, "the claim rolled back")
			require.NoError(t, s.Claim(ctx, k, "fp"), "the key is free again")
		})

		t.Run("finish rolls back with the work", func(t *testing.T) {
			s, _ := open(t)
			require.NoError(t, s.Claim(ctx, k, "fp"), "claim outside a unit of work")
			err := s.Atomic(ctx, func(ctx context.Context) error {
				require.NoError(t, s.Finish(ctx, k, created), "finish")
				return errBoom
			})
			require.ErrorIs(t, err, errBoom, "Atomic")
			r, err := s.Load(ctx, k)
			require.NoError(t, err, "Load")
			assert.True(t, r.Pending(), "the outcome rolled back: still pending")
		})

		t.Run("a claim waits for the unit of work holding the key", func(t *testing.T) {
			for _, tc := range []struct {
				name   string
				result error // what the holder returns
				want   error // what the waiting claim gets
			}{
				{"holder commits", nil, idempotency.ErrTaken},
				{"holder rolls back", errBoom, nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					s, _ := open(t)
					claimed, release := make(chan struct{}), make(chan struct{})
					holder := make(chan error, 1)
					go func() {
						holder <- s.Atomic(ctx, func(ctx context.Context) error {
							if err := s.Claim(ctx, k, "fp"); err != nil {
								close(claimed)
								return err
							}
							close(claimed)
							<-release
							return tc.result
						})
					}()
					<-claimed
					waiter := make(chan error, 1)
					go func() {
						waiter <- s.Atomic(ctx, func(ctx context.Context) error { return s.Claim(ctx, k, "fp") })
					}()
					close(release)
					require.ErrorIs(t, <-holder, tc.result, "the holder's unit of work")
					if tc.want == nil {
						require.NoError(t, <-waiter, "the waiting claim")
					} else {
						require.ErrorIs(t, <-waiter, tc.want, "the waiting claim")
					}
				})
			}
		})

		t.Run("delete before", func(t *testing.T) {
			s, clk := open(t)
			old := idempotency.Key{Scope: "u", Value: "old"}
			require.NoError(t, s.Claim(ctx, old, "fp"), "claim old")
			require.NoError(t, s.Finish(ctx, old, created), "finish old")
			cut := clk.Now().Add(time.Minute)
			clk.Add(time.Hour)
			fresh := idempotency.Key{Scope: "u", Value: "fresh"}
			require.NoError(t, s.Claim(ctx, fresh, "fp"), "claim fresh")

			n, err := s.DeleteBefore(ctx, cut)
			require.NoError(t, err, "DeleteBefore")
			assert.Equal(t, int64(1), n, "one key was claimed before the cut")
			_, err = s.Load(ctx, old)
			require.ErrorIs(t, err, idempotency.ErrNotFound, "the old key is gone")
			_, err = s.Load(ctx, fresh)
			require.NoError(t, err, "the fresh key stays")
			n, err = s.DeleteBefore(ctx, cut)
			require.NoError(t, err, "DeleteBefore again")
			assert.Zero(t, n, "nothing left to delete")
			require.NoError(t, s.Claim(ctx, old, "another"), "a deleted key is new again")
		})
	})
}
