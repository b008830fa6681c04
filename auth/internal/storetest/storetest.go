// Package storetest is the contract every auth.RefreshStore must pass. Each
// store's tests call Run with a function that opens a fresh, empty store.
package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
)

// Concurrency is how many goroutines race to rotate one token.
const Concurrency = 100

// start returns the fixed time the contract starts at.
func start() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

// Opener returns a fresh, empty store for one subtest.
type Opener func(t *testing.T) auth.RefreshStore

// Run runs the whole contract: the store on its own, then under a Tokens
// service.
func Run(t *testing.T, open Opener) {
	t.Run("store", func(t *testing.T) { runStore(t, open) })
	t.Run("service", func(t *testing.T) { runService(t, open) })
}

func hash(t *testing.T) auth.TokenHash {
	t.Helper()
	var h auth.TokenHash
	_, err := rand.Read(h[:])
	require.NoError(t, err, "random hash")
	return h
}

func token(t *testing.T, fam, sub string) auth.RefreshToken {
	t0 := start()
	return auth.RefreshToken{Hash: hash(t), Family: fam, Subject: sub,
		ExpiresAt: t0.Add(time.Hour), FamilyExpiresAt: t0.Add(2 * time.Hour)}
}

// newFamily creates a family for sub and returns its first token.
func newFamily(t *testing.T, s auth.RefreshStore, fam, sub string) auth.RefreshToken {
	t.Helper()
	tok := token(t, fam, sub)
	require.NoError(t, s.Create(context.Background(), tok), "Create must store a new family")
	return tok
}

// rotate rotates old into a fresh child at now with grace.
func rotate(t *testing.T, s auth.RefreshStore, old auth.RefreshToken, now time.Time, grace time.Duration) (auth.RefreshToken, error) {
	t.Helper()
	child := token(t, old.Family, old.Subject)
	err := s.Rotate(context.Background(), auth.Rotation{Old: old.Hash, Child: child, Now: now, Grace: grace})
	return child, err
}

// reuse returns a case in which a family's first token rotates at the
// start, comes back after the time at with grace (always ErrTokenReused: a
// reused token never gets a new one), and then its child is presented a
// second later, which must give want (nil: the family is still valid).
func reuse(at, grace time.Duration, want error, msg string) func(t *testing.T, s auth.RefreshStore) {
	return func(t *testing.T, s auth.RefreshStore) {
		t0 := start()
		first := newFamily(t, s, "fam-a", "user-1")
		second, err := rotate(t, s, first, t0, 0)
		require.NoError(t, err, "first rotation")
		_, err = rotate(t, s, first, t0.Add(at), grace)
		assert.ErrorIs(t, err, auth.ErrTokenReused, "presenting a used token must be ErrTokenReused, within grace or not")
		_, err = rotate(t, s, second, t0.Add(at+time.Second), grace)
		assert.ErrorIs(t, err, want, msg)
	}
}

