package auth_test

import (
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"
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
		// UTS #39 mixed scripts: look-alikes refused, one script (or a
		// CJK combination) accepted.
		{"k\u0430te@example.com", ""},                                                                // Cyrillic а beside Latin letters
		{"\u0440\u0430ypal@example.com", ""},                                                         // Cyrillic р and а in "paypal"
		{"ka\u03c4e@example.com", ""},                                                                // Greek τ beside Latin letters
		{"\u043a\u03b1\u0442\u044f@example.com", ""},                                                 // Cyrillic and Greek
		{"\u043a\u0430\u0442\u044f@example.com", "\u043a\u0430\u0442\u044f@example.com"},             // катя, all Cyrillic
		{"\u043a\u0430\u0442\u044f.1990@example.com", "\u043a\u0430\u0442\u044f.1990@example.com"},   // digits and dots go with any script
		{"\u0645\u062d\u0645\u062f@example.com", "\u0645\u062d\u0645\u062f@example.com"},             // محمد, Arabic
		{"\u305f\u306a\u304b\u592a\u90ce@example.com", "\u305f\u306a\u304b\u592a\u90ce@example.com"}, // Hiragana and Han: Japanese
		{"\u7530\u4e2dtanaka@example.com", "\u7530\u4e2dtanaka@example.com"},                         // Han and Latin
		{"\ud55c\uad6dabc@example.com", "\ud55c\uad6dabc@example.com"},                               // Hangul and Latin: Korean
		{"\ud55c\u305f@example.com", ""},                                                             // Hangul and Hiragana: no such writing
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
		{"k\u0430te", ""}, // Cyrillic а beside Latin letters
		{"\u041a\u0430\u0442\u044f", "\u043a\u0430\u0442\u044f"}, // Катя, all Cyrillic, lower-cased
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

func TestNormalizeDisplayName(t *testing.T) {
	cases := []struct {
		in   string
		want string // empty: refused
	}{
		{"Kate", "Kate"},
		{"  Kate   Smith ", "Kate Smith"},            // spaces trimmed and collapsed
		{"Kate\u00a0Smith", "Kate Smith"},            // a no-break space is a space
		{"\uff2bate", "Kate"},                        // fullwidth K: NFKC
		{"Zo\u00eb", "Zo\u00eb"},                     // accents kept
		{"Zoe\u0308", "Zo\u00eb"},                    // and composed
		{"\u738b\u5c0f\u660e", "\u738b\u5c0f\u660e"}, // any script
		{"k\u0430te", "k\u0430te"},                   // mixed scripts: a name, not an identifier
		{"\U0001F600", "\U0001F600"},                 // a symbol is visible
		{"\u200b", ""},                               // only a zero-width space
		{"\u200b\u200b \u200c", ""},                  // only invisible characters and a space
		{"Kate\u200b", ""},                           // an invisible character beside others
		{"\u202eetaK", ""},                           // a right-to-left override
		{"Ka\u0000te", ""},                           // NUL
		{"Kate\n", ""},                               // a control character
		{"", ""},
		{"   ", ""},
		{"\xff", ""}, // invalid UTF-8
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := auth.NormalizeDisplayName(tc.in)
			if tc.want == "" {
				require.ErrorIs(t, err, auth.ErrBadIdentifier, "%q must be refused", tc.in)
				return
			}
			require.NoError(t, err, "%q must be accepted", tc.in)
			assert.Equal(t, tc.want, got, "normalised form of %q", tc.in)
		})
	}
}

// FuzzNormalizeDisplayName: an accepted name is its own normal form, has
// a character that is neither a space nor invisible, and holds no control,
// format (zero-width, bidirectional override) or unassigned code point.
func FuzzNormalizeDisplayName(f *testing.F) {
	for _, s := range []string{"Kate", "\u200b", " Kate  Smith ", "\uff2bate", "Zoe\u0308", "\u202eetaK", "\u738b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := auth.NormalizeDisplayName(s)
		if err != nil {
			if !errors.Is(err, auth.ErrBadIdentifier) || got != "" {
				t.Fatalf("NormalizeDisplayName(%q) = %q, %v", s, got, err)
			}
			return
		}
		if again, err := auth.NormalizeDisplayName(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, got, again, err)
		}
		if strings.TrimSpace(got) != got || strings.TrimSpace(got) == "" {
			t.Fatalf("NormalizeDisplayName(%q) = %q: blank or padded", s, got)
		}
		for _, r := range got {
			if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) || !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs) {
				t.Fatalf("NormalizeDisplayName(%q) = %q holds %U", s, got, r)
			}
		}
	})
}

// FuzzIdentifierScripts holds the script rule of NormalizeUsername to a
// reference that looks every script up by name: an accepted name's
// letters are of one script or of one of UTS #39's CJK combinations.
func FuzzIdentifierScripts(f *testing.F) {
	for _, s := range []string{"kate", "k\u0430te", "\u043a\u0430\u0442\u044f", "\u7530\u4e2dtanaka", "\ud55c\u305f", "ka\u03c4e1"} {
		f.Add(s)
	}
	names := make([]string, 0, len(unicode.Scripts))
	for name := range unicode.Scripts {
		names = append(names, name)
	}
	sort.Strings(names)
	combos := [][]string{{"Latin", "Han", "Hiragana", "Katakana"}, {"Latin", "Han", "Bopomofo"}, {"Latin", "Han", "Hangul"}}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := auth.NormalizeUsername(s)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, r := range got {
			for _, name := range names {
				if name != "Common" && name != "Inherited" && unicode.Is(unicode.Scripts[name], r) {
					seen[name] = true
				}
			}
		}
		if len(seen) <= 1 {
			return
		}
		for _, combo := range combos {
			in := true
			for name := range seen {
				in = in && slices.Contains(combo, name)
			}
			if in {
				return
			}
		}
		t.Fatalf("NormalizeUsername(%q) = %q mixes scripts %v", s, got, seen)
	})
}
