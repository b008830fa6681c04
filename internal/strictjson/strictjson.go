// Package strictjson refuses the JSON that encoding/json accepts silently:
// a member name repeated in one object (encoding/json keeps the last), a
// name that matches a struct field only when letter case is ignored
// (encoding/json folds case), a string holding NUL (U+0000), and a string
// that is not valid UTF-8, raw or as an unpaired \u surrogate escape
// (encoding/json replaces it with U+FFFD). These are the semantics of
// encoding/json/v2 for names and strings.
//
// Call Check after encoding/json has accepted the text:
//
//	if err := json.Unmarshal(data, &v); err != nil { ... }
//	if err := strictjson.Check(data, reflect.TypeFor[T]()); err != nil { ... }
//
// Two readers of one document must not see two different documents: a
// request body that envelope decodes, a token's claims that auth verifies
// for another issuer. Both run this one check, so they refuse the same
// things. It imports no HTTP code: envelope renders its errors as 400,
// auth as an invalid token.
package strictjson

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Reason is the rule a document breaks.
type Reason uint8

// The rules of Check.
const (
	// Duplicate: a member name is repeated in one object.
	Duplicate Reason = iota + 1
	// CaseVariant: a member name differs from a field of the target
	// struct only by letter case.
	CaseVariant
	// NUL: a string holds U+0000.
	NUL
	// InvalidUTF8: a string is not valid UTF-8, raw or as an unpaired
	// surrogate escape.
	InvalidUTF8
)

// String returns the reason in words: "a repeated member name", "a member
// name that differs from a field only by letter case", "a string with a
// NUL character" or "a string with invalid UTF-8".
func (r Reason) String() string {
	switch r {
	case Duplicate:
		return "a repeated member name"
	case CaseVariant:
		return "a member name that differs from a field only by letter case"
	case NUL:
		return "a string with a NUL character"
	case InvalidUTF8:
		return "a string with invalid UTF-8"
	}
	return "reason " + strconv.Itoa(int(r))
}

// Error is what Check refuses, and where.
type Error struct {
	Reason Reason
	// Field is the member name: the repeated or case-variant name, or
	// for a string the member holding it (a string in an array is held
	// by the array's member). HasField is false for a string outside
	// every object.
	Field    string
	HasField bool
	// Offset is the byte offset of the name or string in the document.
	Offset int64
}

// Error returns "json: " and the reason, the member and the offset.
func (e *Error) Error() string {
	msg := "json: " + e.Reason.String()
	if e.HasField {
		msg += " (member " + strconv.Quote(e.Field) + ")"
	}
	return msg + " at offset " + strconv.FormatInt(e.Offset, 10)
}

// Check walks data, one JSON value that encoding/json has already
// accepted, beside the type t it was decoded into (nil when no member
// names are checked against a type), and returns the first thing it
// refuses, or nil. Letter case is checked only against the fields of a
// struct type; a type that decodes itself (json.Unmarshaler,
// encoding.TextUnmarshaler) has its member names left to it, its
// strings checked still.
//
// It is a second linear pass over the text without reflection on values,
// so it costs a fraction of the decoding itself.
func Check(data []byte, t reflect.Type) *Error {
	s := scanner{data: data}
	return s.value(t, nil)
}

type scanner struct {
	data []byte
	i    int
}

// manyMembers is the number of members after which an object's names are
// kept in a map instead of a list, so a body of many members stays linear.
const manyMembers = 16

func (s *scanner) ws() {
	i, data := s.i, s.data
	for i < len(data) && data[i] <= ' ' && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	s.i = i
}

// value checks the value at s.i, decoded into t (nil when the names inside
// are not checked against a type). field names the member holding it (nil
// at the top), for error details only.
func (s *scanner) value(t reflect.Type, field []byte) *Error {
	s.ws()
	if s.i >= len(s.data) {
		return nil
	}
	switch s.data[s.i] {
	case '{':
		return s.object(t, field)
	case '[':
		return s.array(t, field)
	case '"':
		_, err := s.str(field, false)
		return err
	}
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ',', ']', '}', ' ', '\t', '\r', '\n':
			return nil
		}
		s.i++
	}
	return nil
}

