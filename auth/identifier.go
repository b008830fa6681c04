package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
)

// ErrBadIdentifier means an email address or user name breaks the
// identifier rule of NormalizeEmail and NormalizeUsername. Their errors are
// *IdentifierError values that match it.
var ErrBadIdentifier = errors.New("auth: identifier refused")

// IdentifierError is the error of NormalizeEmail and NormalizeUsername. It
// matches ErrBadIdentifier with errors.Is.
type IdentifierError struct {
	// Reason says which rule the identifier breaks, in words safe to show
	// the user ("domain labels do not begin or end with a hyphen").
	Reason string
}

// Error returns "auth: identifier refused: " and the reason.
func (e *IdentifierError) Error() string { return ErrBadIdentifier.Error() + ": " + e.Reason }

// Unwrap returns ErrBadIdentifier.
func (e *IdentifierError) Unwrap() error { return ErrBadIdentifier }

// Limits of the identifier rule (RFC 5321 §4.5.3.1).
const (
	MaxLocalPartLen = 64  // bytes before the "@", and of a user name
	MaxEmailLen     = 254 // bytes of a whole address
	maxDomainLen    = 253
	maxLabelLen     = 63
)

// NormalizeUsername returns the canonical form of a user name, the one to
// store and compare, under the PRECIS UsernameCaseMapped profile (RFC
// 8265 §3.3), with one more rule: the input must already be in its
// canonical form except for letter case. So:
//
//   - letters are lower-cased ("Kate" is "kate");
//   - spaces, control and unassigned code points, and symbols outside the
//     PRECIS IdentifierClass are refused;
//   - input that Unicode normalisation or width mapping would change is
//     refused, not mapped: the KELVIN SIGN U+212A is refused rather than
//     read as "k", as are fullwidth letters and decomposed accents (send
//     NFC). Two different strings can therefore never name one account;
//   - it must be 1 to MaxLocalPartLen bytes;
//   - its letters must be of one script, as UTS #39 (Unicode Security
//     Mechanisms, §5.2) asks of a "highly restrictive" identifier: "kаte"
//     with a Cyrillic "а" is refused rather than be an account beside
//     "kate". See the script rule below.
//
// The script rule: every character's Unicode script is looked up
// (Common and Inherited, such as digits, punctuation and combining marks,
// go with any script), and the scripts found must be one, or fall within
// one of the combinations UTS #39 allows for the languages that write
// with several: Latin, Han, Hiragana and Katakana (Japanese); Latin, Han
// and Bopomofo (Chinese); Latin, Han and Hangul (Korean). It reads the
// Script property, not Script_Extensions, which Go's unicode tables do
// not carry; it does not catch a name written wholly in a script that
// looks like another (a whole-script confusable, "аре" in Cyrillic).
//
// Errors are *IdentifierError.
func NormalizeUsername(name string) (string, error) {
	return normalizeLocal(name, "user name")
}

// NormalizeEmail returns the canonical form of an email address, the one
// to store and compare. The rule is strict, and refuses what it cannot
// make canonical rather than guess:
//
//   - exactly one "@"; no quoted local parts, comments or surrounding
//     spaces; at most MaxEmailLen bytes;
//   - the local part follows NormalizeUsername: PRECIS UsernameCaseMapped,
//     so it is lower-cased, and input that is not already canonical (a
//     KELVIN SIGN, fullwidth letters, decomposed accents) is refused. It is
//     not otherwise changed: dots and "+tags" are kept, since only the
//     domain's owner knows what they mean; its letters must be of one
//     script (the script rule of NormalizeUsername: "kаte@example.com"
//     with a Cyrillic "а" is refused);
//   - the domain is ASCII (give an internationalised domain in its
//     "xn--" A-label form), is lower-cased, and has at least two
//     dot-separated labels of letters, digits and inner hyphens, each 1 to
//     63 bytes, with a top-level label that is not all digits.
//
// Errors are *IdentifierError.
func NormalizeEmail(email string) (string, error) {
	if len(email) > MaxEmailLen {
		return "", badIdentifier("email address longer than %d bytes", MaxEmailLen)
	}
	local, domain, ok := strings.Cut(email, "@")
	if !ok || strings.Contains(domain, "@") {
		return "", badIdentifier("an email address has exactly one @")
	}
	l, err := normalizeLocal(local, "local part")
	if err != nil {
		return "", err
	}
	d, err := normalizeDomain(domain)
	if err != nil {
		return "", err
	}
	return l + "@" + d, nil
}

