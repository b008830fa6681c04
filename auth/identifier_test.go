package auth_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/auth"
)

func TestNormalizeEmail(t *testing.T) {
	cases := []struct {
		in   string
		want string // empty: refused
	}{
		{"kate@example.com", "kate@example.com"},
		{"Kate@Example.COM", "kate@example.com"},
		{"first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"},
		{"o'brien@example.com", "o'brien@example.com"},
		{"Straße@example.com", "straße@example.com"},
		{"ΣΑΣ@example.com", "σασ@example.com"},
		{"kate@xn--bcher-kva.example", "kate@xn--bcher-kva.example"},
		{"a@b.io", "a@b.io"},
		{"1@example.com", "1@example.com"},
		// The account-squatting cases: refused, not mapped onto "kate".
		{"\u212Aate@example.com", ""},                  // KELVIN SIGN
		{"\uFF4Bate@example.com", ""},                  // FULLWIDTH LATIN SMALL LETTER K
		{"caf\u0065\u0301@example.com", ""},            // decomposed é (NFD)
		{"kate@ex\u0430mple.com", ""},                  // Cyrillic a in the domain
		{"kate@bücher.example", ""},                    // U-label domain: give the A-label
		{"kate@\uFF45xample.com", ""},                  // fullwidth e in the domain
		{"kate\u200b@example.com", ""},                 // zero-width space
		{"ka\u200dte@example.com", ""},                 // zero-width joiner outside its context
		{"kate\u0000@example.com", ""},                 // NUL
		{" kate@example.com", ""},                      // leading space
		{"kate@example.com ", ""},                      // trailing space
		{"ka te@example.com", ""},                      // inner space
		{"kate", ""},                                   // no @
		{"kate@@example.com", ""},                      // two @
		{"a@b@example.com", ""},                        // two @
		{"@example.com", ""},                           // empty local part
		{"kate@", ""},                                  // empty domain
		{"kate@localhost", ""},                         // one label
		{"kate@example..com", ""},                      // empty label
		{"kate@.example.com", ""},                      // empty first label
		{"kate@-example.com", ""},                      // leading hyphen
		{"kate@example-.com", ""},                      // trailing hyphen
		{"kate@example.123", ""},                       // numeric TLD
		{"kate@127.0.0.1", ""},                         // an IP address
		{"kate@[127.0.0.1]", ""},                       // address literal
		{`"kate"@example.com`, ""},                     // quoted local part
		{"kate@exa_mple.com", ""},                      // underscore in the domain
		{"\xff@example.com", ""},                       // invalid UTF-8
		{strings.Repeat("a", 65) + "@example.com", ""}, // local part over 64
		{"a@" + strings.Repeat("b", 64) + ".com", ""},  // label over 63
		{"a@" + strings.Repeat("b.", 130) + "com", ""}, // address over 254
		{"🙂@example.com", ""},                          // symbol outside the IdentifierClass
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := auth.NormalizeEmail(tc.in)
			if tc.want == "" {
				require.ErrorIs(t, err, auth.ErrBadIdentifier, "%q must be refused", tc.in)
				var ie *auth.IdentifierError
				require.ErrorAs(t, err, &ie, "the error is an *IdentifierError")
				assert.NotEmpty(t, ie.Reason, "that says why")
				assert.Empty(t, got, "no address with an error")
				return
			}
			require.NoError(t, err, "%q must be accepted", tc.in)
			assert.Equal(t, tc.want, got, "canonical form of %q", tc.in)
		})
	}
}

func TestNormalizeUsername(t *testing.T) {
	cases := []struct {
		in   string
		want string // empty: refused
	}{
		{"kate", "kate"},
		{"Kate_99", "kate_99"},
		{"ÉLODIE", "élodie"},
		{"\u212Aate", ""},
		{"", ""},
		{"ka te", ""},
		{strings.Repeat("x", auth.MaxLocalPartLen+1), ""},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := auth.NormalizeUsername(tc.in)
			if tc.want == "" {
				require.ErrorIs(t, err, auth.ErrBadIdentifier, "%q must be refused", tc.in)
				return
			}
			require.NoError(t, err, "%q must be accepted", tc.in)
			assert.Equal(t, tc.want, got, "canonical form of %q", tc.in)
		})
	}
}

// FuzzNormalizeEmail: never a panic; an accepted address is valid UTF-8,
// within the limits, its own canonical form (idempotent), and lower-cased
// input normalises to the same account.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"kate@example.com", "Kate@Example.COM", "\u212Aate@example.com",
		"Straße@example.com", "a@b@c.d", "ΣΑΣ@example.com", "e\u0301@x.io", "kate@xn--bcher-kva.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := auth.NormalizeEmail(s)
		if err != nil {
			if !errors.Is(err, auth.ErrBadIdentifier) || got != "" {
				t.Fatalf("NormalizeEmail(%q) = %q, %v: want ErrBadIdentifier and no address", s, got, err)
			}
			return
		}
		if !utf8.ValidString(got) || len(got) > auth.MaxEmailLen || strings.Count(got, "@") != 1 {
			t.Fatalf("NormalizeEmail(%q) = %q: not a bounded address", s, got)
		}
		again, err := auth.NormalizeEmail(got)
		if err != nil || again != got {
			t.Fatalf("NormalizeEmail is not idempotent: %q -> %q -> %q, %v", s, got, again, err)
		}
	})
}
