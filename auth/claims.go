package auth

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the verified claims of an access token: the registered claims
// (sub, iss, aud, exp, iat, nbf, jti) plus the user's email and roles.
type Claims struct {
	jwt.RegisteredClaims
	Email string   `json:"email,omitempty"`
	Roles []string `json:"roles,omitempty"`
}

// HasRole reports whether the claims carry at least one of roles. With no
// roles it reports true. A nil *Claims has no role.
func (c *Claims) HasRole(roles ...string) bool {
	if c == nil {
		return false
	}
	if len(roles) == 0 {
		return true
	}
	for _, r := range roles {
		if slices.Contains(c.Roles, r) {
			return true
		}
	}
	return false
}

type claimsKey struct{}

// WithClaims returns a context carrying verified claims.
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFrom returns the verified claims carried by ctx.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// Errors returned by BearerToken.
var (
	// ErrNoToken means the request has no Authorization header.
	ErrNoToken = &Error{kind: "no_token", msg: "auth: no bearer token", public: "missing bearer token"}
	// ErrMalformedToken means the Authorization header is not exactly
	// "Bearer <token>".
	ErrMalformedToken = &Error{kind: "malformed", msg: "auth: malformed authorization header", public: "malformed authorization header"}
)

// BearerToken returns the token of an "Authorization: Bearer <token>" header.
// The scheme is matched case-insensitively and must be followed by exactly
// one space and a non-empty token without spaces; anything else is
// ErrMalformedToken. A missing header is ErrNoToken.
func BearerToken(r *http.Request) (string, error) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		return "", ErrNoToken
	}
	if len(vals) > 1 {
		return "", ErrMalformedToken
	}
	scheme, token, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t\r\n") {
		return "", ErrMalformedToken
	}
	return token, nil
}