func badIdentifier(format string, args ...any) error {
	return &IdentifierError{Reason: fmt.Sprintf(format, args...)}
}

func normalizeLocal(s, what string) (string, error) {
	if s == "" || len(s) > MaxLocalPartLen {
		return "", badIdentifier("%s must have 1 to %d bytes", what, MaxLocalPartLen)
	}
	if strings.HasPrefix(s, `"`) {
		return "", badIdentifier("quoted %ss are not accepted", what)
	}
	canonical, err := precis.UsernameCasePreserved.String(s)
	if err != nil {
		return "", badIdentifier("%s has characters not allowed in an identifier", what)
	}
	if canonical != s {
		return "", badIdentifier("%s is not in canonical Unicode form (NFC, no compatibility characters)", what)
	}
	mapped, err := precis.UsernameCaseMapped.String(s)
	if err != nil || mapped == "" || len(mapped) > MaxLocalPartLen {
		return "", badIdentifier("%s has characters not allowed in an identifier", what)
	}
	if a, b, ok := oneScript(mapped); !ok {
		return "", badIdentifier("%s mixes letters of scripts %s and %s, as look-alike names do", what, a, b)
	}
	return mapped, nil
}

// oneScript reports whether the characters of s are of one script, or of
// one of the combinations above, Common and Inherited aside (see
// NormalizeUsername). When they are not, a and b name two scripts that
// cannot go together.
func oneScript(s string) (a, b string, ok bool) {
	var scripts []string // at most four: a fifth cannot fit any combination
	for _, r := range s {
		sc := scriptOf(r, scripts)
		if sc == "Common" || sc == "Inherited" || slices.Contains(scripts, sc) {
			continue
		}
		scripts = append(scripts, sc)
		if len(scripts) > 1 && !combined(scripts) {
			return scripts[0], sc, false
		}
	}
	return "", "", true
}

// combined reports whether the scripts of set fall within one of the
// combinations UTS #39 §5.2 ("highly restrictive") allows in one
// identifier: Japanese, Chinese and Korean writing, with Latin.
func combined(set []string) bool {
	for _, allowed := range [...][]string{
		{"Latin", "Han", "Hiragana", "Katakana"},
		{"Latin", "Han", "Bopomofo"},
		{"Latin", "Han", "Hangul"},
	} {
		if !slices.ContainsFunc(set, func(s string) bool { return !slices.Contains(allowed, s) }) {
			return true
		}
	}
	return false
}

// scriptOf returns the Unicode script of r ("Unknown" for an unassigned
// code point), trying the scripts already seen first.
func scriptOf(r rune, seen []string) string {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' {
			return "Latin"
		}
		return "Common"
	}
	for _, name := range seen {
		if unicode.Is(unicode.Scripts[name], r) {
			return name
		}
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return "Unknown"
}

// NormalizeDisplayName returns the form of a display name (a person's
// name as others see it, not an identifier) to store and show, under the
// PRECIS Nickname profile (RFC 8266): spaces of every kind become one
// ASCII space, runs of them one, and leading and trailing ones go; the
// name is put in Unicode normalisation form NFKC (fullwidth letters become
// plain ones); control characters, format characters such as the
// zero-width space and the right-to-left override, and unassigned code
// points are refused, as is a name left empty. Letter case and scripts are
// kept: a display name may be in any language. The caller bounds its
// length (in the normalised form). Errors are *IdentifierError.
func NormalizeDisplayName(name string) (string, error) {
	out, err := precis.Nickname.String(name)
	if err != nil || out == "" {
		return "", badIdentifier("a display name needs a visible character and no control or invisible ones")
	}
	return out, nil
}

func normalizeDomain(d string) (string, error) {
	if d == "" || len(d) > maxDomainLen {
		return "", badIdentifier("domain must have 1 to %d bytes", maxDomainLen)
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "", badIdentifier("domain needs at least two labels")
	}
	for _, l := range labels {
		if l == "" || len(l) > maxLabelLen {
			return "", badIdentifier("domain labels must have 1 to %d bytes", maxLabelLen)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", badIdentifier("domain labels do not begin or end with a hyphen")
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return "", badIdentifier("domain must be ASCII letters, digits and hyphens (use the xn-- form)")
			}
		}
	}
	tld := labels[len(labels)-1]
	if strings.Trim(tld, "0123456789") == "" {
		return "", badIdentifier("top-level domain is all digits")
	}
	return strings.ToLower(d), nil
}
