package auth_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/errkind"
)

func TestNewTokensOptions(t *testing.T) {
	keys, err := auth.NewKeySet(hsKey(t, "k1"))
	require.NoError(t, err, "key set")
	valid := func() auth.Options {
		return auth.Options{Issuer: issuer, Keys: keys, Store: auth.NewMemory(auth.MemoryOptions{}),
			Users: auth.UserLookupFunc(func(context.Context, string) (auth.User, error) { return auth.User{}, nil })}
	}
	cases := []struct {
		name string
		edit func(*auth.Options)
		ok   bool
	}{
		{"valid", func(*auth.Options) {}, true},
		{"no issuer", func(o *auth.Options) { o.Issuer = "" }, false},
		{"same audiences", func(o *auth.Options) { o.Audience, o.RefreshAudience = "a", "a" }, false},
		{"refresh audience defaults to the access one", func(o *auth.Options) { o.Audience = issuer + "#refresh" }, false},
		{"negative ttl is the default", func(o *auth.Options) { o.AccessTTL = -time.Second }, true},
		{"negative grace is none", func(o *auth.Options) { o.ReuseGrace = -time.Second }, true},
		{"algorithms include the key's", func(o *auth.Options) { o.Algorithms = []string{auth.HS256} }, true},
		{"algorithms exclude the key's", func(o *auth.Options) { o.Algorithms = []string{auth.EdDSA} }, false},
		{"unsupported algorithm", func(o *auth.Options) { o.Algorithms = []string{auth.HS256, "PS256"} }, false},
		{"alg none", func(o *auth.Options) { o.Algorithms = []string{auth.HS256, "none"} }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := valid()
			tc.edit(&o)
			_, err := auth.NewTokens(o)
			if tc.ok {
				assert.NoError(t, err, "valid options")
			} else {
				assert.Error(t, err, "invalid options must be refused")
			}
		})
	}
	for _, tc := range []struct {
		name, want string
		edit       func(*auth.Options)
	}{
		{"no keys", "auth: NewTokens: nil Keys", func(o *auth.Options) { o.Keys = nil }},
		{"no store", "auth: NewTokens: nil Store", func(o *auth.Options) { o.Store = nil }},
		{"no users", "auth: NewTokens: nil Users", func(o *auth.Options) { o.Users = nil }},
	} {
		o := valid()
		tc.edit(&o)
		assert.PanicsWithValue(t, tc.want, func() { _, _ = auth.NewTokens(o) }, "%s: a nil dependency is a programming error", tc.name)
	}
}

func TestIssuedTokens(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, hsKey(t, "k1"), nil)
	p, err := f.Issue(ctx, auth.User{ID: "alice", Email: "alice@example.com", Roles: []string{"user"}})
	require.NoError(t, err, "Issue")
	assert.Equal(t, start().Add(auth.DefaultAccessTTL), p.AccessExpiresAt, "access tokens live 15 minutes")
	assert.Equal(t, start().Add(auth.DefaultRefreshTTL), p.RefreshExpiresAt.UTC(), "refresh tokens live 7 days")
	assert.Equal(t, auth.DefaultAccessTTL, f.AccessTTL(), "AccessTTL")

	c, err := f.VerifyAccess(ctx, p.AccessToken)
	require.NoError(t, err, "VerifyAccess")
	assert.Equal(t, "alice", c.Subject, "sub")
	assert.Equal(t, "alice@example.com", c.Email, "email")
	assert.Equal(t, []string{"user"}, c.Roles, "roles")
	assert.Equal(t, issuer, c.Issuer, "iss")
	assert.Equal(t, []string{audience}, c.Audience, "aud is the API")
	assert.NotEmpty(t, c.ID, "RFC 9068 access tokens carry a jti")

	header := func(tok string) map[string]any {
		raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
		require.NoError(t, err, "decode header")
		var h map[string]any
		require.NoError(t, json.Unmarshal(raw, &h), "header JSON")
		return h
	}
	assert.Equal(t, map[string]any{"alg": "HS256", "kid": "k1", "typ": "at+jwt"}, header(p.AccessToken), "access header")
	assert.Equal(t, map[string]any{"alg": "HS256", "kid": "k1", "typ": "rt+jwt"}, header(p.RefreshToken), "refresh header")

	rc, err := f.VerifyRefresh(ctx, p.RefreshToken)
	require.NoError(t, err, "VerifyRefresh")
	assert.Equal(t, []string{issuer + "#refresh"}, rc.Audience, "refresh tokens have their own audience")
	assert.NotEmpty(t, rc.Family, "fid")
	assert.NotEmpty(t, rc.ID, "jti")

	_, err = f.Issue(ctx, auth.User{})
	assert.Error(t, err, "Issue needs a user id")
}

