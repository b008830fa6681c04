package operation

import (
	"net/mail"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// formatOK reports whether the text val has the format f (one of
// knownFormats).
func formatOK(f string, val []byte) bool {
	switch f {
	case "date-time":
		// As time.Time decodes it (from JSON too), so what passes decodes.
		var t time.Time
		return t.UnmarshalText(val) == nil
	case "date":
		_, err := time.Parse(time.DateOnly, string(val))
		return err == nil
	case "email":
		return isEmail(string(val))
	case "uuid":
		return isUUID(val)
	case "uri":
		u, err := url.Parse(string(val))
		return err == nil && u.Scheme != "" && strings.IndexFunc(string(val), isSpaceOrControl) < 0
	case "ipv4":
		a, err := netip.ParseAddr(string(val))
		return err == nil && a.Is4()
	case "ipv6":
		a, err := netip.ParseAddr(string(val))
		return err == nil && a.Is6() && a.Zone() == ""
	}
	return true // int32, int64, float, double: checked with the number
}

func formatNoun(f string) string {
	switch f {
	case "date-time":
		return "a date and time in RFC 3339 form"
	case "date":
		return "a date in the form 2006-01-02"
	case "email":
		return "an email address"
	case "uuid":
		return "a UUID"
	case "uri":
		return "an absolute URI"
	case "ipv4":
		return "an IPv4 address"
	case "ipv6":
		return "an IPv6 address"
	}
	return "of format " + f
}

// isEmail reports whether s is a bare address (RFC 5322 addr-spec, as
// net/mail reads it) such as ada@example.com: no display name, no angle
// brackets, a dot in the domain.
func isEmail(s string) bool {
	if s == "" || len(s) > 254 {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && strings.Contains(s[at:], ".")
}

// isUUID reports whether b is a UUID in its 36-character text form.
func isUUID(b []byte) bool {
	if len(b) != 36 {
		return false
	}
	for i, c := range b {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }
