package auth

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/svckit/svckit/internal/httpstate"
)

// Claims are the verified claims of an access token (RFC 9068 §2.2): the
// registered claims of RFC 7519, the OAuth claims client_id and scope, the
// authentication claims auth_time, acr and amr, and the user's email, roles
// and groups. A zero time or empty string means the claim is absent.
//
// Claims marshal to and from the JWT claims set with encoding/json; every
// date (exp, nbf, iat, auth_time) must be a JSON number (RFC 7519
// NumericDate), never a string.
type Claims struct {
	Issuer    string    // "iss"
	Subject   string    // "sub"
	Audience  []string  // "aud": one string or an array on the wire
	ExpiresAt time.Time // "exp"
	NotBefore time.Time // "nbf"
	IssuedAt  time.Time // "iat"
	ID        string    // "jti"

	ClientID string    // "client_id": the OAuth client the token was issued to
	Scope    string    // "scope": space-separated scopes (RFC 8693 §4.2)
	AuthTime time.Time // "auth_time": when the user authenticated
	ACR      string    // "acr": authentication context class
	AMR      []string  // "amr": authentication methods

	Email  string   // "email"
	Roles  []string // "roles" (RFC 9068 §2.2.3.1, RFC 7643)
	Groups []string // "groups"
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

// HasScope reports whether the space-separated Scope holds every one of
// scopes. With no scopes it reports true. A nil *Claims has no scope.
func (c *Claims) HasScope(scopes ...string) bool {
	if c == nil {
		return false
	}
	have := strings.Fields(c.Scope)
	for _, s := range scopes {
		if !slices.Contains(have, s) {
			return false
		}
	}
	return true
}

// MarshalJSON encodes the claims set as a JWT payload.
func (c Claims) MarshalJSON() ([]byte, error) { return marshalJSON(c.wire()) }

// UnmarshalJSON decodes a JWT payload as VerifyAccess does: a date that
// is not a JSON number is an error, and so is a claim named twice, a name
// that differs from a claim's only by letter case ("ROLES"), and a string
// with NUL or invalid UTF-8 (see Verifier).
func (c *Claims) UnmarshalJSON(b []byte) error {
	var w accessWire
	if err := unmarshalJSON(b, &w); err != nil {
		return err
	}
	if err := strictClaims(b, reflect.TypeFor[accessWire]()); err != nil {
		return err
	}
	*c = w.claims()
	return nil
}

// RefreshClaims are the claims of a refresh token: sub, jti, the family id
// and the family's absolute expiry, besides iss, aud, exp and iat.
type RefreshClaims struct {
	Issuer    string    // "iss"
	Subject   string    // "sub"
	Audience  []string  // "aud"
	ExpiresAt time.Time // "exp"
	IssuedAt  time.Time // "iat"
	ID        string    // "jti"
	Family    string    // "fid": the family (login session)
	// FamilyExpiresAt is "fexp", the family's absolute expiry fixed at
	// login.
	FamilyExpiresAt time.Time
}

// MarshalJSON encodes the claims set as a JWT payload.
func (c RefreshClaims) MarshalJSON() ([]byte, error) { return marshalJSON(c.wire()) }

// UnmarshalJSON decodes a JWT payload under the rules of
// Claims.UnmarshalJSON.
func (c *RefreshClaims) UnmarshalJSON(b []byte) error {
	var w refreshWire
	if err := unmarshalJSON(b, &w); err != nil {
		return err
	}
	if err := strictClaims(b, reflect.TypeFor[refreshWire]()); err != nil {
		return err
	}
	*c = w.claims()
	return nil
}

// WithClaims returns a context carrying verified claims. A nil c hides
// the claims ctx carried.
func WithClaims(ctx context.Context, c *Claims) context.Context {
	ctx, st := httpstate.Derive(ctx)
	subject := ""
	if c != nil {
		subject = c.Subject
	}
	st.SetClaims(c, subject)
	return ctx
}

// ClaimsFrom returns the verified claims carried by ctx.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	v, _ := httpstate.From(ctx).Claims()
	c, ok := v.(*Claims)
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
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || hasSpace(token) {
		return "", ErrMalformedToken
	}
	return token, nil
}

// hasSpace reports whether s holds a space, tab, CR or LF. One comparison
// per byte of a token that has none: strings.ContainsAny took a tenth of
// a cached verification.
func hasSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' && (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			return true
		}
	}
	return false
}
