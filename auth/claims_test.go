package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/errkind"
)

func TestBearerToken(t *testing.T) {
	cases := []struct {
		name    string
		headers []string
		want    string
		err     error
	}{
		{"missing", nil, "", auth.ErrNoToken},
		{"canonical", []string{"Bearer abc.def.ghi"}, "abc.def.ghi", nil},
		{"lower-case scheme", []string{"bearer abc"}, "abc", nil},
		{"mixed-case scheme", []string{"BeArEr abc"}, "abc", nil},
		{"two spaces", []string{"Bearer  abc"}, "", auth.ErrMalformedToken},
		{"tab", []string{"Bearer\tabc"}, "", auth.ErrMalformedToken},
		{"trailing space", []string{"Bearer abc "}, "", auth.ErrMalformedToken},
		{"two tokens", []string{"Bearer abc def"}, "", auth.ErrMalformedToken},
		{"tab in token", []string{"Bearer abc\tdef"}, "", auth.ErrMalformedToken},
		{"CR in token", []string{"Bearer abc\rdef"}, "", auth.ErrMalformedToken},
		{"LF at the end", []string{"Bearer abc\n"}, "", auth.ErrMalformedToken},
		{"empty token", []string{"Bearer "}, "", auth.ErrMalformedToken},
		{"scheme only", []string{"Bearer"}, "", auth.ErrMalformedToken},
		{"basic scheme", []string{"Basic dXNlcjpwYXNz"}, "", auth.ErrMalformedToken},
		{"no scheme", []string{"abc.def.ghi"}, "", auth.ErrMalformedToken},
		{"scheme prefix", []string{"Bearerx abc"}, "", auth.ErrMalformedToken},
		{"two headers", []string{"Bearer abc", "Bearer def"}, "", auth.ErrMalformedToken},
		{"empty header", []string{""}, "", auth.ErrMalformedToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for _, h := range tc.headers {
				r.Header.Add("Authorization", h)
			}
			got, err := auth.BearerToken(r)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err, "header %q", tc.headers)
				assert.Empty(t, got, "no token on error")
				return
			}
			require.NoError(t, err, "header %q", tc.headers)
			assert.Equal(t, tc.want, got, "token of %q", tc.headers)
		})
	}
}

func TestHasRole(t *testing.T) {
	c := &auth.Claims{Roles: []string{"user", "editor"}}
	cases := []struct {
		name   string
		claims *auth.Claims
		roles  []string
		want   bool
	}{
		{"one match", c, []string{"editor"}, true},
		{"any of", c, []string{"admin", "user"}, true},
		{"none", c, []string{"admin"}, false},
		{"no roles asked", c, nil, true},
		{"nil claims", nil, []string{"user"}, false},
		{"nil claims no roles", nil, nil, false},
		{"case matters", c, []string{"User"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.claims.HasRole(tc.roles...), "HasRole(%v)", tc.roles)
		})
	}
}

func TestClaimsContext(t *testing.T) {
	_, ok := auth.ClaimsFrom(context.Background())
	assert.False(t, ok, "an empty context carries no claims")
	_, ok = auth.ClaimsFrom(auth.WithClaims(context.Background(), nil))
	assert.False(t, ok, "nil claims are no claims")
	c := &auth.Claims{Email: "a@example.com"}
	got, ok := auth.ClaimsFrom(auth.WithClaims(context.Background(), c))
	require.True(t, ok, "claims put in must come out")
	assert.Same(t, c, got, "the same claims must come out")
}

func TestErrorRendering(t *testing.T) {
	for _, err := range []error{auth.ErrNoToken, auth.ErrMalformedToken, auth.ErrInvalidToken, auth.ErrExpired,
		auth.ErrWrongTokenType, auth.ErrRevoked, auth.ErrTokenReused, auth.ErrUnknownUser, auth.ErrPasswordMismatch} {
		t.Run(err.Error(), func(t *testing.T) {
			wrapped := errors.Join(errors.New("context"), err)
			r, ok := errkind.Inspect(wrapped)
			require.True(t, ok, "every auth error reports through errkind")
			assert.Equal(t, errkind.Unauthorized, r.Kind, "every auth error is Unauthorized")
			assert.Equal(t, http.StatusUnauthorized, r.Status, "every auth error is 401")
			assert.Equal(t, errkind.CodeUnauthorized, r.Code, "every auth error is UNAUTHORIZED")
			assert.NotEmpty(t, r.Message, "a public message is set")
			assert.NotContains(t, r.Message, "auth:", "the public message is not the error text")
		})
	}
	assert.NotErrorIs(t, auth.ErrExpired, auth.ErrInvalidToken, "kinds are distinct")
	assert.Equal(t, auth.ErrPasswordMismatch.PublicMessage(), "invalid credentials", "a wrong password says only invalid credentials")
}