func TestLeeway(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		leeway time.Duration
		late   time.Duration
		ok     bool
	}{
		{"no leeway, just expired", 0, time.Second, false},
		{"within leeway", 30 * time.Second, 20 * time.Second, true},
		{"past leeway", 30 * time.Second, 40 * time.Second, false},
		{"leeway capped at 60s", time.Hour, 2 * time.Minute, false},
		{"capped leeway still applies", time.Hour, 50 * time.Second, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, hsKey(t, "k1"), func(o *auth.Options) { o.Leeway = tc.leeway })
			p, err := f.Issue(ctx, auth.User{ID: "alice"})
			require.NoError(t, err, "Issue")
			f.clock.Advance(auth.DefaultAccessTTL + tc.late)
			_, err = f.VerifyAccess(ctx, p.AccessToken)
			if tc.ok {
				assert.NoError(t, err, "within the leeway the token verifies")
			} else {
				assert.ErrorIs(t, err, auth.ErrExpired, "past the leeway the token is expired")
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	for _, next := range []func(t *testing.T) *auth.Key{
		func(t *testing.T) *auth.Key { return hsKey(t, "k2") },
		func(t *testing.T) *auth.Key { k, _ := edKey(t, "k2"); return k },
		func(t *testing.T) *auth.Key { k, _ := esKey(t, "k2"); return k },
	} {
		k2 := next(t)
		t.Run(k2.Alg(), func(t *testing.T) {
			f := newFixture(t, hsKey(t, "k1"), nil)
			old, err := f.Issue(ctx, auth.User{ID: "alice"})
			require.NoError(t, err, "Issue")
			require.NoError(t, f.RotateKey(k2), "RotateKey")
			assert.ErrorIs(t, f.RotateKey(k2), auth.ErrDuplicateKey, "a kid may not be reused")
			_, err = f.VerifyAccess(ctx, old.AccessToken)
			assert.NoError(t, err, "tokens of the previous key verify until they expire")
			fresh, err := f.Refresh(ctx, old.RefreshToken)
			require.NoError(t, err, "refresh with a token of the previous key")
			c, err := f.VerifyAccess(ctx, fresh.AccessToken)
			require.NoError(t, err, "tokens of the new key verify")
			assert.Equal(t, "alice", c.Subject, "sub")
			f.clock.Advance(auth.DefaultRefreshTTL + time.Second)
			f.keys.Retire(f.clock.Now())
			_, err = f.VerifyRefresh(ctx, old.RefreshToken)
			assert.ErrorIs(t, err, auth.ErrInvalidToken, "the retired key is gone")
		})
	}
}

func TestAlgorithmsPinned(t *testing.T) {
	ctx := context.Background()
	ed, _ := edKey(t, "ed1")
	f := newFixture(t, hsKey(t, "k1"), func(o *auth.Options) { o.Algorithms = []string{auth.HS256} })
	require.NoError(t, f.keys.AddKey(ed, time.Time{}), "AddKey")
	assert.ErrorIs(t, f.RotateKey(ed), auth.ErrBadKey, "rotating to an algorithm outside the list is refused")

	other := newFixture(t, ed, nil)
	p, err := other.Issue(ctx, auth.User{ID: "alice"})
	require.NoError(t, err, "Issue with EdDSA")
	_, err = f.VerifyAccess(ctx, p.AccessToken)
	assert.ErrorIs(t, err, auth.ErrInvalidToken, "an EdDSA token is refused when only HS256 is configured, even with a known kid")
}

func TestKeyConstructors(t *testing.T) {
	_, err := auth.NewHS256Key("k", []byte(secret[:31]))
	assert.ErrorIs(t, err, auth.ErrWeakSecret, "a 31-byte secret is refused")
	_, err = auth.NewHS256Key("", []byte(secret))
	assert.ErrorIs(t, err, auth.ErrBadKey, "an empty kid is refused")
	_, err = auth.NewHS256Key("a/b", []byte(secret))
	assert.ErrorIs(t, err, auth.ErrBadKey, "a kid with a slash is refused")
	_, err = auth.NewHS256Key(strings.Repeat("k", 65), []byte(secret))
	assert.ErrorIs(t, err, auth.ErrBadKey, "a 65-character kid is refused")
	_, err = auth.NewEdDSAKey("k", ed25519.PrivateKey{1, 2, 3})
	assert.ErrorIs(t, err, auth.ErrBadKey, "a short ed25519 key is refused")
	_, err = auth.NewES256Key("k", nil)
	assert.ErrorIs(t, err, auth.ErrBadKey, "a nil ECDSA key is refused")
	_, err = auth.NewKeySet(nil)
	assert.ErrorIs(t, err, auth.ErrBadKey, "a key set needs an active key")

	ks, err := auth.NewKeySet(hsKey(t, "k1"))
	require.NoError(t, err, "key set")
	assert.ErrorIs(t, ks.AddKey(hsKey(t, "k1"), time.Time{}), auth.ErrDuplicateKey, "duplicate kid")
	assert.ErrorIs(t, ks.AddKey(nil, time.Time{}), auth.ErrBadKey, "nil key")
	assert.ErrorIs(t, ks.Rotate(nil, time.Time{}), auth.ErrBadKey, "nil key")
}

func TestJWKS(t *testing.T) {
	ctx := context.Background()
	ed, _ := edKey(t, "ed1")
	es, _ := esKey(t, "es1")
	f := newFixture(t, ed, nil)
	require.NoError(t, f.keys.AddKey(es, start().Add(time.Hour)), "AddKey")
	require.NoError(t, f.keys.AddKey(hsKey(t, "hs1"), time.Time{}), "AddKey")
	p, err := f.Issue(ctx, auth.User{ID: "alice"})
	require.NoError(t, err, "Issue")

	get := func() []map[string]string {
		rec := httptest.NewRecorder()
		f.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
		require.Equal(t, http.StatusOK, rec.Code, "GET the JWKS")
		assert.Equal(t, "application/jwk-set+json", rec.Header().Get("Content-Type"), "content type")
		var doc struct{ Keys []map[string]string }
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc), "JWKS JSON")
		return doc.Keys
	}
	keys := get()
	byKid := map[string]map[string]string{}
	for _, k := range keys {
		byKid[k["kid"]] = k
	}
	require.Len(t, byKid, 2, "the EdDSA and ES256 keys, never the HS256 secret")
	assert.Equal(t, "OKP", byKid["ed1"]["kty"], "Ed25519 is an OKP key")
	assert.Equal(t, "Ed25519", byKid["ed1"]["crv"], "crv")
	assert.Equal(t, "EC", byKid["es1"]["kty"], "P-256 is an EC key")
	assert.Equal(t, "P-256", byKid["es1"]["crv"], "crv")
	assert.NotEmpty(t, byKid["es1"]["y"], "an EC key has y")

	// A verifier that only has the JWKS can check our tokens.
	x, err := base64.RawURLEncoding.DecodeString(byKid["ed1"]["x"])
	require.NoError(t, err, "decode x")
	_, err = jwt.Parse(p.AccessToken, func(*jwt.Token) (any, error) { return ed25519.PublicKey(x), nil },
		jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithTimeFunc(start))
	assert.NoError(t, err, "the published key verifies our token")

	f.clock.Advance(time.Hour)
	assert.Len(t, get(), 1, "a retired key leaves the JWKS")

	rec := httptest.NewRecorder()
	f.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, "only GET and HEAD")
}

