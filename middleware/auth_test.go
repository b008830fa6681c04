package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/middleware"
)

// whoami answers with the subject of the claims in the context, or "anon".
func whoami() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := auth.ClaimsFrom(r.Context()); ok {
			_, _ = w.Write([]byte(c.Subject))
			return
		}
		_, _ = w.Write([]byte("anon"))
	})
}

func TestAuth(t *testing.T) {
	noneToken, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
		"sub": "u1", "iss": "svckit-test", "aud": "api", "exp": testNow().Add(time.Hour).Unix(),
	}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err, "sign alg=none token")

	tests := []struct {
		name      string
		header    []string
		roles     []string
		optional  bool
		status    int
		challenge string
		body      string
	}{
		{"no header", nil, nil, false, 401, `Bearer`, ""},
		{"no header, optional", nil, nil, true, 200, "", "anon"},
		{"basic scheme", []string{"Basic dTpw"}, nil, false, 401, `Bearer error="invalid_request"`, ""},
		{"basic scheme, optional", []string{"Basic dTpw"}, nil, true, 401, `Bearer error="invalid_request"`, ""},
		{"empty bearer", []string{"Bearer "}, nil, false, 401, `Bearer error="invalid_request"`, ""},
		{"two headers", []string{"Bearer a", "Bearer b"}, nil, false, 401, `Bearer error="invalid_request"`, ""},
		{"garbage token", []string{"Bearer not.a.jwt"}, nil, false, 401, `Bearer error="invalid_token"`, ""},
		{"garbage token, optional", []string{"Bearer xyz"}, nil, true, 401, `Bearer error="invalid_token"`, ""},
		{"wrong secret", []string{"Bearer " + signToken(t, []byte("another-secret-another-secret-32"), "u1", testNow().Add(time.Hour))}, nil, false, 401, `Bearer error="invalid_token"`, ""},
		{"expired", []string{"Bearer " + signToken(t, []byte(testSecret), "u1", testNow().Add(-time.Second))}, nil, false, 401, `Bearer error="invalid_token"`, ""},
		{"alg none", []string{"Bearer " + noneToken}, nil, false, 401, `Bearer error="invalid_token"`, ""},
		{"valid", []string{"Bearer " + validToken(t, "u1")}, nil, false, 200, "", "u1"},
		{"valid, lower-case scheme", []string{"bearer " + validToken(t, "u1")}, nil, false, 200, "", "u1"},
		{"valid, optional", []string{"Bearer " + validToken(t, "u1")}, nil, true, 200, "", "u1"},
		{"valid with role", []string{"Bearer " + validToken(t, "u2", "admin")}, []string{"admin"}, false, 200, "", "u2"},
		{"valid with one of the roles", []string{"Bearer " + validToken(t, "u2", "editor")}, []string{"admin", "editor"}, false, 200, "", "u2"},
		{"valid without role", []string{"Bearer " + validToken(t, "u3", "user")}, []string{"admin"}, false, 403, `Bearer error="insufficient_scope"`, ""},
		{"valid without any role", []string{"Bearer " + validToken(t, "u3")}, []string{"admin"}, false, 403, `Bearer error="insufficient_scope"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mw := auth.BearerWithOptions(auth.BearerOptions{Verifier: newVerifier(), Roles: tt.roles, Optional: tt.optional})
			req := httptest.NewRequest("GET", "/", nil)
			for _, v := range tt.header {
				req.Header.Add("Authorization", v)
			}
			rec := serve(mw(whoami()), req)
			require.Equal(t, tt.status, rec.Code, "status: %s", rec.Body.String())
			assert.Equal(t, tt.challenge, rec.Header().Get("WWW-Authenticate"), "challenge")
			switch tt.status {
			case 200:
				assert.Equal(t, tt.body, rec.Body.String(), "claims reach the handler")
			case 401:
				assert.Equal(t, "UNAUTHORIZED", errorCode(t, rec), "401 code")
			case 403:
				assert.Equal(t, "FORBIDDEN", errorCode(t, rec), "403 code")
			}
		})
	}
}

func TestAuthShortcuts(t *testing.T) {
	v := newVerifier()
	admin := "Bearer " + validToken(t, "a", "admin")
	user := "Bearer " + validToken(t, "u", "user")
	tests := []struct {
		name   string
		mw     func(http.Handler) http.Handler
		header string
		status int
	}{
		{"Auth any role", auth.Bearer(v), user, 200},
		{"Auth admin with user", auth.Bearer(v, "admin"), user, 403},
		{"Auth admin with admin", auth.Bearer(v, "admin"), admin, 200},
		{"Auth no token", auth.Bearer(v), "", 401},
		{"OptionalAuth anonymous", auth.OptionalBearer(v), "", 200},
		{"OptionalAuth user", auth.OptionalBearer(v), user, 200},
		{"RequireRole after OptionalAuth, anonymous", middleware.Chain(auth.OptionalBearer(v), auth.RequireRole("admin")).Handler, "", 401},
		{"RequireRole after Auth, user", middleware.Chain(auth.Bearer(v), auth.RequireRole("admin")).Handler, user, 403},
		{"RequireRole after Auth, admin", middleware.Chain(auth.Bearer(v), auth.RequireRole("admin")).Handler, admin, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := serve(tt.mw(whoami()), req)
			assert.Equal(t, tt.status, rec.Code, "status: %s", rec.Body.String())
		})
	}
}

func TestAuthVerifierFunc(t *testing.T) {
	var gotToken string
	v := auth.AccessVerifierFunc(func(_ context.Context, token string) (*auth.Claims, error) {
		gotToken = token
		if token == "good" {
			return &auth.Claims{Subject: "fn"}, nil
		}
		if token == "nil" {
			return nil, nil
		}
		return nil, errors.New("bad")
	})
	for _, tt := range []struct {
		token  string
		status int
	}{{"good", 200}, {"bad", 401}, {"nil", 401}} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+tt.token)
		rec := serve(auth.Bearer(v)(whoami()), req)
		assert.Equal(t, tt.status, rec.Code, "token %q", tt.token)
		assert.Equal(t, tt.token, gotToken, "the verifier gets the token without the scheme")
	}
	assert.Panics(t, func() { auth.Bearer(nil) }, "a nil verifier is a programming error")
}

// TestAuthWithTokenService runs Auth with the auth package's token service:
// a token it issued passes, its refresh token does not.
func TestAuthWithTokenService(t *testing.T) {
	key, err := auth.NewHS256Key("k1", []byte(testSecret))
	require.NoError(t, err, "key")
	keys, err := auth.NewKeySet(key)
	require.NoError(t, err, "key set")
	users := auth.UserLookupFunc(func(_ context.Context, id string) (auth.User, error) {
		return auth.User{ID: id, Roles: []string{"admin"}}, nil
	})
	tokens, err := auth.NewTokens(auth.Options{Issuer: "svckit-test", Keys: keys, Store: &auth.Memory{}, Users: users})
	require.NoError(t, err, "token service")
	pair, err := tokens.Issue(context.Background(), auth.User{ID: "u-9", Roles: []string{"admin"}})
	require.NoError(t, err, "issue")

	h := auth.Bearer(tokens, "admin")(whoami())
	for _, tt := range []struct {
		name   string
		token  string
		status int
	}{
		{"access token", pair.AccessToken, http.StatusOK},
		{"refresh token used as access token", pair.RefreshToken, http.StatusUnauthorized},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+tt.token)
		rec := serve(h, req)
		assert.Equal(t, tt.status, rec.Code, "%s: %s", tt.name, rec.Body.String())
		if tt.status == http.StatusOK {
			assert.Equal(t, "u-9", rec.Body.String(), "%s: claims in the context", tt.name)
		}
	}
}
