package repository

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"time"
)

// maxCursorLen bounds the work spent on a cursor that came from a client.
const maxCursorLen = 1024

// cursor is the decoded content of a keyset pagination cursor: the ordering
// it was made for and the position of the last row of the previous page.
type cursor struct {
	Order string          `json:"o"`
	Desc  bool            `json:"d,omitempty"`
	Value json.RawMessage `json:"v"`
	ID    json.RawMessage `json:"i"`
}

// MinCursorKeyLen is the shortest Options.CursorKey accepted: the size of
// the HMAC-SHA256 output, so the key is never the weak link.
const MinCursorKeyLen = 32

// cursorKey returns the key a repository signs its cursors with: a copy of
// the configured one, or 32 random bytes of its own when none is
// configured. It panics on a configured key shorter than MinCursorKeyLen,
// a programming error caught at construction.
func cursorKey(configured []byte) []byte {
	if len(configured) == 0 {
		key := make([]byte, MinCursorKeyLen)
		_, _ = rand.Read(key) // never fails: crypto/rand crashes the program instead
		return key
	}
	if len(configured) < MinCursorKeyLen {
		panic(fmt.Sprintf("repository: Options.CursorKey has %d bytes, want at least %d", len(configured), MinCursorKeyLen))
	}
	return bytes.Clone(configured)
}

// encodeCursor returns base64url(JSON) "." base64url(HMAC-SHA256(key,
// JSON)). Every cursor is signed; key is never empty (see cursorKey).
func encodeCursor(key []byte, c cursor) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("repository: encode cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(payload) + "." +
		base64.RawURLEncoding.EncodeToString(sign(key, payload)), nil
}

func sign(key, payload []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(payload)
	return h.Sum(nil)
}

// decodeCursor checks the signature and then the shape of s. An unsigned
// cursor, or one signed with another key, is rejected like a tampered one,
// and so is any cursor when key is empty. Every failure is
// ErrInvalidCursor. The values inside are still raw JSON: the caller
// converts them to the column types.
func decodeCursor(key []byte, s string) (cursor, error) {
	var c cursor
	if len(s) > maxCursorLen || len(key) == 0 {
		return c, ErrInvalidCursor
	}
	body, mac, signed := bytes.Cut([]byte(s), []byte("."))
	if !signed {
		return c, ErrInvalidCursor
	}
	payload, err := base64.RawURLEncoding.DecodeString(string(body))
	if err != nil {
		return c, ErrInvalidCursor
	}
	got, err := base64.RawURLEncoding.DecodeString(string(mac))
	if err != nil || !hmac.Equal(got, sign(key, payload)) {
		return c, ErrInvalidCursor
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || dec.More() {
		return cursor{}, ErrInvalidCursor
	}
	if c.Order == "" || len(c.Value) == 0 || len(c.ID) == 0 ||
		bytes.Equal(c.Value, []byte("null")) || bytes.Equal(c.ID, []byte("null")) {
		return cursor{}, ErrInvalidCursor
	}
	return c, nil
}

// keyset is a resolved keyset pagination request.
type keyset struct {
	col   int  // order column
	desc  bool // direction
	after bool // a cursor was given: value and id hold its position
	value reflect.Value
	id    reflect.Value
	limit int
}

// resolveKeyset validates o against the mapping: the order column, the
// cursor (signature, ordering, value types). Cursor values are decoded as
// JSON into the column's own Go type as well, so even a cursor signed with
// a leaked key can only move the page start, never change the query.
func (m *mapping) resolveKeyset(key []byte, o PageOptions) (keyset, error) {
	ks := keyset{col: m.pk, desc: o.OrderDir == Desc, limit: clampLimit(o.Limit)}
	if o.OrderDir != Asc && o.OrderDir != Desc {
		return ks, newFieldError("orderDir", o.OrderDir.String(), "unknown direction", nil)
	}
	if o.OrderBy != "" {
		i, err := m.lookup("orderBy", o.OrderBy)
		if err != nil {
			return ks, err
		}
		ks.col = i
	}
	if m.cols[ks.col].typ.Kind() == reflect.Pointer {
		return ks, newFieldError("orderBy", o.OrderBy, "nullable column cannot order cursor pages", nil)
	}
	if o.Cursor == "" {
		return ks, nil
	}
	c, err := decodeCursor(key, o.Cursor)
	if err != nil {
		return ks, err
	}
	if c.Order != m.cols[ks.col].name || c.Desc != ks.desc {
		return ks, fmt.Errorf("%w: made for another ordering", ErrInvalidCursor)
	}
	if ks.value, err = decodeValue(m.cols[ks.col].typ, c.Value); err != nil {
		return ks, err
	}
	if ks.id, err = decodeValue(m.cols[m.pk].typ, c.ID); err != nil {
		return ks, err
	}
	ks.after = true
	return ks, nil
}

func decodeValue(t reflect.Type, raw json.RawMessage) (reflect.Value, error) {
	p := reflect.New(t)
	if err := json.Unmarshal(raw, p.Interface()); err != nil {
		return reflect.Value{}, fmt.Errorf("%w: %v", ErrInvalidCursor, err)
	}
	v := p.Elem()
	if t == timeType {
		v = reflect.ValueOf(normalizeTime(v.Interface().(time.Time)))
	}
	return v, nil
}

// nextCursor encodes the position of row (a struct value) for ks.
func (m *mapping) nextCursor(key []byte, ks keyset, row reflect.Value) (string, error) {
	v := m.field(row, ks.col)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "", fmt.Errorf("repository: keyset pagination on NULL value of %s", m.cols[ks.col].name)
		}
		v = v.Elem()
	}
	val, err := json.Marshal(v.Interface())
	if err != nil {
		return "", fmt.Errorf("repository: encode cursor: %w", err)
	}
	id, err := json.Marshal(m.field(row, m.pk).Interface())
	if err != nil {
		return "", fmt.Errorf("repository: encode cursor: %w", err)
	}
	return encodeCursor(key, cursor{Order: m.cols[ks.col].name, Desc: ks.desc, Value: val, ID: id})
}