func (s *scanner) object(t reflect.Type, field []byte) *Error {
	info := typeInfoOf(t)
	var (
		buf  [manyMembers][]byte // names of a small object, on the stack
		list = buf[:0]
		set  map[string]struct{}
	)
	s.i++ // {
	for {
		s.ws()
		if s.i >= len(s.data) || s.data[s.i] == '}' {
			s.i++
			return nil
		}
		if s.data[s.i] == ',' {
			s.i++
			continue
		}
		start := int64(s.i)
		name, err := s.str(field, true)
		if err != nil {
			return err
		}
		if set != nil {
			if _, dup := set[string(name)]; dup {
				return duplicateName(string(name), start)
			}
			set[string(name)] = struct{}{}
		} else {
			for _, n := range list {
				if string(n) == string(name) {
					return duplicateName(string(name), start)
				}
			}
			if len(list) < manyMembers {
				list = append(list, name)
			} else {
				set = make(map[string]struct{}, 4*manyMembers)
				for _, n := range list {
					set[string(n)] = struct{}{}
				}
				set[string(name)] = struct{}{}
			}
		}
		var vt reflect.Type
		switch info.kind {
		case reflect.Struct:
			ft, exact, folded := info.lookup(name)
			if folded && !exact {
				return &Error{Reason: CaseVariant, Field: string(name), HasField: true, Offset: start}
			}
			vt = ft
		case reflect.Map:
			vt = info.elem
		}
		s.ws()
		s.i++ // :
		if err := s.value(vt, name); err != nil {
			return err
		}
	}
}

func duplicateName(name string, offset int64) *Error {
	return &Error{Reason: Duplicate, Field: name, HasField: true, Offset: offset}
}

func (s *scanner) array(t reflect.Type, field []byte) *Error {
	var et reflect.Type
	if info := typeInfoOf(t); info.kind == reflect.Slice || info.kind == reflect.Array {
		et = info.elem
	}
	s.i++ // [
	for {
		s.ws()
		if s.i >= len(s.data) || s.data[s.i] == ']' {
			s.i++
			return nil
		}
		if s.data[s.i] == ',' {
			s.i++
			continue
		}
		if err := s.value(et, field); err != nil {
			return err
		}
	}
}

// str checks the string at s.i and moves past it. With keep it returns
// the decoded text (member names), a slice of the body when the string has
// no escapes; otherwise nil.
func (s *scanner) str(field []byte, keep bool) ([]byte, *Error) {
	start := s.i
	s.i++ // "
	plain := true
	for s.i < len(s.data) {
		// Most bytes are plain ASCII: pass over them in a tight loop.
		i, data := s.i, s.data
		for i < len(data) && data[i] != '"' && data[i] != '\\' && data[i] < utf8.RuneSelf {
			i++
		}
		if s.i = i; i == len(data) {
			break
		}
		c := data[i]
		switch {
		case c == '"':
			s.i++
			if !keep {
				return nil, nil
			}
			if plain {
				return s.data[start+1 : s.i-1], nil
			}
			var name string
			_ = json.Unmarshal(s.data[start:s.i], &name) // valid: checked above
			return []byte(name), nil
		case c == '\\':
			plain = false
			if s.data[s.i+1] != 'u' {
				s.i += 2
				continue
			}
			r := hex4(s.data[s.i+2 : s.i+6])
			s.i += 6
			switch {
			case r == 0:
				return nil, badString(NUL, field, start)
			case utf16.IsSurrogate(r):
				if r >= 0xdc00 || s.i+6 > len(s.data) || s.data[s.i] != '\\' || s.data[s.i+1] != 'u' {
					return nil, badString(InvalidUTF8, field, start)
				}
				if r2 := hex4(s.data[s.i+2 : s.i+6]); r2 < 0xdc00 || r2 > 0xdfff {
					return nil, badString(InvalidUTF8, field, start)
				}
				s.i += 6
			}
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(s.data[s.i:])
			if r == utf8.RuneError && size == 1 {
				return nil, badString(InvalidUTF8, field, start)
			}
			s.i += size
		default:
			s.i++
		}
	}
	return nil, nil
}

func badString(r Reason, field []byte, offset int) *Error {
	return &Error{Reason: r, Field: string(field), HasField: field != nil, Offset: int64(offset)}
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// equalFold is strings.EqualFold for a string and bytes, without copying
// the bytes when both are ASCII.
func equalFold(s string, b []byte) bool {
	if len(s) != len(b) {
		// Lengths differ under folding only outside ASCII.
		if isASCII(s) && isASCII(b) {
			return false
		}
		return strings.EqualFold(s, string(b))
	}
	for i := range len(b) {
		c, d := s[i], b[i]
		if c >= utf8.RuneSelf || d >= utf8.RuneSelf {
			return strings.EqualFold(s, string(b))
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

func isASCII[S string | []byte](s S) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
