package auth_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
)

// TestVerifyCacheDecidesAsBefore checks that a token verified once, and so
// remembered, is still refused whenever a fresh verification would refuse
// it: outside its time window, once its key retired or its kid names
// another key.
func TestVerifyCacheDecidesAsBefore(t *testing.T) {
	ctx := context.Background()
	hmacKey := []byte(secret)
	claims := func(edit func(m map[string]any)) map[string]any {
		now := start()
		m := map[string]any{"iss": issuer, "sub": "alice", "aud": audience, "iat": now.Unix(),
			"exp": now.Add(10 * time.Minute).Unix(), "roles": []string{"user"}}
		if edit != nil {
			edit(m)
		}
		return m
	}
	header := map[string]any{"kid": "k1", "typ": auth.AccessTokenType}
	cases := []struct {
		name   string
		claims map[string]any
		// between runs after the first, successful verification.
		between func(f *fixture)
		want    error // nil: still accepted
	}{
		{"the same token again", claims(nil), func(*fixture) {}, nil},
		{"within the leeway after exp", claims(nil), func(f *fixture) { f.clock.Advance(10*time.Minute + 20*time.Second) }, nil},
		{"past exp and the leeway", claims(nil), func(f *fixture) { f.clock.Advance(10*time.Minute + 31*time.Second) }, auth.ErrExpired},
		{"before nbf", claims(func(m map[string]any) { m["nbf"] = start().Add(-time.Second).Unix() }),
			func(f *fixture) { f.clock.Advance(-2 * time.Minute) }, auth.ErrInvalidToken},
		{"its key retired", claims(nil), func(f *fixture) {
			next := hsKey(t, "k2")
			require.NoError(t, f.keys.Rotate(next, time.Now().Add(-time.Second)), "rotate")
			f.keys.Retire(time.Now())
		}, auth.ErrInvalidToken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, hsKey(t, "k1"), func(o *auth.Options) { o.Leeway = 30 * time.Second })
			tok := forge(t, jwt.SigningMethodHS256, hmacKey, header, c.claims)
			_, err := f.VerifyAccess(ctx, tok)
			require.NoError(t, err, "the first verification accepts the token")
			c.between(f)
			got, err := f.VerifyAccess(ctx, tok)
			if c.want != nil {
				assert.ErrorIs(t, err, c.want, "a remembered token is refused as a fresh one would be")
				return
			}
			require.NoError(t, err, "a remembered token is accepted as a fresh one would be")
			assert.Equal(t, "alice", got.Subject, "the claims of the token")
		})
	}
}

// TestVerifyCacheKidReused checks that a kid that comes to name another key
// (a key set replaced by one whose "k1" is a different secret) ends the
// hits of tokens the old key verified.
func TestVerifyCacheKidReused(t *testing.T) {
	ctx := context.Background()
	src := &swappableKeys{}
	old, err := auth.NewHS256Key("k1", []byte(secret))
	require.NoError(t, err)
	src.set(old)
	v, err := auth.NewVerifier(src, auth.VerifierOptions{Issuer: issuer, Audience: audience, Now: start})
	require.NoError(t, err, "NewVerifier")
	tok := forge(t, jwt.SigningMethodHS256, []byte(secret), map[string]any{"kid": "k1", "typ": auth.AccessTokenType},
		map[string]any{"iss": issuer, "sub": "alice", "aud": audience, "exp": start().Add(time.Minute).Unix()})
	_, err = v.VerifyAccess(ctx, tok)
	require.NoError(t, err, "verified with the first k1")
	other, err := auth.NewHS256Key("k1", []byte(strings.Repeat("x", 32)))
	require.NoError(t, err)
	src.set(other)
	_, err = v.VerifyAccess(ctx, tok)
	assert.ErrorIs(t, err, auth.ErrInvalidToken, "k1 is another key now: the signature no longer verifies")
}

// swappableKeys is a KeySource whose one key can be replaced.
type swappableKeys struct {
	mu sync.Mutex
	k  *auth.Key
}

