package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
)

// hsToken signs a raw header and payload, both JSON text, with the test
// secret: the attacker controls every byte but the key.
func hsToken(t *testing.T, header, payload string) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	signing := enc([]byte(header)) + "." + enc([]byte(payload))
	sig, err := jwt.SigningMethodHS256.Sign(signing, []byte(secret))
	require.NoError(t, err, "sign")
	return signing + "." + enc(sig)
}

// TestStandardsConformance is the table of RFC 7515 (crit), RFC 7519
// (NumericDate) and RFC 9068 (typ) cases: each row is signed with the
// service's own key, so only the rule under test decides.
func TestStandardsConformance(t *testing.T) {
	exp := start().Add(10 * time.Minute).Unix()
	payload := func(extra string) string {
		p := `{"iss":"` + issuer + `","aud":"` + audience + `","sub":"alice","iat":` + jsonInt(start().Unix()) + `,"exp":` + jsonInt(exp)
		if extra != "" {
			p += "," + extra
		}
		return p + "}"
	}
	cases := []struct {
		name    string
		header  string
		payload string
		want    error // nil: accepted
	}{
		{"control", `{"alg":"HS256","kid":"k1","typ":"at+jwt"}`, payload(""), nil},
		// RFC 7515 §4.1.11: crit names extensions the recipient must
		// understand; none is understood, and [] or a registered name is
		// malformed.
		{"crit with an unknown extension", `{"alg":"HS256","kid":"k1","typ":"at+jwt","crit":["x-ext"],"x-ext":1}`, payload(""), auth.ErrInvalidToken},
		{"crit empty", `{"alg":"HS256","kid":"k1","typ":"at+jwt","crit":[]}`, payload(""), auth.ErrInvalidToken},
		{"crit naming exp", `{"alg":"HS256","kid":"k1","typ":"at+jwt","crit":["exp"]}`, payload(""), auth.ErrInvalidToken},
		{"crit naming a listed extension absent from the header", `{"alg":"HS256","kid":"k1","typ":"at+jwt","crit":["b64"]}`, payload(""), auth.ErrInvalidToken},
		{"crit not an array", `{"alg":"HS256","kid":"k1","typ":"at+jwt","crit":"x"}`, payload(""), auth.ErrInvalidToken},
		{"crit null", `{"alg":"HS256","kid":"k1","typ":"at+jwt","crit":null}`, payload(""), auth.ErrInvalidToken},
		// RFC 7519 §2: NumericDate is a JSON number.
		{"exp as a string", `{"alg":"HS256","kid":"k1","typ":"at+jwt"}`,
			`{"iss":"` + issuer + `","aud":"` + audience + `","sub":"alice","exp":"` + jsonInt(exp) + `"}`, auth.ErrInvalidToken},
		{"nbf as a string", `{"alg":"HS256","kid":"k1","typ":"at+jwt"}`, payload(`"nbf":"1"`), auth.ErrInvalidToken},
		{"iat as a string", `{"alg":"HS256","kid":"k1","typ":"at+jwt"}`, payload(`"iat":"1"`), auth.ErrInvalidToken},
		{"exp null", `{"alg":"HS256","kid":"k1","typ":"at+jwt"}`,
			`{"iss":"` + issuer + `","aud":"` + audience + `","sub":"alice","exp":null}`, auth.ErrInvalidToken},
		{"exp an object", `{"alg":"HS256","kid":"k1","typ":"at+jwt"}`,
			`{"iss":"` + issuer + `","aud":"` + audience + `","sub":"alice","exp":{"n":1}}`, auth.ErrInvalidToken},
		{"exp absurdly far", `{"alg":"HS256","kid":"k1","typ":"at+jwt"}`,
			`{"iss":"` + issuer + `","aud":"` + audience + `","sub":"alice","exp":1e300}`, auth.ErrInvalidToken},
		{"exp with a fraction", `{"alg":"HS256","kid":"k1","typ":"at+jwt"}`,
			`{"iss":"` + issuer + `","aud":"` + audience + `","sub":"alice","exp":` + jsonInt(exp) + `.5}`, nil},
		{"auth_time as a string", `{"alg":"HS256","kid":"k1","typ":"at+jwt"}`, payload(`"auth_time":"1"`), auth.ErrInvalidToken},
		// RFC 9068 §2.1 and §4: typ at+jwt or application/at+jwt, media
		// types compared without regard to case.
		{"typ application/at+jwt", `{"alg":"HS256","kid":"k1","typ":"application/at+jwt"}`, payload(""), nil},
		{"typ AT+JWT", `{"alg":"HS256","kid":"k1","typ":"AT+JWT"}`, payload(""), nil},
		{"typ Application/At+Jwt", `{"alg":"HS256","kid":"k1","typ":"Application/At+Jwt"}`, payload(""), nil},
		{"typ application/", `{"alg":"HS256","kid":"k1","typ":"application/"}`, payload(""), auth.ErrWrongTokenType},
		{"typ application/jwt", `{"alg":"HS256","kid":"k1","typ":"application/jwt"}`, payload(""), auth.ErrWrongTokenType},
		{"typ at+jwt with a parameter", `{"alg":"HS256","kid":"k1","typ":"at+jwt; x=1"}`, payload(""), auth.ErrWrongTokenType},
		{"typ application/rt+jwt", `{"alg":"HS256","kid":"k1","typ":"application/rt+jwt"}`, payload(""), auth.ErrWrongTokenType},
		{"typ a number", `{"alg":"HS256","kid":"k1","typ":1}`, payload(""), auth.ErrWrongTokenType},
		{"aud as one string", `{"alg":"HS256","kid":"k1","typ":"at+jwt"}`,
			`{"iss":"` + issuer + `","aud":"` + audience + `","sub":"alice","exp":` + jsonInt(exp) + `}`, nil},
		{"aud a number", `{"alg":"HS256","kid":"k1","typ":"at+jwt"}`,
			`{"iss":"` + issuer + `","aud":1,"sub":"alice","exp":` + jsonInt(exp) + `}`, auth.ErrInvalidToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, hsKey(t, "k1"), nil)
			c, err := f.VerifyAccess(context.Background(), hsToken(t, tc.header, tc.payload))
			if tc.want == nil {
				require.NoError(t, err, "the token must be accepted")
				assert.Equal(t, "alice", c.Subject, "sub")
				return
			}
			require.ErrorIs(t, err, tc.want, "the token must be rejected with the named error")
			assert.Nil(t, c, "no claims with an error")
		})
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestStandardClaims shows client_id, scope and the other RFC 9068 claims
// issued and read through auth.Claims, without golang-jwt's types.
func TestStandardClaims(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, hsKey(t, "k1"), func(o *auth.Options) { o.ClientID = "web-app" })
	p, err := f.Issue(ctx, auth.User{ID: "alice", Email: "alice@example.com", Roles: []string{"user"}, Scope: "read write"})
	require.NoError(t, err, "Issue")
	c, err := f.VerifyAccess(ctx, p.AccessToken)
	require.NoError(t, err, "VerifyAccess")
	assert.Equal(t, "web-app", c.ClientID, "client_id is issued (RFC 9068 §2.2)")
	assert.Equal(t, "read write", c.Scope, "scope is issued")
	assert.True(t, c.HasScope("read"), "HasScope of one held scope")
	assert.True(t, c.HasScope("read", "write"), "HasScope of every held scope")
	assert.False(t, c.HasScope("admin"), "HasScope of a scope not held")
	assert.Equal(t, start(), c.IssuedAt, "iat")
	assert.Equal(t, start().Add(auth.DefaultAccessTTL), c.ExpiresAt, "exp")

	f2 := newFixture(t, hsKey(t, "k1"), nil)
	p, err = f2.Issue(ctx, auth.User{ID: "alice"})
	require.NoError(t, err, "Issue")
	c, err = f2.VerifyAccess(ctx, p.AccessToken)
	require.NoError(t, err, "VerifyAccess")
	assert.Equal(t, issuer, c.ClientID, "client_id defaults to the issuer")
	assert.Empty(t, c.Scope, "no scope unless the user has one")

	// Claims read back every standard claim of a foreign payload.
	var in auth.Claims
	require.NoError(t, json.Unmarshal([]byte(`{"iss":"i","sub":"s","aud":"a","exp":1700000000,"nbf":1600000000,
		"iat":1600000000,"jti":"j","client_id":"c","scope":"x y","auth_time":1600000000,"acr":"urn:mace:incommon:iap:silver",
		"amr":["pwd","mfa"],"email":"e@example.com","roles":["r"],"groups":["g"]}`), &in), "unmarshal")
	want := auth.Claims{Issuer: "i", Subject: "s", Audience: []string{"a"}, ExpiresAt: time.Unix(1700000000, 0).UTC(),
		NotBefore: time.Unix(1600000000, 0).UTC(), IssuedAt: time.Unix(1600000000, 0).UTC(), ID: "j", ClientID: "c", Scope: "x y",
		AuthTime: time.Unix(1600000000, 0).UTC(), ACR: "urn:mace:incommon:iap:silver", AMR: []string{"pwd", "mfa"},
		Email: "e@example.com", Roles: []string{"r"}, Groups: []string{"g"}}
	assert.Equal(t, want, in, "every standard claim is read")
	out, err := json.Marshal(in)
	require.NoError(t, err, "marshal")
	assert.JSONEq(t, `{"iss":"i","sub":"s","aud":["a"],"exp":1700000000,"nbf":1600000000,"iat":1600000000,"jti":"j",
		"client_id":"c","scope":"x y","auth_time":1600000000,"acr":"urn:mace:incommon:iap:silver","amr":["pwd","mfa"],
		"email":"e@example.com","roles":["r"],"groups":["g"]}`, string(out), "and written back as NumericDates")
	assert.Error(t, json.Unmarshal([]byte(`{"exp":"1700000000"}`), &in), "a date as a string is an error")
}

