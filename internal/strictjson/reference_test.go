package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// strictVerdict is what Check decides about a document: the zero value
// for accepted, else the reason, the member and the offset.
type strictVerdict struct {
	reason Reason
	field  any // nil when no member holds the string
	offset any
}

func verdictOf(e *Error) strictVerdict {
	if e == nil {
		return strictVerdict{}
	}
	v := strictVerdict{reason: e.Reason, offset: e.Offset}
	if e.HasField {
		v.field = e.Field
	}
	return v
}

// strictReference is an independent statement of the names and strings
// Check refuses (without a target type, so without the letter-case
// rule, which FuzzStrictLookup covers), built on encoding/json's Token API
// instead of a scanner of its own: the names of each object in a set, and
// every string compared raw with what encoding/json decodes it to (a NUL,
// invalid UTF-8 in the raw bytes, or a U+FFFD that neither the raw text
// nor a \uFFFD escape accounts for, which is an unpaired surrogate
// escape). data is one JSON value encoding/json accepts. When one string
// has a NUL and invalid UTF-8, either reason is right; nulAndInvalid
// reports it.
func strictReference(data []byte) (v strictVerdict, nulAndInvalid bool) {
	type frame struct {
		object  bool
		names   map[string]bool
		field   *string // the member holding the container; nil at the top
		wantKey bool
		key     string
	}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // numbers as text: 1e400 is valid JSON, not a float64
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			return strictVerdict{}, false
		}
		if err != nil {
			panic(fmt.Sprintf("reference: %v on valid JSON %q", err, data))
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		// field is the member a value belongs to, for error details.
		var field *string
		if top != nil {
			field = top.field
			if top.object {
				field = &top.key
			}
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{', '[':
				stack = append(stack, &frame{object: tok == '{', names: map[string]bool{}, field: field, wantKey: tok == '{'})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].wantKey = true
				}
			}
			continue
		case string:
			start := before + int64(bytes.IndexByte(data[before:], '"'))
			raw := data[start:dec.InputOffset()]
			isKey := top != nil && top.object && top.wantKey
			if isKey {
				field = top.field
			}
			nul := strings.ContainsRune(tok, 0)
			invalid := !utf8.Valid(raw) || strings.Count(tok, "\uFFFD") > bytes.Count(raw, []byte("\uFFFD"))+escapedFFFD(raw)
			if nul || invalid {
				reason := NUL
				if invalid && !nul {
					reason = InvalidUTF8
				}
				v := strictVerdict{reason: reason, offset: start}
				if field != nil {
					v.field = *field
				}
				return v, nul && invalid
			}
			if isKey {
				if top.names[tok] {
					return strictVerdict{reason: Duplicate, field: tok, offset: start}, false
				}
				top.names[tok] = true
				top.key, top.wantKey = tok, false
				continue
			}
		}
		if top != nil && top.object {
			top.wantKey = true
		}
	}
}

// escapedFFFD counts the \uFFFD escapes in the raw string s.
func escapedFFFD(s []byte) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		if s[i+1] == 'u' && strings.EqualFold(string(s[i+2:i+6]), "fffd") {
			n++
		}
		i++ // the escaped character; \u's hex digits are plain text
	}
	return n
}

func TestStrictReference(t *testing.T) {
	for _, body := range []string{
		`{"a":1,"b":{"a":2,"a":3}}`, `[{"x":"\u0000"}]`, `{"k":["ok","\ud800"]}`, "{\"\xff\":1}",
		`"\ufffd\uFFFD"`, `"\\ud800"`, `{"a":{"b":1},"a":2}`, `{"x":"\udc00\ud800\udc00"}`,
		"\"\xff\\u0000\"", `{"a\u0000":1}`, `[[],{},"",{"":1,"":2}]`,
	} {
		want, either := strictReference([]byte(body))
		got := verdictOf(Check([]byte(body), nil))
		if either {
			got.reason, want.reason = 0, 0
		}
		if got != want {
			t.Errorf("%s: Check %+v, reference %+v", body, got, want)
		}
	}
}

// FuzzCheck holds Check, the hand-written scanner, to
// strictReference for every body encoding/json accepts.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"note":"\ud83d\ude00"}`, `["\u0000"]`, "{\"n\":\"\xc3(\"}",
		`{"a":{"b":[1,{"c":"\udc00"}]}}`, `"\\u0000\ufffd"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		data := []byte(body)
		if !json.Valid(data) {
			return
		}
		want, either := strictReference(data)
		got := verdictOf(Check(data, nil))
		if either {
			got.reason, want.reason = 0, 0
		}
		if got != want {
			t.Fatalf("%q: Check %+v, reference %+v", body, got, want)
		}
	})
}
