package envelope

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/svckit/svckit/errkind"
)

// Query parses the query string of r strictly and returns its parameters.
// Where URL.Query silently drops a pair it cannot parse (a pair holding ';',
// a bad %-escape), so that a handler sees defaults and answers 200, Query
// fails with a 400 BAD_REQUEST *errkind.Error whose details name the
// parameter: {"param": name}. A name or value holding NUL or invalid UTF-8 (after
// unescaping) is refused the same way, so such input gets the same 400 on
// every database. A name that cannot be unescaped is reported as sent.
//
// An empty query string gives empty, non-nil Values. Pairs without '=' have
// an empty value, as with URL.Query.
func Query(r *http.Request) (url.Values, error) {
	return parseQuery(r.URL.RawQuery)
}

func parseQuery(raw string) (url.Values, error) {
	v := url.Values{}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, kerr := url.QueryUnescape(rawKey)
		if kerr != nil {
			return nil, badParameter("query parameter name is not a valid %-escape", rawKey)
		}
		if strings.Contains(pair, ";") {
			return nil, badParameter("query parameter holds a ';'", key)
		}
		if !cleanText(key) {
			return nil, badParameter("query parameter name holds NUL or invalid UTF-8", rawKey)
		}
		value, verr := url.QueryUnescape(rawValue)
		if verr != nil {
			return nil, badParameter("query parameter value is not a valid %-escape", key)
		}
		if !cleanText(value) {
			return nil, badParameter("query parameter value holds NUL or invalid UTF-8", key)
		}
		v[key] = append(v[key], value)
	}
	return v, nil
}

// PathValue returns r.PathValue(name), refusing a value that holds NUL or
// invalid UTF-8 once unescaped (ServeMux unescapes %00 and %ff into the
// value) with a 400 BAD_REQUEST *errkind.Error whose details name the
// parameter: {"param": name}. Such a value can never be a valid id, and the
// databases disagree about it (PostgreSQL fails, others store or compare
// it), so it is refused before it reaches a cache, a limiter or a query.
func PathValue(r *http.Request, name string) (string, error) {
	v := r.PathValue(name)
	if !cleanText(v) {
		return "", badParameter("path parameter holds NUL or invalid UTF-8", name)
	}
	return v, nil
}

func badParameter(message, name string) *errkind.Error {
	if !cleanText(name) {
		name = strings.ToValidUTF8(strings.ReplaceAll(name, "\x00", "\uFFFD"), "\uFFFD")
	}
	return BadRequest(message).WithDetail("param", name)
}

// cleanText reports whether s is valid UTF-8 without NUL.
func cleanText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}