func runStore(t *testing.T, open Opener) {
	ctx := context.Background()
	t0 := start()
	cases := []struct {
		name string
		run  func(t *testing.T, s auth.RefreshStore)
	}{
		{"rotation chain", func(t *testing.T, s auth.RefreshStore) {
			tok := newFamily(t, s, "fam-a", "user-1")
			for i := range 5 {
				next, err := rotate(t, s, tok, t0.Add(time.Duration(i)*time.Minute), 0)
				require.NoError(t, err, "rotation %d of an unused token must succeed", i)
				tok = next
			}
		}},
		{"unknown token", func(t *testing.T, s auth.RefreshStore) {
			newFamily(t, s, "fam-a", "user-1")
			_, err := rotate(t, s, token(t, "fam-a", "user-1"), t0, 0)
			assert.ErrorIs(t, err, auth.ErrInvalidToken, "an unknown hash must be ErrInvalidToken")
		}},
		{"family mismatch", func(t *testing.T, s auth.RefreshStore) {
			a := newFamily(t, s, "fam-a", "user-1")
			newFamily(t, s, "fam-b", "user-1")
			child := token(t, "fam-b", "user-1")
			err := s.Rotate(ctx, auth.Rotation{Old: a.Hash, Child: child, Now: t0})
			assert.ErrorIs(t, err, auth.ErrInvalidToken, "a child in another family must be refused")
			_, err = rotate(t, s, a, t0, 0)
			assert.NoError(t, err, "the refused rotation must not have used the token up")
		}},
		{"reuse revokes the family", reuse(time.Second, 0, auth.ErrRevoked,
			"after reuse the newest token of the family must be revoked")},
		{"grace forgives the immediate predecessor", reuse(5*time.Second, 10*time.Second, nil,
			"within grace the family must stay valid")},
		{"grace over revokes", reuse(11*time.Second, 10*time.Second, auth.ErrRevoked,
			"a reuse after grace must revoke the family")},
		{"grace never covers an older ancestor", func(t *testing.T, s auth.RefreshStore) {
			first := newFamily(t, s, "fam-a", "user-1")
			second, err := rotate(t, s, first, t0, 0)
			require.NoError(t, err, "first rotation")
			third, err := rotate(t, s, second, t0.Add(time.Second), 0)
			require.NoError(t, err, "second rotation")
			_, err = rotate(t, s, first, t0.Add(2*time.Second), 10*time.Second)
			assert.ErrorIs(t, err, auth.ErrTokenReused, "reuse of a grandparent")
			_, err = rotate(t, s, third, t0.Add(3*time.Second), 10*time.Second)
			assert.ErrorIs(t, err, auth.ErrRevoked, "reuse of a grandparent must revoke even within grace")
		}},
		{"revoke family", func(t *testing.T, s auth.RefreshStore) {
			a := newFamily(t, s, "fam-a", "user-1")
			b := newFamily(t, s, "fam-b", "user-1")
			require.NoError(t, s.RevokeFamily(ctx, "fam-a", t0), "RevokeFamily")
			require.NoError(t, s.RevokeFamily(ctx, "fam-a", t0), "revoking twice is not an error")
			require.NoError(t, s.RevokeFamily(ctx, "no-such-family", t0), "revoking an unknown family is not an error")
			_, err := rotate(t, s, a, t0, 0)
			assert.ErrorIs(t, err, auth.ErrRevoked, "a revoked family must not rotate")
			_, err = rotate(t, s, b, t0, 0)
			assert.NoError(t, err, "another family of the same user must be untouched")
		}},
		{"revoke subject", func(t *testing.T, s auth.RefreshStore) {
			a := newFamily(t, s, "fam-a", "user-1")
			b := newFamily(t, s, "fam-b", "user-1")
			c := newFamily(t, s, "fam-c", "user-2")
			require.NoError(t, s.RevokeSubject(ctx, "user-1", t0), "RevokeSubject")
			for _, tok := range []auth.RefreshToken{a, b} {
				_, err := rotate(t, s, tok, t0, 0)
				assert.ErrorIs(t, err, auth.ErrRevoked, "every family of the user must be revoked")
			}
			_, err := rotate(t, s, c, t0, 0)
			assert.NoError(t, err, "another user's family must be untouched")
		}},
		{"concurrent rotations", func(t *testing.T, s auth.RefreshStore) {
			for _, grace := range []time.Duration{0, time.Minute} {
				fam := "fam-" + grace.String()
				first := newFamily(t, s, fam, "user-1")
				children := make([]auth.RefreshToken, Concurrency)
				errs := make([]error, Concurrency)
				var wg sync.WaitGroup
				for i := range Concurrency {
					children[i] = token(t, fam, "user-1")
					wg.Go(func() {
						errs[i] = s.Rotate(ctx, auth.Rotation{Old: first.Hash, Child: children[i], Now: t0, Grace: grace})
					})
				}
				wg.Wait()
				winners := 0
				var winner auth.RefreshToken
				for i, err := range errs {
					if err == nil {
						winners++
						winner = children[i]
						continue
					}
					assert.True(t, errorIsAny(err, auth.ErrTokenReused, auth.ErrRevoked),
						"a losing rotation (grace %v) must be ErrTokenReused or, once the family is revoked, ErrRevoked; got %v", grace, err)
				}
				require.Equal(t, 1, winners, "exactly one of %d concurrent rotations must win (grace %v)", Concurrency, grace)
				_, err := rotate(t, s, winner, t0, 0)
				if grace == 0 {
					assert.ErrorIs(t, err, auth.ErrRevoked, "without grace the losers' reuse revokes the winner's family")
				} else {
					assert.NoError(t, err, "within grace the winner's token must stay valid")
				}
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

// errorIsAny reports whether err matches one of targets.
func errorIsAny(err error, targets ...error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
