package app

import (
	"context"

	"github.com/svckit/svckit/auth"
)

// TokenPair is the answer of login and refresh.
type TokenPair struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	TokenType    string `json:"tokenType"`
	ExpiresIn    int    `json:"expiresIn"` // seconds the access token lives
}

// AuthService logs users in and out: it checks a password with the
// UserService and issues, rotates and revokes token pairs with auth.Tokens.
// Throttling login attempts is the HTTP layer's (it keys on the client
// address). Build it with newAuthService; it is safe for concurrent use.
type AuthService struct {
	users  *UserService
	tokens *auth.Tokens
}

func newAuthService(users *UserService, tokens *auth.Tokens) *AuthService {
	return &AuthService{users: users, tokens: tokens}
}

// Login returns a new token pair for the user whose email and password
// match, or ErrInvalidCredentials for an unknown email and a wrong password
// alike.
func (s *AuthService) Login(ctx context.Context, email, password string) (TokenPair, error) {
	u, err := s.users.Authenticate(ctx, email, password)
	if err != nil {
		return TokenPair{}, err
	}
	p, err := s.tokens.Issue(ctx, auth.User{ID: u.ID, Email: u.Email, Roles: u.Roles})
	if err != nil {
		return TokenPair{}, err
	}
	return s.pair(p), nil
}

// Refresh rotates a refresh token into a new pair (see auth.Tokens.Refresh:
// a reused token revokes its family).
func (s *AuthService) Refresh(ctx context.Context, refreshToken string) (TokenPair, error) {
	p, err := s.tokens.Refresh(ctx, refreshToken)
	if err != nil {
		return TokenPair{}, err
	}
	return s.pair(p), nil
}

// Logout revokes the family of a refresh token.
func (s *AuthService) Logout(ctx context.Context, refreshToken string) error {
	return s.tokens.Logout(ctx, refreshToken)
}

func (s *AuthService) pair(p auth.Pair) TokenPair {
	return TokenPair{AccessToken: p.AccessToken, RefreshToken: p.RefreshToken, TokenType: "Bearer", ExpiresIn: int(s.tokens.AccessTTL().Seconds())}
}
