package auth_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
)

// TestStrictClaimNames is the parser differential of a token's JSON: a
// claim or header parameter named twice (RFC 7519 §4 and RFC 7515 §4 let a
// parser refuse them, and encoding/json would keep the last), a claim name
// that differs from a registered one only by letter case (encoding/json
// folds case, so "ROLES" would fill Roles), and a string that is not
// valid text. Another parser reading the same token may see other claims;
// so every such token is refused, signed or not, from this issuer or
// another (auth/jwks verifies through the same Verifier). Claim names the
// package does not know are left alone, letter case included.
func TestStrictClaimNames(t *testing.T) {
	exp := start().Add(10 * time.Minute).Unix()
	const header = `{"alg":"HS256","kid":"k1","typ":"at+jwt"}`
	claims := `"iss":"` + issuer + `","aud":"` + audience + `","sub":"alice","exp":` + jsonInt(exp)
	cases := []struct {
		name    string
		header  string
		payload string
		refused bool
		roles   []string // of an accepted token
	}{
		{"control", header, `{` + claims + `,"roles":["user"]}`, false, []string{"user"}},
		{"roles named twice", header, `{` + claims + `,"roles":["user"],"roles":["admin"]}`, true, nil},
		{"roles in capitals beside roles", header, `{` + claims + `,"roles":["user"],"ROLES":["admin"]}`, true, nil},
		{"roles in capitals alone", header, `{` + claims + `,"ROLES":["admin"]}`, true, nil},
		{"Roles", header, `{` + claims + `,"Roles":["admin"]}`, true, nil},
		{"sub named twice", header, `{` + claims + `,"sub":"mallory"}`, true, nil},
		{"Sub beside sub", header, `{` + claims + `,"Sub":"mallory"}`, true, nil},
		{"exp named twice", header, `{` + claims + `,"exp":` + jsonInt(exp+3600) + `}`, true, nil},
		{"an unknown claim named twice", header, `{` + claims + `,"tenant":"a","tenant":"b"}`, true, nil},
		{"a name repeated inside an unknown claim", header, `{` + claims + `,"ext":{"a":1,"a":2}}`, true, nil},
		{"NUL in a claim", header, `{` + claims + `,"email":"alice\u0000@example.com"}`, true, nil},
		{"an unpaired surrogate in a claim", header, `{` + claims + `,"roles":["\ud800"]}`, true, nil},
		{"invalid UTF-8 in a claim", header, "{" + claims + ",\"roles\":[\"\xff\"]}", true, nil},
		{"unknown claims differing by case only", header, `{` + claims + `,"tenant":"a","Tenant":"b","roles":["user"]}`, false, []string{"user"}},
		{"kid named twice in the header", `{"alg":"HS256","kid":"k2","kid":"k1","typ":"at+jwt"}`, `{` + claims + `}`, true, nil},
		{"alg named twice in the header", `{"alg":"none","alg":"HS256","kid":"k1","typ":"at+jwt"}`, `{` + claims + `}`, true, nil},
		{"typ named twice in the header", `{"alg":"HS256","kid":"k1","typ":"JWT","typ":"at+jwt"}`, `{` + claims + `}`, true, nil},
		{"header parameters differing by case only", `{"alg":"HS256","kid":"k1","typ":"at+jwt","KID":"k2"}`, `{` + claims + `}`, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, hsKey(t, "k1"), nil)
			c, err := f.VerifyAccess(context.Background(), hsToken(t, tc.header, tc.payload))
			if !tc.refused {
				require.NoError(t, err, "the token must be accepted")
				assert.Equal(t, tc.roles, c.Roles, "roles")
				return
			}
			require.ErrorIs(t, err, auth.ErrInvalidToken, "the token must be refused as invalid")
			assert.Nil(t, c, "no claims with an error")
		})
	}
}

// TestStrictClaimNamesRefresh: a refresh token's claims are read by the
// same rule.
func TestStrictClaimNamesRefresh(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, hsKey(t, "k1"), nil)
	p, err := f.Issue(ctx, auth.User{ID: "alice"})
	require.NoError(t, err, "Issue")
	rc, err := f.VerifyRefresh(ctx, p.RefreshToken)
	require.NoError(t, err, "VerifyRefresh")
	raw, err := json.Marshal(rc)
	require.NoError(t, err, "marshal")
	header := `{"alg":"HS256","kid":"k1","typ":"` + auth.RefreshTokenType + `"}`
	_, err = f.VerifyRefresh(ctx, hsToken(t, header, string(raw)))
	require.NoError(t, err, "control: the same claims signed again verify")
	for name, payload := range map[string]string{
		"fid named twice": string(raw[:len(raw)-1]) + `,"fid":"another-family"}`,
		"FID beside fid":  string(raw[:len(raw)-1]) + `,"FID":"another-family"}`,
	} {
		_, err := f.VerifyRefresh(ctx, hsToken(t, header, payload))
		assert.ErrorIs(t, err, auth.ErrInvalidToken, "%s: refused", name)
	}
}

// TestClaimsUnmarshalStrict: Claims and RefreshClaims decoded on their own
// follow the rule too.
func TestClaimsUnmarshalStrict(t *testing.T) {
	var c auth.Claims
	require.NoError(t, json.Unmarshal([]byte(`{"sub":"alice","roles":["user"],"Tenant":"x"}`), &c), "control")
	assert.Equal(t, []string{"user"}, c.Roles, "roles")
	for _, doc := range []string{`{"roles":["user"],"roles":["admin"]}`, `{"ROLES":["admin"]}`, `{"email":"a\u0000"}`} {
		assert.Error(t, json.Unmarshal([]byte(doc), &c), "Claims refuses %s", doc)
	}
	var rc auth.RefreshClaims
	assert.Error(t, json.Unmarshal([]byte(`{"fid":"a","Fid":"b"}`), &rc), "RefreshClaims refuses a case variant")
}
