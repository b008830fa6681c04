package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
)

// Clock is a settable clock for tests. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at now.
func NewClock(now time.Time) *Clock { return &Clock{now: now} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Users is an in-memory user table for tests. It is safe for concurrent use.
type Users struct {
	mu    sync.Mutex
	users map[string]auth.User
}

// Put adds or replaces u.
func (u *Users) Put(user auth.User) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.users == nil {
		u.users = map[string]auth.User{}
	}
	u.users[user.ID] = user
}

// Delete removes the user with id.
func (u *Users) Delete(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.users, id)
}

// LookupUser returns the user or auth.ErrUserNotFound.
func (u *Users) LookupUser(_ context.Context, id string) (auth.User, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	user, ok := u.users[id]
	if !ok {
		return auth.User{}, fmt.Errorf("user %q: %w", id, auth.ErrUserNotFound)
	}
	return user, nil
}

// Service is a Tokens over a store with a settable clock and user table.
type Service struct {
	*auth.Tokens
	Clock *Clock
	Users *Users
}

// NewService returns a Tokens signing with an HS256 key, over store, with a
// clock stopped at the contract's start, users "alice" and "bob", and the
// given reuse grace.
func NewService(t testing.TB, store auth.RefreshStore, grace time.Duration) *Service {
	t.Helper()
	key, err := auth.NewHS256Key("k1", []byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err, "HS256 key")
	keys, err := auth.NewKeySet(key)
	require.NoError(t, err, "key set")
	s := &Service{Clock: NewClock(start()), Users: &Users{}}
	s.Users.Put(auth.User{ID: "alice", Email: "alice@example.com", Roles: []string{"user"}})
	s.Users.Put(auth.User{ID: "bob", Email: "bob@example.com", Roles: []string{"user"}})
	s.Tokens, err = auth.NewTokens(auth.Options{
		Issuer: "https://issuer.test", Audience: "https://api.test",
		RefreshTTL: time.Hour, Keys: keys, Store: store, Users: s.Users,
		Now: s.Clock.Now, ReuseGrace: grace,
	})
	require.NoError(t, err, "NewTokens")
	return s
}