func (s *swappableKeys) set(k *auth.Key) { s.mu.Lock(); s.k = k; s.mu.Unlock() }

func (s *swappableKeys) VerificationKey(_ context.Context, kid string) (*auth.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.k == nil || s.k.ID() != kid {
		return nil, fmt.Errorf("unknown kid %q", kid)
	}
	return s.k, nil
}

// TestVerifyCacheClaimsAreTheCallers checks that claims returned from the
// cache can be modified without changing what the next caller gets.
func TestVerifyCacheClaimsAreTheCallers(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, hsKey(t, "k1"), nil)
	claims := accessClaims()
	claims.AMR, claims.Groups = []string{"pwd", "otp"}, []string{"staff"}
	tok := forge(t, jwt.SigningMethodHS256, []byte(secret), map[string]any{"kid": "k1", "typ": auth.AccessTokenType}, claims)
	for range 3 {
		c, err := f.VerifyAccess(ctx, tok)
		require.NoError(t, err, "VerifyAccess")
		require.Equal(t, []string{"admin"}, c.Roles, "every caller sees the token's roles")
		require.Equal(t, []string{"pwd", "otp"}, c.AMR, "every caller sees the token's amr")
		require.Equal(t, []string{"staff"}, c.Groups, "every caller sees the token's groups")
		// The lists of one copy share a backing array: growing one must
		// leave the next as it was.
		c.Audience = append(c.Audience, "other")
		c.AMR = append(c.AMR, "sms")
		c.Roles = append(c.Roles, "more")
		assert.Equal(t, []string{audience, "other"}, c.Audience, "audience grew alone")
		assert.Equal(t, []string{"pwd", "otp", "sms"}, c.AMR, "amr grew alone")
		assert.Equal(t, []string{"admin", "more"}, c.Roles, "roles grew alone")
		assert.Equal(t, []string{"staff"}, c.Groups, "groups untouched")
		c.Roles[0] = "root"
		c.Subject = "mallory"
	}
}

// TestVerifyCacheOff checks that a negative size verifies every time, and
// that the cache saves the parsing: a hit allocates a fraction of what a
// full verification does.
func TestVerifyCacheOff(t *testing.T) {
	ctx := context.Background()
	on := newFixture(t, hsKey(t, "k1"), nil)
	off := newFixture(t, hsKey(t, "k1"), func(o *auth.Options) { o.VerifyCacheSize = -1 })
	tok := forge(t, jwt.SigningMethodHS256, []byte(secret), map[string]any{"kid": "k1", "typ": auth.AccessTokenType}, accessClaims())
	verify := func(f *fixture) func() {
		return func() {
			if _, err := f.VerifyAccess(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
	}
	hit := testing.AllocsPerRun(100, verify(on))
	full := testing.AllocsPerRun(100, verify(off))
	t.Logf("allocations per verification: %.0f remembered, %.0f in full", hit, full)
	assert.Less(t, hit*4, full, "a remembered token costs a fraction of a full verification")
}

// TestVerifyCacheConcurrent verifies many tokens from many goroutines with
// a cache far smaller than the tokens, so entries are evicted while others
// read them (run with -race).
func TestVerifyCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, hsKey(t, "k1"), func(o *auth.Options) { o.VerifyCacheSize = 32 })
	const tokens = 200
	toks := make([]string, tokens)
	for i := range toks {
		c := accessClaims()
		c.Subject = fmt.Sprint("user-", i)
		toks[i] = forge(t, jwt.SigningMethodHS256, []byte(secret), map[string]any{"kid": "k1", "typ": auth.AccessTokenType}, c)
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 500 {
				n := (g*31 + i) % tokens
				c, err := f.VerifyAccess(ctx, toks[n])
				if err != nil || c.Subject != fmt.Sprint("user-", n) {
					t.Errorf("token %d: %v, %+v", n, err, c)
					return
				}
			}
		})
	}
	wg.Wait()
}
