package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/errkind"
)

// TestAttacks is the table of forged and misused tokens: every one must be
// rejected, with the error the row names.
func TestAttacks(t *testing.T) {
	ctx := context.Background()
	hsHeader := map[string]any{"kid": "k1", "typ": auth.AccessTokenType}
	hs := hsKey(t, "k1")
	ed, edPriv := edKey(t, "ed1")
	es, esPriv := esKey(t, "es1")
	esPub, err := x509.MarshalPKIXPublicKey(&esPriv.PublicKey)
	require.NoError(t, err, "marshal the P-256 public key")
	esPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: esPub})

	type attack struct {
		name   string
		key    *auth.Key // the service's signing key
		token  func(t *testing.T, f *fixture) string
		verify string // "access" (default) or "refresh"
		want   error
		not    error // an error the rejection must not match
	}
	withClaims := func(edit func(c *auth.Claims)) func(t *testing.T, f *fixture) string {
		return func(t *testing.T, f *fixture) string {
			c := accessClaims()
			edit(c)
			return forge(t, jwt.SigningMethodHS256, []byte(secret), hsHeader, c)
		}
	}
	withHeader := func(h map[string]any) func(t *testing.T, f *fixture) string {
		return func(t *testing.T, f *fixture) string {
			return forge(t, jwt.SigningMethodHS256, []byte(secret), h, accessClaims())
		}
	}
	issued := func(t *testing.T, f *fixture) auth.Pair {
		p, err := f.Issue(ctx, auth.User{ID: "alice", Roles: []string{"user"}})
		require.NoError(t, err, "Issue")
		return p
	}
	attacks := []attack{
		{name: "control: a well-formed forged-by-us token verifies", key: hs, token: withClaims(func(*auth.Claims) {})},
		{name: "alg none", key: hs, want: auth.ErrInvalidToken, token: func(t *testing.T, f *fixture) string {
			return forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, hsHeader, accessClaims())
		}},
		{name: "alg none, signature kept", key: hs, want: auth.ErrInvalidToken, token: func(t *testing.T, f *fixture) string {
			good := withClaims(func(*auth.Claims) {})(t, f)
			parts := strings.Split(good, ".")
			parts[0] = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"k1","typ":"at+jwt"}`))
			return strings.Join(parts, ".")
		}},
		{name: "key confusion: HS256 with the Ed25519 public key", key: ed, want: auth.ErrInvalidToken, token: func(t *testing.T, f *fixture) string {
			return forge(t, jwt.SigningMethodHS256, []byte(edPriv.Public().(ed25519.PublicKey)),
				map[string]any{"kid": "ed1", "typ": auth.AccessTokenType}, accessClaims())
		}},
		{name: "key confusion: HS256 with the P-256 public key PEM", key: es, want: auth.ErrInvalidToken, token: func(t *testing.T, f *fixture) string {
			return forge(t, jwt.SigningMethodHS256, esPEM, map[string]any{"kid": "es1", "typ": auth.AccessTokenType}, accessClaims())
		}},
		{name: "key confusion: HS256 with the P-256 public key DER", key: es, want: auth.ErrInvalidToken, token: func(t *testing.T, f *fixture) string {
			return forge(t, jwt.SigningMethodHS256, esPub, map[string]any{"kid": "es1", "typ": auth.AccessTokenType}, accessClaims())
		}},
		{name: "EdDSA with another key under our kid", key: ed, want: auth.ErrInvalidToken, token: func(t *testing.T, f *fixture) string {
			_, other := edKey(t, "x")
			return forge(t, jwt.SigningMethodEdDSA, other, map[string]any{"kid": "ed1", "typ": auth.AccessTokenType}, accessClaims())
		}},
		{name: "unknown kid", key: hs, want: auth.ErrInvalidToken, token: withHeader(map[string]any{"kid": "k2", "typ": auth.AccessTokenType})},
		{name: "missing kid", key: hs, want: auth.ErrInvalidToken, token: withHeader(map[string]any{"typ": auth.AccessTokenType})},
		{name: "numeric kid", key: hs, want: auth.ErrInvalidToken, token: withHeader(map[string]any{"kid": 1, "typ": auth.AccessTokenType})},
		{name: "kid path traversal", key: hs, want: auth.ErrInvalidToken, token: withHeader(map[string]any{"kid": "../../../../dev/null", "typ": auth.AccessTokenType})},
		{name: "kid URL", key: hs, want: auth.ErrInvalidToken, token: withHeader(map[string]any{"kid": "https://evil.example/jwks.json", "typ": auth.AccessTokenType})},
		{name: "kid SQL", key: hs, want: auth.ErrInvalidToken, token: withHeader(map[string]any{"kid": "k1' OR '1'='1", "typ": auth.AccessTokenType})},
		{name: "jku header", key: hs, want: auth.ErrInvalidToken, token: func(t *testing.T, f *fixture) string {
			_, other := edKey(t, "x")
			return forge(t, jwt.SigningMethodEdDSA, other, map[string]any{"kid": "k1", "typ": auth.AccessTokenType, "jku": "https://evil.example/jwks.json"}, accessClaims())
		}},
		{name: "expired", key: hs, want: auth.ErrExpired, token: withClaims(func(c *auth.Claims) {
			c.ExpiresAt = start().Add(-time.Minute)
		})},
		{name: "no exp", key: hs, want: auth.ErrInvalidToken, token: withClaims(func(c *auth.Claims) { c.ExpiresAt = time.Time{} })},
		{name: "nbf in the future", key: hs, want: auth.ErrInvalidToken, token: withClaims(func(c *auth.Claims) {
			c.NotBefore = start().Add(5 * time.Minute)
		})},
		{name: "wrong iss", key: hs, want: auth.ErrInvalidToken, token: withClaims(func(c *auth.Claims) { c.Issuer = "https://evil.example" })},
		{name: "no iss", key: hs, want: auth.ErrInvalidToken, token: withClaims(func(c *auth.Claims) { c.Issuer = "" })},
		{name: "wrong aud", key: hs, want: auth.ErrInvalidToken, token: withClaims(func(c *auth.Claims) { c.Audience = []string{"https://other.test"} })},
		{name: "no aud", key: hs, want: auth.ErrInvalidToken, token: withClaims(func(c *auth.Claims) { c.Audience = nil })},
		{name: "no sub", key: hs, want: auth.ErrInvalidToken, token: withClaims(func(c *auth.Claims) { c.Subject = "" })},
		{name: "access typ missing", key: hs, want: auth.ErrWrongTokenType, token: withHeader(map[string]any{"kid": "k1"})},
		{name: "access typ JWT", key: hs, want: auth.ErrWrongTokenType, token: withHeader(map[string]any{"kid": "k1", "typ": "JWT"})},
		{name: "refresh token as access", key: hs, want: auth.ErrWrongTokenType, token: func(t *testing.T, f *fixture) string {
			return issued(t, f).RefreshToken
		}},
		{name: "access token as refresh", key: hs, verify: "refresh", want: auth.ErrWrongTokenType, token: func(t *testing.T, f *fixture) string {
			return issued(t, f).AccessToken
		}},
		{name: "access token to Refresh", key: hs, verify: "rotate", want: auth.ErrWrongTokenType, token: func(t *testing.T, f *fixture) string {
			return issued(t, f).AccessToken
		}},
		{name: "signature stripped", key: hs, want: auth.ErrInvalidToken, token: func(t *testing.T, f *fixture) string {
			good := issued(t, f).AccessToken
			return good[:strings.LastIndexByte(good, '.')+1]
		}},
		{name: "signature segment removed", key: hs, want: auth.ErrInvalidToken, token: func(t *testing.T, f *fixture) string {
			good := issued(t, f).AccessToken
			return good[:strings.LastIndexByte(good, '.')]
		}},
		{name: "payload altered", key: hs, want: auth.ErrInvalidToken, token: func(t *testing.T, f *fixture) string {
			parts := strings.Split(issued(t, f).AccessToken, ".")
			payload, err := base64.RawURLEncoding.DecodeString(parts[1])
			require.NoError(t, err, "decode payload")
			parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"user"`, `"admin"`, 1)))
			return strings.Join(parts, ".")
		}},
		{name: "huge header", key: hs, want: auth.ErrInvalidToken, token: func(t *testing.T, f *fixture) string {
			return forge(t, jwt.SigningMethodHS256, []byte(secret),
				map[string]any{"kid": "k1", "typ": auth.AccessTokenType, "x": strings.Repeat("A", 8<<10)}, accessClaims())
		}},
		{name: "many dots", key: hs, want: auth.ErrInvalidToken, token: func(t *testing.T, f *fixture) string {
			return strings.Repeat(".", 1<<20)
		}},
		{name: "many dots under the length cap", key: hs, want: auth.ErrInvalidToken, token: func(t *testing.T, f *fixture) string {
			return "a" + strings.Repeat(".a", 2000)
		}},
		{name: "expired and forged (CVE-2024-51744 shape)", key: hs, want: auth.ErrInvalidToken, not: auth.ErrExpired, token: func(t *testing.T, f *fixture) string {
			c := accessClaims()
			c.ExpiresAt = start().Add(-time.Hour)
			return forge(t, jwt.SigningMethodHS256, []byte("an attacker's secret of 32 bytes!"), hsHeader, c)
		}},
		{name: "wrong typ and forged", key: hs, want: auth.ErrInvalidToken, not: auth.ErrWrongTokenType, token: func(t *testing.T, f *fixture) string {
			return forge(t, jwt.SigningMethodHS256, []byte("an attacker's secret of 32 bytes!"), map[string]any{"kid": "k1", "typ": "rt+jwt"}, accessClaims())
		}},
		{name: "empty", key: hs, want: auth.ErrInvalidToken, token: func(*testing.T, *fixture) string { return "" }},
		{name: "garbage", key: hs, want: auth.ErrInvalidToken, token: func(*testing.T, *fixture) string { return "a.b.c" }},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			f := newFixture(t, a.key, nil)
			tok := a.token(t, f)
			var err error
			switch a.verify {
			case "refresh":
				_, err = f.VerifyRefresh(ctx, tok)
			case "rotate":
				_, err = f.Refresh(ctx, tok)
			default:
				var c *auth.Claims
				c, err = f.VerifyAccess(ctx, tok)
				if err != nil {
					assert.Nil(t, c, "no claims with an error")
				}
			}
			if a.want == nil {
				assert.NoError(t, err, "the control token must verify")
				return
			}
			require.ErrorIs(t, err, a.want, "the attack must be rejected with the named error")
			var ae *auth.Error
			require.ErrorAs(t, err, &ae, "every rejection is an *auth.Error")
			assert.Equal(t, errkind.Unauthorized, errkind.Of(err), "and renders 401")
			if a.not != nil {
				assert.NotErrorIs(t, err, a.not, "a forged token must never get a verdict on its claims")
			}
		})
	}
}

