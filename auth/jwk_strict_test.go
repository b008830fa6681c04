package auth_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
)

// TestJWKStrict: a JWK or JWK Set that encoding/json reads one way and
// another parser may read another is refused, as a token's claims are: a
// member named twice (encoding/json keeps the last "x", another reader the
// first, so the two verify with different keys), a name that differs from
// a JWK member only by letter case ("X" read as "x"), a string with NUL.
// The same documents without the ambiguity parse.
func TestJWKStrict(t *testing.T) {
	pubA, _, _ := ed25519.GenerateKey(nil)
	pubB, _, _ := ed25519.GenerateKey(nil)
	xa := base64.RawURLEncoding.EncodeToString(pubA)
	xb := base64.RawURLEncoding.EncodeToString(pubB)
	key := func(members string) string { return `{"kty":"OKP","crv":"Ed25519",` + members + `}` }
	set := func(keys ...string) string {
		s := `{"keys":[`
		for i, k := range keys {
			if i > 0 {
				s += ","
			}
			s += k
		}
		return s + `]}`
	}
	good := key(`"kid":"a","x":"` + xa + `"`)
	for _, tc := range []struct {
		name string
		jwk  string // ParseJWK's input; empty: none
		jwks string // ParseJWKS's input; empty: none
		ok   bool
	}{
		{"plain key", good, set(good), true},
		{"x twice", key(`"kid":"a","x":"` + xa + `","x":"` + xb + `"`), set(key(`"kid":"a","x":"` + xa + `","x":"` + xb + `"`)), false},
		{"kty twice", `{"kty":"OKP","crv":"Ed25519","kid":"a","x":"` + xa + `","kty":"OKP"}`, "", false},
		{"X for x", key(`"kid":"a","X":"` + xa + `"`), set(key(`"kid":"a","X":"` + xa + `"`)), false},
		{"KID for kid", key(`"KID":"a","x":"` + xa + `"`), set(key(`"KID":"a","x":"` + xa + `"`)), false},
		{"Kty for kty", `{"Kty":"OKP","crv":"Ed25519","kid":"a","x":"` + xa + `"}`, "", false},
		{"kid twice", key(`"kid":"a","kid":"b","x":"` + xa + `"`), set(key(`"kid":"a","kid":"b","x":"` + xa + `"`)), false},
		{"NUL in kid", key(`"kid":"a\u0000","x":"` + xa + `"`), set(key(`"kid":"a\u0000","x":"` + xa + `"`)), false},
		{"keys twice", "", `{"keys":[` + good + `],"keys":[` + key(`"kid":"b","x":"`+xb+`"`) + `]}`, false},
		{"KEYS for keys", "", `{"KEYS":[` + good + `]}`, false},
		{"unknown member kept apart", key(`"kid":"a","x":"` + xa + `","x5t":"AA"`), set(key(`"kid":"a","x":"` + xa + `","x5t":"AA"`)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.jwk != "" {
				k, err := auth.ParseJWK("", []byte(tc.jwk))
				if tc.ok {
					require.NoError(t, err, "ParseJWK accepts %s", tc.jwk)
					assert.Equal(t, "a", k.ID())
				} else {
					assert.ErrorIs(t, err, auth.ErrBadKey, "ParseJWK refuses %s", tc.jwk)
				}
			}
			if tc.jwks != "" {
				keys, err := auth.ParseJWKS([]byte(tc.jwks))
				if tc.ok {
					require.NoError(t, err, "ParseJWKS accepts %s", tc.jwks)
					assert.Len(t, keys, 1)
				} else {
					assert.ErrorIs(t, err, auth.ErrBadKey, "ParseJWKS refuses %s", tc.jwks)
				}
			}
		})
	}
}

// ExampleParseJWK_repeatedMember: a JWK naming a member twice is refused.
func ExampleParseJWK_repeatedMember() {
	_, err := auth.ParseJWK("", []byte(`{"kty":"oct","kid":"a","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA","k":"b3RoZXI"}`))
	fmt.Println(err)
	// Output:
	// auth: bad key: JWK: json: a repeated member name (member "k") at offset 76
}
