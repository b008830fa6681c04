package auth_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/auth/internal/storetest"
)

const (
	issuer   = "https://issuer.test"
	audience = "https://api.test"
	secret   = "0123456789abcdef0123456789abcdef"
)

func start() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

func hsKey(t testing.TB, id string) *auth.Key {
	k, err := auth.NewHS256Key(id, []byte(secret))
	require.NoError(t, err, "HS256 key")
	return k
}

func edKey(t testing.TB, id string) (*auth.Key, ed25519.PrivateKey) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err, "ed25519 key")
	k, err := auth.NewEdDSAKey(id, priv)
	require.NoError(t, err, "EdDSA key")
	return k, priv
}

func esKey(t testing.TB, id string) (*auth.Key, *ecdsa.PrivateKey) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err, "P-256 key")
	k, err := auth.NewES256Key(id, priv)
	require.NoError(t, err, "ES256 key")
	return k, priv
}

// fixture is a Tokens over a memory store with a stopped clock.
type fixture struct {
	*auth.Tokens
	keys  *auth.KeySet
	store *auth.Memory
	clock *storetest.Clock
	users *storetest.Users
}

func newFixture(t testing.TB, key *auth.Key, edit func(*auth.Options)) *fixture {
	t.Helper()
	keys, err := auth.NewKeySet(key)
	require.NoError(t, err, "key set")
	f := &fixture{keys: keys, store: auth.NewMemory(auth.MemoryOptions{}), clock: storetest.NewClock(start()), users: &storetest.Users{}}
	f.users.Put(auth.User{ID: "alice", Email: "alice@example.com", Roles: []string{"user"}})
	opts := auth.Options{Issuer: issuer, Audience: audience, Keys: keys, Store: f.store, Users: f.users, Now: f.clock.Now}
	if edit != nil {
		edit(&opts)
	}
	f.Tokens, err = auth.NewTokens(opts)
	require.NoError(t, err, "NewTokens")
	return f
}

// accessClaims returns valid access claims for alice at the fixture's start.
func accessClaims() *auth.Claims {
	now := start()
	return &auth.Claims{
		Issuer: issuer, Subject: "alice", Audience: []string{audience},
		ExpiresAt: now.Add(10 * time.Minute), IssuedAt: now,
		Email: "alice@example.com", Roles: []string{"admin"},
	}
}

// forge signs claims (anything encoding/json turns into an object) with any
// method, key and header the attacker likes.
func forge(t testing.TB, m jwt.SigningMethod, key any, header map[string]any, claims any) string {
	t.Helper()
	raw, err := json.Marshal(claims)
	require.NoError(t, err, "marshal the claims")
	var mc jwt.MapClaims
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&mc), "claims must be a JSON object")
	tok := jwt.NewWithClaims(m, mc)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err, "forge a token")
	return s
}