// TestRefreshAttacks covers the stateful attacks: a revoked family, reuse
// of a rotated token, a retired key.
func TestRefreshAttacks(t *testing.T) {
	ctx := context.Background()
	t.Run("revoked family", func(t *testing.T) {
		f := newFixture(t, hsKey(t, "k1"), nil)
		p, err := f.Issue(ctx, auth.User{ID: "alice"})
		require.NoError(t, err, "Issue")
		require.NoError(t, f.Logout(ctx, p.RefreshToken), "Logout")
		_, err = f.Refresh(ctx, p.RefreshToken)
		assert.ErrorIs(t, err, auth.ErrRevoked, "a revoked family must not refresh")
	})
	t.Run("reuse of a rotated token", func(t *testing.T) {
		f := newFixture(t, hsKey(t, "k1"), nil)
		p1, err := f.Issue(ctx, auth.User{ID: "alice"})
		require.NoError(t, err, "Issue")
		p2, err := f.Refresh(ctx, p1.RefreshToken)
		require.NoError(t, err, "Refresh")
		p3, err := f.Refresh(ctx, p2.RefreshToken)
		require.NoError(t, err, "Refresh")
		_, err = f.Refresh(ctx, p1.RefreshToken)
		assert.ErrorIs(t, err, auth.ErrTokenReused, "the stolen old token is detected")
		_, err = f.Refresh(ctx, p3.RefreshToken)
		assert.ErrorIs(t, err, auth.ErrRevoked, "and the newest token of the family fails too")
	})
	t.Run("refresh token forged with our family id", func(t *testing.T) {
		f := newFixture(t, hsKey(t, "k1"), nil)
		p, err := f.Issue(ctx, auth.User{ID: "alice"})
		require.NoError(t, err, "Issue")
		rc, err := f.VerifyRefresh(ctx, p.RefreshToken)
		require.NoError(t, err, "VerifyRefresh")
		rc.ID = "a-jti-the-store-never-saw"
		tok := forge(t, jwt.SigningMethodHS256, []byte(secret), map[string]any{"kid": "k1", "typ": auth.RefreshTokenType}, rc)
		_, err = f.Refresh(ctx, tok)
		assert.ErrorIs(t, err, auth.ErrInvalidToken, "a jti the store does not know must be refused")
	})
	t.Run("retired key", func(t *testing.T) {
		f := newFixture(t, hsKey(t, "k1"), func(o *auth.Options) { o.AccessTTL = time.Minute; o.RefreshTTL = time.Hour })
		p, err := f.Issue(ctx, auth.User{ID: "alice"})
		require.NoError(t, err, "Issue")
		require.NoError(t, f.RotateKey(hsKey(t, "k2")), "RotateKey")
		f.clock.Advance(time.Hour + time.Second)
		_, err = f.VerifyRefresh(ctx, p.RefreshToken)
		assert.ErrorIs(t, err, auth.ErrInvalidToken, "a token of a retired key must not verify")
		assert.NotErrorIs(t, err, auth.ErrExpired, "a retired key gives no verdict on the claims")
	})
}

// FuzzVerifyAccess feeds arbitrary strings to the token parser: it must
// never panic, and must reject everything but tokens it issued itself.
func FuzzVerifyAccess(f *testing.F) {
	// Deterministic ids: every fuzz worker process must issue the same
	// token as the one that seeded the corpus.
	fx := newFixture(f, hsKey(f, "k1"), func(o *auth.Options) { o.Rand = rand.NewChaCha8([32]byte{1}) })
	p, err := fx.Issue(context.Background(), auth.User{ID: "alice", Roles: []string{"user"}})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{p.AccessToken, p.RefreshToken, "", ".", "..", "a.b.c",
		"eyJhbGciOiJub25lIn0.e30.", p.AccessToken + "x", p.AccessToken[:len(p.AccessToken)-2]} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := fx.VerifyAccess(context.Background(), tok)
		if err != nil {
			var ae *auth.Error
			if !errors.As(err, &ae) || c != nil {
				t.Fatalf("VerifyAccess(%q) = %v, %v: want nil claims and an *auth.Error", tok, c, err)
			}
			return
		}
		if tok != p.AccessToken {
			t.Fatalf("VerifyAccess accepted a token it did not issue: %q", tok)
		}
	})
}
