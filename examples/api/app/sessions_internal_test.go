package app

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
)

// TestAuthService logs in, refreshes and logs out on repository.Memory and
// auth's in-memory refresh store: the login logic without HTTP or SQL.
func TestAuthService(t *testing.T) {
	users, _ := memoryUsers(t)
	key, err := auth.NewHS256Key("k1", []byte(strings.Repeat("s", 32)))
	require.NoError(t, err, "key")
	keys, err := auth.NewKeySet(key)
	require.NoError(t, err, "key set")
	tokens, err := auth.NewTokens(auth.Options{Issuer: Issuer, Keys: keys, Store: auth.NewMemory(auth.MemoryOptions{}), Users: auth.UserLookupFunc(users.authUser)})
	require.NoError(t, err, "tokens")
	s := newAuthService(users, tokens)
	ctx := context.Background()
	u, err := users.Register(ctx, "ada@example.com", "password-1", "Ada")
	require.NoError(t, err, "register")

	tests := []struct {
		name, email, password string
		ok                    bool
	}{
		{"right password", "ada@example.com", "password-1", true},
		{"email in another case", "Ada@Example.com", "password-1", true},
		{"wrong password", "ada@example.com", "password-9", false},
		{"unknown email", "eve@example.com", "password-1", false},
	}
	var pair TokenPair
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s.Login(ctx, tt.email, tt.password)
			if !tt.ok {
				assert.ErrorIs(t, err, ErrInvalidCredentials, "one error for both")
				return
			}
			require.NoError(t, err, "login")
			assert.Equal(t, "Bearer", p.TokenType, "token type")
			assert.Positive(t, p.ExpiresIn, "expiresIn")
			claims, err := tokens.VerifyAccess(ctx, p.AccessToken)
			require.NoError(t, err, "the access token verifies")
			assert.Equal(t, u.ID, claims.Subject, "for the user")
			pair = p
		})
	}
	next, err := s.Refresh(ctx, pair.RefreshToken)
	require.NoError(t, err, "refresh")
	_, err = s.Refresh(ctx, pair.RefreshToken)
	assert.Error(t, err, "a used refresh token is refused")
	require.NoError(t, s.Logout(ctx, next.RefreshToken), "logout")
	_, err = s.Refresh(ctx, next.RefreshToken)
	assert.Error(t, err, "a logged-out family is refused")
}
