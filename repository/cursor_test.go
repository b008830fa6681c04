package repository

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type row struct {
	ID    int64     `db:"id,pk"`
	Name  string    `db:"name"`
	At    time.Time `db:"at"`
	Maybe *int      `db:"maybe"`
}

func rowMapping(t testing.TB) *mapping {
	m, err := newMapping(reflect.TypeFor[row]())
	require.NoError(t, err, "row must map")
	return m
}

func TestCursorRoundTrip(t *testing.T) {
	m := rowMapping(t)
	at := time.Date(2026, 3, 4, 5, 6, 7, 8000, time.UTC)
	for _, key := range [][]byte{cursorKey(nil), []byte("0123456789abcdef0123456789abcdef")} {
		for _, tc := range []struct {
			orderBy string
			dir     Direction
			want    any
		}{
			{"name", Asc, "bob"}, {"at", Desc, at}, {"", Asc, int64(7)}, {"id", Desc, int64(7)},
		} {
			ks, err := m.resolveKeyset(key, PageOptions{OrderBy: tc.orderBy, OrderDir: tc.dir})
			require.NoError(t, err, "resolve %q", tc.orderBy)
			r := row{ID: 7, Name: "bob", At: at}
			c, err := m.nextCursor(key, ks, reflect.ValueOf(r))
			require.NoError(t, err, "encode %q", tc.orderBy)
			assert.True(t, strings.Contains(c, "."), "every cursor carries a MAC")
			back, err := m.resolveKeyset(key, PageOptions{OrderBy: tc.orderBy, OrderDir: tc.dir, Cursor: c})
			require.NoError(t, err, "decode %q", tc.orderBy)
			assert.True(t, back.after, "a cursor positions the page")
			assert.Equal(t, tc.want, back.value.Interface(), "order value round-trips for %q", tc.orderBy)
			assert.Equal(t, int64(7), back.id.Interface(), "id round-trips")
		}
	}
}

// TestCursorContentChecked signs malformed payloads with the right key: even
// a cursor whose MAC verifies (a leaked key) is checked for shape and types.
func TestCursorContentChecked(t *testing.T) {
	m := rowMapping(t)
	key := cursorKey(nil)
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	signed := func(s string) string {
		return enc(s) + "." + base64.RawURLEncoding.EncodeToString(sign(key, []byte(s)))
	}
	for name, c := range map[string]string{
		"value of the wrong type": signed(`{"o":"name","v":5,"i":1}`),
		"id of the wrong type":    signed(`{"o":"name","v":"a","i":"x"}`),
		"unknown field":           signed(`{"o":"name","v":"a","i":1,"x":1}`),
		"null value":              signed(`{"o":"name","v":null,"i":1}`),
		"missing id":              signed(`{"o":"name","v":"a"}`),
		"trailing data":           signed(`{"o":"name","v":"a","i":1}{}`),
		"other ordering":          signed(`{"o":"at","v":"a","i":1}`),
		"bad time":                signed(`{"o":"name","v":"a","i":1.5}`),
	} {
		_, err := m.resolveKeyset(key, PageOptions{OrderBy: "name", Cursor: c})
		assert.ErrorIs(t, err, ErrInvalidCursor, "a signed cursor with %s must be rejected", name)
	}
	ks, err := m.resolveKeyset(key, PageOptions{OrderBy: "name", Cursor: signed(`{"o":"name","v":"a","i":1}`)})
	require.NoError(t, err, "a well-formed cursor signed with the key is accepted")
	assert.Equal(t, "a", ks.value.Interface(), "its value is typed")
}

