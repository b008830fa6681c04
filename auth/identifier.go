package auth

import (
	"errors"
	"fmt"
	"strings"

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
//   - it must be 1 to MaxLocalPartLen bytes.
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
//     domain's owner knows what they mean;
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
	return mapped, nil
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