func TestCheck(t *testing.T) {
	f := newFixture(t, hsKey(t, "k1"), nil)
	p, err := f.Issue(context.Background(), auth.User{ID: "alice"})
	require.NoError(t, err, "Issue")
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	_, err = f.Check(r)
	assert.ErrorIs(t, err, auth.ErrNoToken, "no header")
	r.Header.Set("Authorization", "Bearer "+p.AccessToken)
	c, err := f.Check(r)
	require.NoError(t, err, "a valid bearer token")
	assert.Equal(t, "alice", c.Subject, "sub")
	r.Header.Set("Authorization", "Bearer "+p.RefreshToken)
	_, err = f.Check(r)
	assert.ErrorIs(t, err, auth.ErrWrongTokenType, "a refresh token is no bearer token")
}

func TestUserLookupFailure(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("database down")
	f := newFixture(t, hsKey(t, "k1"), func(o *auth.Options) {
		o.Users = auth.UserLookupFunc(func(context.Context, string) (auth.User, error) { return auth.User{}, boom })
	})
	p, err := f.Issue(ctx, auth.User{ID: "alice"})
	require.NoError(t, err, "Issue")
	_, err = f.Refresh(ctx, p.RefreshToken)
	assert.ErrorIs(t, err, boom, "a failing user store is reported as such")
	var ae *auth.Error
	assert.False(t, errors.As(err, &ae), "an infrastructure failure is not a 401")
}

// notFound reports errkind.NotFound the way repository.ErrNotFound does.
type notFound struct{}

func (notFound) Error() string           { return "row not found" }
func (notFound) ErrorKind() errkind.Kind { return errkind.NotFound }

func TestUserLookupNotFoundByStatus(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, hsKey(t, "k1"), func(o *auth.Options) {
		o.Users = auth.UserLookupFunc(func(context.Context, string) (auth.User, error) {
			return auth.User{}, fmt.Errorf("users: %w", notFound{})
		})
	})
	p, err := f.Issue(ctx, auth.User{ID: "alice"})
	require.NoError(t, err, "Issue")
	_, err = f.Refresh(ctx, p.RefreshToken)
	assert.ErrorIs(t, err, auth.ErrUnknownUser, "an error of kind NotFound means the user is gone")
}

func TestUserLookupWrongID(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, hsKey(t, "k1"), func(o *auth.Options) {
		o.Users = auth.UserLookupFunc(func(context.Context, string) (auth.User, error) { return auth.User{ID: "mallory"}, nil })
	})
	p, err := f.Issue(ctx, auth.User{ID: "alice"})
	require.NoError(t, err, "Issue")
	_, err = f.Refresh(ctx, p.RefreshToken)
	assert.Error(t, err, "a lookup returning another user must not mint tokens for them")
}

func TestRandFailure(t *testing.T) {
	f := newFixture(t, hsKey(t, "k1"), func(o *auth.Options) { o.Rand = iotest.ErrReader(errors.New("no entropy")) })
	_, err := f.Issue(context.Background(), auth.User{ID: "alice"})
	assert.Error(t, err, "no token without randomness")
}