// TestVerifier checks a Verifier over a KeySet: the same rules as Tokens,
// and its Types option.
func TestVerifier(t *testing.T) {
	ctx := context.Background()
	ed, _ := edKey(t, "ed1")
	f := newFixture(t, ed, nil)
	p, err := f.Issue(ctx, auth.User{ID: "alice"})
	require.NoError(t, err, "Issue")

	assert.PanicsWithValue(t, "auth: NewVerifier: nil KeySource", func() {
		_, _ = auth.NewVerifier(nil, auth.VerifierOptions{Issuer: issuer, Audience: audience})
	}, "a nil KeySource is a programming error")
	_, err = auth.NewVerifier(f.keys, auth.VerifierOptions{Audience: audience})
	assert.Error(t, err, "an issuer is required")
	_, err = auth.NewVerifier(f.keys, auth.VerifierOptions{Issuer: issuer})
	assert.Error(t, err, "an audience is required")
	_, err = auth.NewVerifier(f.keys, auth.VerifierOptions{Issuer: issuer, Audience: audience, Algorithms: []string{"none"}})
	assert.Error(t, err, "alg none is not an algorithm")

	v, err := auth.NewVerifier(f.keys, auth.VerifierOptions{Issuer: issuer, Audience: audience, Now: f.clock.Now})
	require.NoError(t, err, "NewVerifier")
	c, err := v.VerifyAccess(ctx, p.AccessToken)
	require.NoError(t, err, "a Verifier over the key set verifies what Tokens issued")
	assert.Equal(t, "alice", c.Subject, "sub")
	_, err = v.VerifyAccess(ctx, p.RefreshToken)
	assert.ErrorIs(t, err, auth.ErrWrongTokenType, "a refresh token is not an access token")

	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+p.AccessToken)
	_, err = v.Check(r)
	assert.NoError(t, err, "Check reads the bearer token")

	pinned, err := auth.NewVerifier(f.keys, auth.VerifierOptions{Issuer: issuer, Audience: audience, Now: f.clock.Now, Algorithms: []string{auth.ES256}})
	require.NoError(t, err, "NewVerifier")
	_, err = pinned.VerifyAccess(ctx, p.AccessToken)
	assert.ErrorIs(t, err, auth.ErrInvalidToken, "an algorithm outside the pinned list is refused")

	loose, err := auth.NewVerifier(f.keys, auth.VerifierOptions{Issuer: issuer, Audience: audience, Now: f.clock.Now, Types: []string{"JWT"}})
	require.NoError(t, err, "NewVerifier")
	_, err = loose.VerifyAccess(ctx, p.AccessToken)
	assert.ErrorIs(t, err, auth.ErrWrongTokenType, "Types replaces the default: at+jwt is no longer accepted")
}