func runService(t *testing.T, open Opener) {
	ctx := context.Background()
	cases := []struct {
		name string
		run  func(t *testing.T, s *Service)
	}{
		{"refresh carries the current roles", func(t *testing.T, s *Service) {
			p, err := s.Issue(ctx, auth.User{ID: "alice", Email: "alice@example.com", Roles: []string{"user"}})
			require.NoError(t, err, "Issue")
			s.Users.Put(auth.User{ID: "alice", Email: "alice@example.com", Roles: []string{"admin"}})
			p2, err := s.Refresh(ctx, p.RefreshToken)
			require.NoError(t, err, "Refresh of a fresh token")
			c, err := s.VerifyAccess(ctx, p2.AccessToken)
			require.NoError(t, err, "the new access token must verify")
			assert.Equal(t, []string{"admin"}, c.Roles, "refresh must take the roles from the user store")
		}},
		{"reuse revokes the newest token", func(t *testing.T, s *Service) {
			p1, err := s.Issue(ctx, auth.User{ID: "alice"})
			require.NoError(t, err, "Issue")
			p2, err := s.Refresh(ctx, p1.RefreshToken)
			require.NoError(t, err, "first Refresh")
			_, err = s.Refresh(ctx, p1.RefreshToken)
			assert.ErrorIs(t, err, auth.ErrTokenReused, "a rotated token presented again is reuse")
			_, err = s.Refresh(ctx, p2.RefreshToken)
			assert.ErrorIs(t, err, auth.ErrRevoked, "after reuse the newest token must fail too")
		}},
		{"logout", func(t *testing.T, s *Service) {
			p, err := s.Issue(ctx, auth.User{ID: "alice"})
			require.NoError(t, err, "Issue")
			require.NoError(t, s.Logout(ctx, p.RefreshToken), "Logout")
			_, err = s.Refresh(ctx, p.RefreshToken)
			assert.ErrorIs(t, err, auth.ErrRevoked, "a logged-out family must not refresh")
		}},
		{"logout everywhere", func(t *testing.T, s *Service) {
			a1, err := s.Issue(ctx, auth.User{ID: "alice"})
			require.NoError(t, err, "Issue")
			a2, err := s.Issue(ctx, auth.User{ID: "alice"})
			require.NoError(t, err, "Issue")
			b, err := s.Issue(ctx, auth.User{ID: "bob"})
			require.NoError(t, err, "Issue")
			require.NoError(t, s.LogoutAll(ctx, "alice"), "LogoutAll")
			for _, p := range []auth.Pair{a1, a2} {
				_, err = s.Refresh(ctx, p.RefreshToken)
				assert.ErrorIs(t, err, auth.ErrRevoked, "every family of alice must be revoked")
			}
			_, err = s.Refresh(ctx, b.RefreshToken)
			assert.NoError(t, err, "bob must still refresh")
		}},
		{"deleted user", func(t *testing.T, s *Service) {
			p, err := s.Issue(ctx, auth.User{ID: "alice"})
			require.NoError(t, err, "Issue")
			s.Users.Delete("alice")
			_, err = s.Refresh(ctx, p.RefreshToken)
			assert.ErrorIs(t, err, auth.ErrUnknownUser, "a deleted user must not refresh")
			s.Users.Put(auth.User{ID: "alice"})
			_, err = s.Refresh(ctx, p.RefreshToken)
			assert.ErrorIs(t, err, auth.ErrRevoked, "the family of a deleted user stays revoked")
		}},
		{"family expiry is never extended", func(t *testing.T, s *Service) {
			p, err := s.Issue(ctx, auth.User{ID: "alice"})
			require.NoError(t, err, "Issue")
			famExp := p.RefreshExpiresAt
			for range 3 {
				s.Clock.Advance(15 * time.Minute)
				p, err = s.Refresh(ctx, p.RefreshToken)
				require.NoError(t, err, "Refresh within the family's life")
				assert.True(t, !p.RefreshExpiresAt.After(famExp), "a rotated token must not outlive the family: %v > %v", p.RefreshExpiresAt, famExp)
			}
			assert.Equal(t, famExp.Unix(), p.RefreshExpiresAt.Unix(), "late in the family the child expires with the family")
			s.Clock.Advance(16 * time.Minute)
			_, err = s.Refresh(ctx, p.RefreshToken)
			assert.ErrorIs(t, err, auth.ErrExpired, "past the family's expiry refresh must fail")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, NewService(t, open(t), 0)) })
	}
	for _, grace := range []time.Duration{0, time.Minute} {
		t.Run(fmt.Sprintf("%d concurrent refreshes grace %v", Concurrency, grace), func(t *testing.T) {
			concurrentRefresh(t, NewService(t, open(t), grace), grace)
		})
	}
}

// concurrentRefresh races Concurrency refreshes of one token: exactly one
// new pair comes out.
func concurrentRefresh(t *testing.T, s *Service, grace time.Duration) {
	ctx := context.Background()
	p, err := s.Issue(ctx, auth.User{ID: "alice"})
	require.NoError(t, err, "Issue")
	pairs := make([]auth.Pair, Concurrency)
	errs := make([]error, Concurrency)
	var wg sync.WaitGroup
	for i := range Concurrency {
		wg.Go(func() { pairs[i], errs[i] = s.Refresh(ctx, p.RefreshToken) })
	}
	wg.Wait()
	var won []auth.Pair
	for i, err := range errs {
		if err == nil {
			won = append(won, pairs[i])
			continue
		}
		assert.True(t, errorIsAny(err, auth.ErrTokenReused, auth.ErrRevoked),
			"a losing refresh must be ErrTokenReused or ErrRevoked; got %v", err)
	}
	require.Len(t, won, 1, "exactly one of %d concurrent refreshes must get a new pair", Concurrency)
	_, err = s.Refresh(ctx, won[0].RefreshToken)
	if grace == 0 {
		assert.ErrorIs(t, err, auth.ErrRevoked, "without grace the losers' reuse revokes the family")
	} else {
		assert.NoError(t, err, "within grace the winner's pair must stay valid")
	}
}