// TestCursorSignatureRequired: no key, a missing, altered or foreign MAC
// are all ErrInvalidCursor; the old unsigned form is refused.
func TestCursorSignatureRequired(t *testing.T) {
	m := rowMapping(t)
	key, other := cursorKey(nil), cursorKey(nil)
	require.NotEqual(t, key, other, "two generated keys differ")
	payload := `{"o":"name","v":"a","i":1}`
	body := base64.RawURLEncoding.EncodeToString([]byte(payload))
	mac := func(k []byte, p string) string { return base64.RawURLEncoding.EncodeToString(sign(k, []byte(p))) }
	for _, tc := range []struct {
		name   string
		key    []byte
		cursor string
	}{
		{"unsigned", key, body},
		{"empty MAC", key, body + "."},
		{"MAC of another key", key, body + "." + mac(other, payload)},
		{"MAC of another payload", key, body + "." + mac(key, `{"o":"name","v":"b","i":1}`)},
		{"MAC not base64", key, body + ".!!!!"},
		{"no key to check with", nil, body + "." + mac(key, payload)},
		{"unsigned and no key", nil, body},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.resolveKeyset(tc.key, PageOptions{OrderBy: "name", Cursor: tc.cursor})
			assert.ErrorIs(t, err, ErrInvalidCursor, "a cursor that is %s must be rejected", tc.name)
		})
	}
	_, err := m.resolveKeyset(key, PageOptions{OrderBy: "name", Cursor: body + "." + mac(key, payload)})
	assert.NoError(t, err, "the same payload with its own MAC is accepted")
}

func TestCursorKeyLength(t *testing.T) {
	for _, tc := range []struct {
		name   string
		key    []byte
		panics bool
	}{
		{"nil: generated", nil, false},
		{"empty: generated", []byte{}, false},
		{"31 bytes", make([]byte, 31), true},
		{"32 bytes", make([]byte, 32), false},
		{"64 bytes", make([]byte, 64), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.panics {
				assert.Panics(t, func() { cursorKey(tc.key) }, "a short key is a programming error")
				return
			}
			got := cursorKey(tc.key)
			assert.GreaterOrEqual(t, len(got), MinCursorKeyLen, "the key used is long enough")
			if len(tc.key) > 0 {
				assert.Equal(t, tc.key, got, "a configured key is used as given")
			} else {
				assert.NotEqual(t, make([]byte, MinCursorKeyLen), got, "a generated key is random, not zero")
			}
		})
	}
}

func TestResolveKeysetRejectsNullable(t *testing.T) {
	_, err := rowMapping(t).resolveKeyset(nil, PageOptions{OrderBy: "maybe"})
	assert.ErrorIs(t, err, ErrInvalidField, "a nullable column cannot order cursor pages")
}

// FuzzDecodeCursor feeds arbitrary strings to the cursor decoder, signed and
// unsigned: it must never panic, and whatever it accepts must re-encode to
// a cursor that decodes to the same content.
func FuzzDecodeCursor(f *testing.F) {
	m := rowMapping(f)
	key := cursorKey(nil)
	for _, k := range [][]byte{key} {
		ks, _ := m.resolveKeyset(k, PageOptions{OrderBy: "name"})
		c, _ := m.nextCursor(k, ks, reflect.ValueOf(row{ID: 1, Name: "x"}))
		f.Add(c)
	}
	f.Add("")
	f.Add(".")
	f.Add("e30")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"o":"name","v":"a","i":1}`)))
	f.Add(strings.Repeat("A", 2000))
	f.Fuzz(func(t *testing.T, s string) {
		for _, k := range [][]byte{nil, key} {
			c, err := decodeCursor(k, s)
			if err == nil && len(k) == 0 {
				t.Fatalf("decodeCursor(%q) without a key accepted a cursor", s)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidCursor) {
					t.Fatalf("decodeCursor(%q) error %v does not match ErrInvalidCursor", s, err)
				}
				continue
			}
			again, err := encodeCursor(k, c)
			if err != nil {
				t.Fatalf("re-encode of accepted cursor %q: %v", s, err)
			}
			back, err := decodeCursor(k, again)
			if err != nil || back.Order != c.Order || back.Desc != c.Desc {
				t.Fatalf("re-encoded cursor %q decodes to %+v, %v; want %+v", again, back, err, c)
			}
			_, err = m.resolveKeyset(k, PageOptions{OrderBy: c.Order, OrderDir: dirOf(c.Desc), Cursor: s})
			if err != nil && !errors.Is(err, ErrInvalidCursor) && !errors.Is(err, ErrInvalidField) {
				t.Fatalf("resolveKeyset(%q): unexpected error kind %v", s, err)
			}
		}
	})
}

func dirOf(desc bool) Direction {
	if desc {
		return Desc
	}
	return Asc
}
